"""Connecting to a Docker engine, with errors that say how to fix the connection."""

from __future__ import annotations

import os
import socket
from typing import Any

from ..._errors import ExecutorError

__all__ = [
    "HOST_LABEL",
    "LABEL",
    "PID_LABEL",
    "connect",
    "engine_url",
    "is_remote",
    "is_remote_url",
    "labels",
    "owner_alive",
    "prune",
    "prune_orphans",
]

LABEL = "conjure-nb"
"""Every container (and volume) a DockerExecutor creates carries `conjure-nb=<session id>`
(`conjure-nb=pool` for a warm pool's containers, which get their session only at hand-out)."""
PID_LABEL = "conjure-nb.owner-pid"
"""The id of the process that made the container, so cleanup can be scoped to one owner."""
HOST_LABEL = "conjure-nb.owner-host"
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
    if where.startswith("unix://"):
        # no proxy, .netrc or CA bundle reaches a local socket: requests' look through the
        # environment for them costs ~0.5 ms of every engine call (a sandbox's start makes five)
        client.api.trust_env = False
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


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), from /proc; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def owner_alive(labels: dict[str, str], created: float | None = None) -> bool | None:
    """Whether the process that made a container (by its owner labels) is still running.

    None when that cannot be told here: no owner labels, or made on another host. A pid that was
    reused by a process started after the container was made counts as gone.
    """
    pid, host = labels.get(PID_LABEL, ""), labels.get(HOST_LABEL)
    if not pid.isdigit() or host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, as another user
        pass
    started = _started_at(int(pid))
    return not (started is not None and created is not None and started > created + 1)


def prune_orphans(client: Any, session_id: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """Remove the containers (and volumes) labelled `conjure-nb` whose owning process is gone.

    A live session's container (its owner runs) is never touched, nor one whose owner cannot be
    told (another host, no owner labels): `prune(client)` (`conjure-nb sandbox prune --all`)
    removes everything.

    Returns:
        (removed, kept because the owner runs, kept because the owner is unknown): short ids.
    """
    label = [LABEL if session_id is None else f"{LABEL}={session_id}"]
    removed: list[str] = []
    live: list[str] = []
    unknown: list[str] = []
    for container in client.api.containers(all=True, filters={"label": label}):
        alive = owner_alive(container.get("Labels") or {}, container.get("Created"))
        short = container["Id"][:12]
        if alive is None:
            unknown.append(short)
            continue
        if alive:
            live.append(short)
            continue
        try:
            client.api.remove_container(container["Id"], force=True, v=True)
            removed.append(short)
        except Exception as exc:
            if "No such container" not in str(exc) and "already in progress" not in str(exc):
                raise
    for volume in client.api.volumes(filters={"label": label}).get("Volumes") or []:
        if owner_alive(volume.get("Labels") or {}) is False:
            try:
                client.api.remove_volume(volume["Name"], force=True)
            except Exception as exc:
                if "no such volume" not in str(exc).lower() and "in use" not in str(exc).lower():
                    raise
    return removed, live, unknown
