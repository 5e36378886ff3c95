"""Fixtures for tests that need a real Docker engine (imported by tests/docker/conftest.py).

Without a reachable engine these tests skip, unless CONJURE_REQUIRE_DOCKER=1 (CI), where they
fail loudly instead. The sandbox image is built once per test session when it is missing (the
offline build, cache-aware). The session ends by draining the warm pool and asserting that no
container or volume of ours (by session label, or by this process's owner label) is left, and
removing any that are.

The root tests/conftest.py can reuse these for the contract suite with
`pytest_plugins = ["docker_fixtures"]` once tests/docker is on sys.path.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup
from conjure_nb.executors.docker import LABEL, build_image, connect, default_image, prune
from conjure_nb.executors.docker._client import HOST_LABEL, PID_LABEL
from conjure_nb.executors.docker._pool import warm_pool

REMOTE_URL = os.environ.get("CONJURE_DOCKER_TCP", "tcp://127.0.0.1:2375")


def _require() -> bool:
    return os.environ.get("CONJURE_REQUIRE_DOCKER") == "1"


def _unavailable(reason: str) -> None:
    if _require():
        pytest.fail(f"CONJURE_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


_SESSIONS: set[str] = set()
"""Session ids of every DockerExecutor this test process set up: the engine is shared (other
test runs may have sandboxes at the same time), so only these are checked and removed."""


def _ours(client: Any, kind: str) -> list[dict[str, Any]]:
    owner = [f"{PID_LABEL}={os.getpid()}", f"{HOST_LABEL}={socket.gethostname()}"]
    filters: list[dict[str, Any]] = [{"label": f"{LABEL}={sid}"} for sid in sorted(_SESSIONS)]
    filters.append({"label": owner})  # everything this process made, warm-pool sandboxes included
    found: dict[str, dict[str, Any]] = {}
    for flt in filters:
        if kind == "containers":
            items = client.api.containers(all=True, filters=flt)
        else:
            items = client.api.volumes(filters=flt).get("Volumes") or []
        found.update({item.get("Id") or item["Name"]: item for item in items})
    return list(found.values())


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client for the local engine; at the end, no container or volume of ours may be left."""
    try:
        client = connect(None, timeout=120)
    except cj.ExecutorError as exc:
        _unavailable(str(exc))
    original = cj.DockerExecutor.setup

    @functools.wraps(original)  # its docstring too: the docs tests read it while this is in place
    def recording_setup(self: cj.DockerExecutor, setup: ExecutorSetup) -> None:
        _SESSIONS.add(setup.session_id)
        original(self, setup)

    cj.DockerExecutor.setup = recording_setup  # type: ignore[method-assign]
    try:
        yield client
    finally:
        cj.DockerExecutor.setup = original  # type: ignore[method-assign]
    warm_pool().drain(wait=120)  # a start under way on a loaded machine finishes, then goes
    left = _ours(client, "containers")
    volumes = _ours(client, "volumes")
    for sid in _SESSIONS:
        prune(client, sid)
    prune(client, owner=os.getpid())
    assert not left, (
        f"tests left sandbox containers behind: {[(c['Id'][:12], c['Labels'].get(LABEL), c['State']) for c in left]}"
    )
    assert not volumes, f"tests left sandbox volumes behind: {[v['Name'] for v in volumes]}"


def track_session(session_id: str) -> None:
    """Count a sandbox made by a child process as ours (checked and removed at the end)."""
    _SESSIONS.add(session_id)


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
        ex.setup(
            ExecutorSetup(
                session_id,
                wd,
                skills=skills or [],
                timeout=timeout,
                env=env or {},
                allowed_paths=allowed_paths,
                max_output=max_output,
            )
        )
        made.append(ex)
        return ex

    yield make
    for ex in made:
        ex.close()
