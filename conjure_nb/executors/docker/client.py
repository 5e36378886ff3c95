"""Connecting to a Docker engine, with errors that say how to fix the connection."""

from __future__ import annotations

import os
import socket
from typing import Any

from ...errors import ExecutorError

__all__ = [
    "HOST_LABEL",
    "LABEL",
    "PID_LABEL",
    "connect",
    "engine_url",
    "is_remote",
    "is_remote_url",
    "labels",
    "prune",
]

LABEL = "conjure-nb"
"""Every container (and volume) a DockerExecutor creates carries `conjure-nb=<session id>`
(`conjure-nb=pool` for a warm pool's containers, which get their session only at hand-out)."""
PID_LABEL = "conjure-nb.pid"
"""The id of the process that made the container, so cleanup can be scoped to one owner."""
HOST_LABEL = "conjure-nb.host"
"""The host name of that process (pids are only unique on one machine)."""


def labels(value: str) -> dict[str, str]:
    """The labels of a container or volume made for `value` (a session id, or "pool") by this process."""
    return {LABEL: value, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}


def _import_docker() -> Any:
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a core dependency
        raise ImportError(
            "the docker backend needs the `docker` package: pip install 'conjure-nb' (it is a dependency)"
        ) from exc
    return docker


def _unreachable(where: str, exc: BaseException) -> ExecutorError:
    return ExecutorError(
        f"the Docker engine at {where} is not reachable ({type(exc).__name__}: {exc}). Start it "
        "(`sudo systemctl start docker`, or `sudo dockerd &`), or point DOCKER_HOST / "
        "base_url= at a running engine"
    )


def _probe_unix(where: str) -> None:
    """Fail fast (and without leaking docker-py's half-made socket) on a dead unix socket."""
    if not where.startswith("unix://"):
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect(where[len("unix://") :])
        except OSError as exc:
            raise _unreachable(where, exc) from None


def connect(base_url: str | None, *, timeout: float = 60) -> Any:
    """A `docker.DockerClient` for `base_url`, or the engine `docker.from_env()` finds.

    Raises:
        ExecutorError: the daemon is not reachable; the message says how to start or point to one.
    """
    docker = _import_docker()
    where = engine_url(base_url)
    _probe_unix(where)
    client = None
    try:
        if base_url:
            client = docker.DockerClient(base_url=base_url, timeout=timeout)
        else:
            client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        if client is not None:
            client.close()
        raise _unreachable(where, exc) from exc
    return client


def engine_url(base_url: str | None) -> str:
    """The engine a `base_url` (None: DOCKER_HOST, else the default socket) names."""
    return base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def is_remote_url(url: str) -> bool:
    """Whether bind mounts of this machine's paths would not work on the engine at `url`.

    Takes what a caller writes (`unix://...`, `tcp://127.0.0.1:2375`, `ssh://box`) as well as what
    docker-py keeps (`http+docker://localhost` for a socket, `http+docker://ssh` over ssh).
    """
    if url.startswith(("ssh://", "http+docker://ssh")):
        return True
    if url.startswith(("unix://", "http+unix://", "npipe://", "http+docker://")):
        return False
    return not any(
        f"//{host}:" in url or url.endswith(f"//{host}") for host in ("localhost", "127.0.0.1", "[::1]")
    )


def is_remote(client: Any) -> bool:
    """Whether bind mounts of this machine's paths would not work: the engine is not local."""
    return is_remote_url(str(getattr(client.api, "base_url", "")))


def prune(client: Any, session_id: str | None = None, *, owner: int | None = None) -> list[str]:
    """Remove every container and volume labelled `conjure-nb` (or `conjure-nb=<session_id>`).

    Args:
        client: a `docker.DockerClient`.
        session_id: only those of this session (`"pool"`: a warm pool's, of every process).
        owner: only those made by this process id on this host (see `PID_LABEL`, `HOST_LABEL`).

    Returns:
        The short ids of the removed containers.
    """
    label = [LABEL if session_id is None else f"{LABEL}={session_id}"]
    if owner is not None:
        label += [f"{PID_LABEL}={owner}", f"{HOST_LABEL}={socket.gethostname()}"]
    removed: list[str] = []
    for container in client.api.containers(all=True, filters={"label": label}):
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
            removed.append(container["Id"][:12])
        except Exception as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                raise
    for volume in client.api.volumes(filters={"label": label}).get("Volumes") or []:
        try:
            client.api.remove_volume(volume["Name"], force=True)
        except Exception as exc:
            if "no such volume" not in str(exc).lower():
                raise
    return removed
