"""Fixtures for tests that need a real Docker engine (imported by tests/docker/conftest.py).

Without a reachable engine these tests skip, unless CONJURE_REQUIRE_DOCKER=1 (CI), where they
fail loudly instead. The sandbox image is built once per test session when it is missing (the
offline build, cache-aware). The session ends by asserting that no container or volume labelled
`conjure-nb` is left, and removing any that are.

The root tests/conftest.py can reuse these for the contract suite with
`pytest_plugins = ["docker_fixtures"]` once tests/docker is on sys.path.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors.base import ExecutorSetup
from conjure_nb.executors.docker import LABEL, build_image, connect, default_image, prune

REMOTE_URL = os.environ.get("CONJURE_DOCKER_TCP", "tcp://127.0.0.1:2375")


def _require() -> bool:
    return os.environ.get("CONJURE_REQUIRE_DOCKER") == "1"


def _unavailable(reason: str) -> None:
    if _require():
        pytest.fail(f"CONJURE_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client for the local engine; at the end, no conjure-nb container may be left."""
    try:
        client = connect(None, timeout=120)
    except cj.ExecutorError as exc:
        _unavailable(str(exc))
    yield client
    left = client.api.containers(all=True, filters={"label": LABEL})
    volumes = client.api.volumes(filters={"label": LABEL}).get("Volumes") or []
    prune(client)
    assert not left, f"tests left sandbox containers behind: {[c['Id'][:12] for c in left]}"
    assert not volumes, f"tests left sandbox volumes behind: {[v['Name'] for v in volumes]}"


@pytest.fixture(scope="session")
def docker_image(docker_client: Any) -> str:
    """The sandbox image, built (offline) once if the engine does not have it."""
    import docker.errors

    image = default_image()
    try:
        docker_client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        try:
            build_image(image, offline=True, client=docker_client)
        except cj.ExecutorError as exc:
            _unavailable(f"the sandbox image {image} is missing and could not be built: {exc}")
    return image


@pytest.fixture(scope="session")
def docker_session_options(docker_image: str) -> dict[str, object]:
    """Keywords for `cj.Session.new_docker` / `Session.new("docker", ...)` in shared suites."""
    return {"image": docker_image}


@pytest.fixture(scope="session")
def remote_url(docker_image: str) -> str:
    """The engine over loopback TCP (dockerd -H tcp://127.0.0.1:2375), for remote mode."""
    host, port = REMOTE_URL.removeprefix("tcp://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError as exc:
        _unavailable(
            f"the engine does not listen on {REMOTE_URL} ({exc}); start dockerd with -H {REMOTE_URL}"
        )
    return REMOTE_URL


MakeExecutor = Callable[..., cj.DockerExecutor]


@pytest.fixture
def make_executor(docker_image: str, tmp_path: Path) -> Iterator[MakeExecutor]:
    """Build attached DockerExecutors (closed at the end): make(timeout=5, skills=[...], **options)."""
    made: list[cj.DockerExecutor] = []

    def make(
        *,
        timeout: float = 10,
        skills: list[cj.Skill] | None = None,
        working_dir: Path | None = None,
        env: dict[str, str] | None = None,
        allowed_paths: tuple[Path, ...] = (),
        max_output: int = 30_000,
        **options: Any,
    ) -> cj.DockerExecutor:
        wd = working_dir or tmp_path / f"wd{len(made)}"
        wd.mkdir(parents=True, exist_ok=True)
        ex = cj.DockerExecutor(image=options.pop("image", docker_image), **options)
        session_id = f"test-{os.getpid()}-{len(made)}"
        ex.setup(ExecutorSetup(session_id, wd, skills or [], timeout, env or {}, allowed_paths, max_output))
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()
