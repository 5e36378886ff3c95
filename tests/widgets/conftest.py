"""Helpers for the headless panel tests: sessions on ScriptedModel, and waiting for a condition.

The docker fixtures (engine, sandbox image) come from tests/docker, so approvals run on that
backend too when an engine is there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docker"))

from docker_fixtures import docker_client, docker_image

__all__ = ["docker_client", "docker_image"]

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
