"""Connecting to a Docker engine, with errors that say how to fix the connection."""

from __future__ import annotations

import os
import socket
from typing import Any

from ...errors import ExecutorError

__all__ = ["LABEL", "connect", "is_remote", "prune"]

LABEL = "conjure-nb"
"""Every container (and volume) a DockerExecutor creates carries `conjure-nb=<session id>`."""


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
    where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
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


def is_remote(client: Any) -> bool:
    """Whether bind mounts of this machine's paths would not work: the engine is not local."""
    url = str(getattr(client.api, "base_url", ""))
    if url.startswith(("http+unix://", "http+docker://", "npipe://")):
        return False
    for host in ("localhost", "127.0.0.1", "[::1]"):
        if f"//{host}:" in url or url.endswith(f"//{host}"):
            return False
    return True


def prune(client: Any, session_id: str | None = None) -> list[str]:
    """Remove every container and volume labelled `conjure-nb` (or `conjure-nb=<session_id>`).

    Returns:
        The short ids of the removed containers.
    """
    label = LABEL if session_id is None else f"{LABEL}={session_id}"
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
