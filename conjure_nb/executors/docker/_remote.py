"""Remote engines: files travel by `put_archive` / `get_archive` instead of bind mounts.

A `Mirror` pairs a host directory with a container directory (a named volume). Before a call it
pushes host files that changed since it last looked; after a call (`sync_out`) it pulls container
files the runner's scan reports as new or changed. Only regular files cross, in both directions:
a symlink made in the sandbox (`ln -s /etc/passwd x`) is never followed nor copied out, and a pulled
file is written with O_NOFOLLOW under a parent that is checked to be a real directory in the
host root.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile
import time
from pathlib import Path
from typing import Any, Protocol

from ...tools._workspace import snapshot
from ._bytecode import PYCACHE, bytecode, pyc_name

__all__ = ["Mirror", "pack_skills"]

_CHUNK = 1 << 20


class _Scanner(Protocol):
    def scan(self, path: str) -> dict[str, tuple[int, int]]: ...


def _dir_entry(name: str, uid: int, gid: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.uid, info.gid = uid, gid
    info.mtime = int(time.time())
    return info


def _file_entry(name: str, size: int, mode: int, mtime: float, uid: int, gid: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, int(mtime)
    info.uid, info.gid = uid, gid
    return info


def _add_tree(tar: tarfile.TarFile, root: Path, prefix: str, uid: int, gid: int) -> None:
    """Add the regular files and directories under `root` (no symlinks, no specials), with fresh
    bytecode for each module instead of the `__pycache__` folders (as `_slot.copy_tree`)."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        arc_dir = prefix if rel_dir == "." else posixpath.join(prefix, *Path(rel_dir).parts)
        if arc_dir:
            tar.addfile(_dir_entry(arc_dir, uid, gid))
        dirnames[:] = [d for d in dirnames if d != PYCACHE and not os.path.islink(os.path.join(dirpath, d))]
        compiled = [_add_file(tar, os.path.join(dirpath, name), arc_dir, uid, gid) for name in filenames]
        modules = [found for found in compiled if found is not None]
        if modules:
            tar.addfile(_dir_entry(posixpath.join(arc_dir, PYCACHE), uid, gid))
        for cached, code in modules:
            info = _file_entry(
                posixpath.join(arc_dir, PYCACHE, cached), len(code), 0o444, time.time(), uid, gid
            )
            tar.addfile(info, io.BytesIO(code))


def _add_file(tar: tarfile.TarFile, full: str, arc_dir: str, uid: int, gid: int) -> tuple[str, bytes] | None:
    """Add one file when it is a regular one; a module's bytecode (its name, its contents) is
    returned, to go in the folder's `__pycache__`."""
    st = os.lstat(full)
    if not stat.S_ISREG(st.st_mode):
        return None
    name = os.path.basename(full)
    info = _file_entry(
        posixpath.join(arc_dir, name), st.st_size, stat.S_IMODE(st.st_mode) | 0o644, st.st_mtime, uid, gid
    )
    cached = pyc_name(name)
    with open(full, "rb") as f:
        if cached is None:
            tar.addfile(info, f)
            return None
        source = f.read(st.st_size)
    info.size = len(source)
    tar.addfile(info, io.BytesIO(source))
    code = bytecode(source, name)
    return None if code is None else (cached, code)


def pack_skills(skills: list[Any]) -> bytes:
    """A tar of every skill folder as `<name>/...`, owned by root (read-only to the sandbox user)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for skill in skills:
            _add_tree(tar, Path(skill.path), skill.name, 0, 0)
    return buf.getvalue()


class Mirror:
    """Keeps `host_dir` and `container_dir` (a volume) in step, regular files only.

    Args:
        host_dir: the directory on this machine (the session's working dir, an allowed path).
        container_dir: where it lives in the container.
        uid: owner (inside the container) of the files pushed in, so the sandbox can edit them.
        gid: their group.
    """

    def __init__(self, host_dir: Path, container_dir: str, uid: int, gid: int):
        self.host_dir = Path(host_dir).resolve()
        self.container_dir = container_dir
        self.uid, self.gid = uid, gid
        self.host_seen: dict[str, tuple[int, int]] = {}
        self.container_seen: dict[str, tuple[int, int]] = {}

    def _host_files(self) -> dict[str, tuple[int, int]]:
        # every regular file, caches included: the sandbox must see the host dir as it is
        return snapshot(self.host_dir, skip=())

    def push(self, client: Any, cid: str, scanner: _Scanner) -> int:
        """Copy host files that are new or changed since the last push/pull; return how many."""
        current = self._host_files()
        changed = [rel for rel, sig in current.items() if self.host_seen.get(rel) != sig]
        if not changed:
            return 0
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            dirs = sorted({str(Path(rel).parent) for rel in changed} - {"."})
            for d in dirs:
                parts = Path(d).parts
                for i in range(1, len(parts) + 1):
                    name = posixpath.join(*parts[:i])
                    if name not in tar.getnames():
                        tar.addfile(_dir_entry(name, self.uid, self.gid))
            for rel in changed:
                full = self.host_dir / rel
                st = os.lstat(full)
                info = tarfile.TarInfo(Path(rel).as_posix())
                info.size, info.mtime = st.st_size, int(st.st_mtime)
                info.mode = stat.S_IMODE(st.st_mode) | 0o600
                info.uid, info.gid = self.uid, self.gid
                with open(full, "rb") as f:
                    tar.addfile(info, f)
        client.api.put_archive(cid, self.container_dir, buf.getvalue())
        self.host_seen.update({rel: current[rel] for rel in changed})
        landed = scanner.scan(self.container_dir)
        self.container_seen.update({rel: landed[rel] for rel in changed if rel in landed})
        return len(changed)

    def pull(self, client: Any, cid: str, scan: dict[str, tuple[int, int]]) -> list[Path]:
        """Copy files the container scan shows as new or changed into the host dir."""
        written: list[Path] = []
        for rel, sig in sorted(scan.items()):
            if self.container_seen.get(rel) == sig:
                continue
            target = self._target(rel)
            if target is not None and self._fetch(client, cid, rel, target):
                st = os.lstat(target)
                self.host_seen[rel] = (st.st_size, st.st_mtime_ns)
                written.append(target)
            self.container_seen[rel] = sig
        return written

    def _target(self, rel: str) -> Path | None:
        """The host path for `rel`, or None if it would leave the host dir or cross a symlink."""
        parts = Path(rel).parts
        if not parts or Path(rel).is_absolute() or ".." in parts:
            return None
        parent = self.host_dir
        for part in parts[:-1]:
            parent = parent / part
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                return None
            parent.mkdir(exist_ok=True)
        return parent / parts[-1]

    def _fetch(self, client: Any, cid: str, rel: str, target: Path) -> bool:
        stream, _stat = client.api.get_archive(cid, posixpath.join(self.container_dir, rel))
        reader = _StreamReader(stream)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                member = tar.next()
                src = tar.extractfile(member) if member is not None and member.isreg() else None
                if src is None:
                    return False
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
                with os.fdopen(os.open(target, flags, 0o644), "wb") as out:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                return True
        finally:
            reader.drain()  # a fully read response goes back to the connection pool


class _StreamReader(io.RawIOBase):
    """A file object over the chunk iterator `get_archive` returns (for streaming tarfile)."""

    def __init__(self, chunks: Any):
        self._chunks = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        for _ in self._chunks:
            pass
        self._buf = b""

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n
