"""What a `DockerExecutor` has made on the engine and this machine, and how it is undone.

One typed record (`SandboxState`) holds every resource: the containers created (every attempt,
not only the one that started), the named volumes, the runner channel, and the owners to give
back when a root caller handed its working dir to the sandbox user. `release` undoes all of it;
the executor's finalizer calls it on close, on garbage collection and at interpreter exit.

Giving owners back (`Handback`) never follows a link: the sandbox may have replaced any directory
by a symlink to a host path, so the tree is walked and restored with directory file descriptors,
each step opened with O_NOFOLLOW, and a file is only touched if it is still the same inode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .._file_tools import FileTools
    from ._channel import Channel
    from ._fallback import ExecFallback
    from ._remote import Mirror

__all__ = ["Handback", "SandboxState", "release"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class _Owned:
    rel: str  # relative to the handed-over root; "." is the root itself
    uid: int
    gid: int
    dev: int
    ino: int


class Handback:
    """Hands a directory tree to the sandbox user and gives every entry back, without following links.

    Args:
        root: the host directory (the session's working dir, an allowed path).
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.owned: list[_Owned] = []

    def hand_over(self, uid: int, gid: int) -> None:
        """chown everything under `root` that `uid` does not own yet, recording the old owners."""
        for dirpath, dirnames, filenames, dirfd in os.fwalk(self.root, follow_symlinks=False):
            rel_dir = os.path.relpath(dirpath, self.root)
            self._take(dirfd, None, rel_dir, uid, gid)
            for name in [*dirnames, *filenames]:
                self._take(dirfd, name, os.path.join(rel_dir, name), uid, gid)

    def _take(self, dirfd: int, name: str | None, rel: str, uid: int, gid: int) -> None:
        st = os.fstat(dirfd) if name is None else os.stat(name, dir_fd=dirfd, follow_symlinks=False)
        if st.st_uid == uid or stat.S_ISLNK(st.st_mode):
            return
        if name is None:
            os.fchown(dirfd, uid, gid)
        else:
            os.chown(name, uid, gid, dir_fd=dirfd, follow_symlinks=False)
        self.owned.append(_Owned(os.path.normpath(rel), st.st_uid, st.st_gid, st.st_dev, st.st_ino))

    def give_back(self) -> None:
        """Restore the recorded owners; an entry reached only through a link, or replaced, is skipped."""
        try:
            root_fd = os.open(self.root, _DIR_FLAGS)
        except OSError:
            return
        try:
            for entry in reversed(self.owned):
                with contextlib.suppress(OSError):
                    self._restore(root_fd, entry)
        finally:
            os.close(root_fd)
        self.owned.clear()

    @staticmethod
    def _restore(root_fd: int, entry: _Owned) -> None:
        parts = [] if entry.rel == "." else entry.rel.split(os.sep)
        fds: list[int] = []
        try:
            parent = root_fd
            for part in parts[:-1]:  # every directory on the way opened without following a link
                parent = os.open(part, _DIR_FLAGS, dir_fd=parent)
                fds.append(parent)
            leaf = parts[-1] if parts else None
            st = os.fstat(parent) if leaf is None else os.stat(leaf, dir_fd=parent, follow_symlinks=False)
            if (st.st_dev, st.st_ino) != (entry.dev, entry.ino) or stat.S_ISLNK(st.st_mode):
                return  # replaced since the hand-over: not the file we chowned
            if leaf is None:
                os.fchown(parent, entry.uid, entry.gid)
            else:
                os.chown(leaf, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        finally:
            for fd in fds:
                os.close(fd)


@dataclass
class SandboxState:
    """Everything one `DockerExecutor` made; `release` removes it all.

    Attributes:
        client: the `docker.DockerClient` (None until the first start).
        container: the id of the container serving calls now, if any.
        created: every container id ever created for this executor (failed starts included).
        volumes: the named volumes (remote engines).
        handbacks: trees handed to the sandbox user, to give back on close (root callers).
        channel: the live runner channel.
        fallback: the exec-per-call fallback (images without Python).
        files: the file tools over the runner (or the fallback).
        mirrors: host dir <-> volume pairs (remote engines).
        remote: whether files travel by put/get_archive (decided at the first start).
        fresh_skills: the skills volume is new and must be filled before the next start.
        host_dirs: host directories made for this sandbox (a warm-pool slot's), removed on release.
        own_client: whether `client` is this state's to close (a warm pool shares its own).
    """

    client: Any = None
    container: str | None = None
    created: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    handbacks: list[Handback] = field(default_factory=list)
    channel: Channel | None = None
    fallback: ExecFallback | None = None
    files: FileTools | None = None
    mirrors: list[Mirror] = field(default_factory=list)
    remote: bool | None = None
    fresh_skills: bool = False
    host_dirs: list[Path] = field(default_factory=list)
    own_client: bool = True

    def record(self, cid: str) -> str:
        """Note a just-created container as current (and as one to remove on release)."""
        self.container = cid
        self.created.append(cid)
        return cid

    def discard(self, cid: str | None) -> None:
        """Force-remove one container now (a failed start, a dead sandbox). Never raises."""
        if cid is None:
            return
        if self.container == cid:
            self.container = None
        try:
            self.client.api.remove_container(cid, force=True, v=True)
        except Exception as exc:
            if "no such container" not in str(exc).lower():
                return  # kept: release tries again
        with contextlib.suppress(ValueError):
            self.created.remove(cid)


def release(state: SandboxState) -> None:
    """Remove every container and volume in `state`; give owners back. Never raises."""
    if state.channel is not None:
        state.channel.close()
        state.channel = None
    client = state.client
    for cid in list(state.created):
        state.discard(cid)
    for cid in list(state.created):  # kept: the engine is removing it already (AutoRemove), or refused
        with contextlib.suppress(Exception):
            client.api.wait(cid, timeout=10, condition="removed")  # gone on return; its volumes free
    for name in state.volumes:
        with contextlib.suppress(Exception):
            client.api.remove_volume(name, force=True)
    state.volumes = []
    for handback in state.handbacks:
        handback.give_back()
    state.handbacks = []
    for path in state.host_dirs:
        shutil.rmtree(path, ignore_errors=True)
    state.host_dirs = []
    if client is not None and state.own_client:
        with contextlib.suppress(Exception):
            client.close()
