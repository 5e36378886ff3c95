"""`SandboxSpec`: what a sandbox container is made of, apart from any one session.

The executor's settings (image, engine, limits, user) decide how a container is created; the
session's parts (working dir, skills, env) are what it is given. Keeping the first in one frozen,
hashable record lets the warm pool (`_pool.py`) key its ready containers by it: a container started
for one spec is only ever handed to an executor with an equal spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..._errors import ExecutorError

__all__ = ["SandboxSpec"]


@dataclass(frozen=True)
class SandboxSpec:
    """The container-level settings of a `DockerExecutor` (see its docstring for each).

    Attributes:
        engine: the engine's URL as resolved (`base_url`, else DOCKER_HOST, else the socket).
        base_url: what to connect with (None: `docker.from_env()`, which also reads TLS settings).
        remote: files travel by put/get_archive into named volumes instead of bind mounts.
        extra_mounts: `(host_path, container_path)` pairs mounted read-only, sorted.
        start_timeout: how long a start may take; not part of the identity.
    """

    image: str
    engine: str
    base_url: str | None
    remote: bool
    network: str
    memory: str
    cpus: float
    pids_limit: int
    read_only: bool
    tmpfs_size: str
    user: str
    python: str
    extra_mounts: tuple[tuple[str, str], ...] = ()
    start_timeout: float = field(default=30.0, compare=False)

    @property
    def ids(self) -> tuple[int, int]:
        """The sandbox user's numeric (uid, gid)."""
        uid, _, gid = self.user.partition(":")
        try:
            return int(uid), int(gid or uid)
        except ValueError:
            raise ExecutorError(f"user={self.user!r}: give numeric 'uid:gid' (e.g. '1000:1000')") from None
