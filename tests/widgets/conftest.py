"""Helpers for the headless panel tests: sessions on ScriptedModel, and waiting for a condition.

`docker_image` gives the sandbox image when a Docker engine is reachable (approvals run on that
backend too); without one the docker test skips, unless CONJURE_REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll until `predicate()` is truthy (a deadline for a broken build, not a timing check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def tool_pairs_consistent(messages: list[dict[str, Any]]) -> bool:
    """Every tool_use block is answered by a tool_result in the next message."""
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        uses = {b["id"] for b in msg["content"] if b.get("type") == "tool_use"}
        if not uses:
            continue
        if i + 1 >= len(messages):
            return False
        answered = {
            b.get("tool_use_id") for b in messages[i + 1]["content"] if b.get("type") == "tool_result"
        }
        if uses - answered:
            return False
    return True


@pytest.fixture
def local_session() -> Iterator[Callable[..., cj.Session]]:
    """Make local sessions on a given model; all closed at the end."""
    made: list[cj.Session] = []

    def make(model: Any, **kw: Any) -> cj.Session:
        session = cj.Session.new_local([], model, **kw)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


@pytest.fixture(scope="session")
def docker_image() -> str:
    """The sandbox image on the local engine (tests/docker builds it when it is missing)."""
    from conjure_nb.executors.docker import connect, default_image

    def unavailable(reason: str) -> None:
        if os.environ.get("CONJURE_REQUIRE_DOCKER") == "1":
            pytest.fail(f"CONJURE_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)

    try:
        client = connect(None, timeout=60)
    except cj.ExecutorError as exc:
        unavailable(str(exc))
    image = default_image()
    try:
        client.api.inspect_image(image)
    except Exception as exc:
        unavailable(f"the sandbox image {image} is missing ({exc}); `conjure-nb sandbox build --offline`")
    finally:
        client.close()
    return image
