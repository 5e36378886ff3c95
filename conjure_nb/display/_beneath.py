"""Opening paths beneath a root directory without ever following a link.

This is the one way the host touches a file inside a session's working dir: the file tools, the
downloads, the previews of created files (`Out[n]`, FilesPanel, `cj.show(session)`), spill files and
`ToolResult.dataframe`, and the files `-i` writes. `open_in`, `read_in` and `write_new` take paths;
`open_beneath` works on a directory descriptor.

The local file tools check a path (`PathPolicy`: resolved, inside a root) and then open it. Done
with two path lookups, a tool flipping a directory and a symlink between the check and the open
wins the race. Here the open itself cannot leave the root: `openat2(2)` with RESOLVE_BENEATH and
RESOLVE_NO_SYMLINKS where the kernel has it (Linux 5.6+), else one `openat` per component with
O_NOFOLLOW, starting from a descriptor of the root. The checked path is already resolved, so a
link met on the way can only be one that appeared after the check: it is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys
import uuid

__all__ = ["LinkRefused", "Roots", "open_beneath", "open_in", "read_in", "relative_path", "write_new"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
_SYS_OPENAT2 = 437  # the same number on every Linux architecture but alpha


class LinkRefused(PermissionError):
    """A symlink (or a way out of the root) is on the path: the host does not follow it."""

    def __str__(self) -> str:
        return self.strerror if self.strerror and self.filename and self.filename in self.strerror else (
            super().__str__()
        )  # fmt: skip


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _libc_syscall() -> object | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).syscall
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_long
    return fn


_syscall = _libc_syscall()
openat2_available = _syscall is not None
"""Whether `open_beneath` tries openat2 first; set False to force the per-component walk."""


def _openat2(dirfd: int, rel: str, flags: int, mode: int) -> int | None:
    """The fd, or None when the kernel (or a seccomp filter) has no openat2."""
    global openat2_available
    how = _OpenHow(flags | os.O_CLOEXEC, mode if flags & os.O_CREAT else 0)
    how.resolve = _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS
    args = (ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dirfd), rel.encode(), ctypes.byref(how))
    fd = int(_syscall(*args, ctypes.c_size_t(ctypes.sizeof(how))))  # type: ignore[operator]
    if fd >= 0:
        return fd
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM, errno.E2BIG):
        openat2_available = False
        return None
    raise OSError(err, os.strerror(err), rel)


def _walk(dirfd: int, rel: str, flags: int, mode: int, *, create_dirs: bool) -> int:
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise LinkRefused(errno.EPERM, "not a plain relative path", rel)
    current = dirfd
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=current)
            except FileNotFoundError:
                if not create_dirs:
                    raise
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o777, dir_fd=current)
                nxt = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=current)
            if current != dirfd:
                os.close(current)
            current = nxt
        return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=current)
    finally:
        if current != dirfd:
            os.close(current)


def open_beneath(dirfd: int, rel: str, flags: int, mode: int = 0o644, *, create_dirs: bool = False) -> int:
    """Open `rel` (resolved, relative, no `..`) beneath the directory `dirfd`; never follow a link.

    Args:
        dirfd: a descriptor of the root directory.
        rel: the path inside it; "" is the root itself.
        flags: os.open flags (O_NOFOLLOW and O_CLOEXEC are always added).
        mode: the mode of a file O_CREAT makes.
        create_dirs: make missing parent directories (beneath the root, without following links).

    Raises:
        LinkRefused: a symlink or an escape appeared on the path.
        OSError: what the open itself raised (FileNotFoundError, ...).
    """
    rel = rel or "."
    try:
        if rel == ".":
            return os.open(".", flags | os.O_CLOEXEC, dir_fd=dirfd)
        if openat2_available and not create_dirs:
            fd = _openat2(dirfd, rel, flags | os.O_NOFOLLOW, mode)
            if fd is not None:
                return fd
        return _walk(dirfd, rel, flags, mode, create_dirs=create_dirs)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EXDEV) and not isinstance(exc, LinkRefused):
            raise LinkRefused(
                errno.EPERM,
                "a symlink appeared on the path after it was checked; file tools never follow it",
                rel,
            ) from None
        raise


class Roots:
    """Descriptors of the directories the file tools may reach, opened once.

    Holding the root open means renaming the working dir away and putting a symlink in its place
    changes nothing for the file tools: they keep working in the directory they were given.
    """

    def __init__(self, roots: list[str]):
        self.paths = sorted({os.path.realpath(r) for r in roots}, key=len, reverse=True)
        self._fds: dict[str, int] = {}

    def split(self, path: str) -> tuple[int, str]:
        """(root fd, path relative to it) for a resolved absolute path inside a root."""
        for root in self.paths:
            base = root.rstrip("/")
            if path == root or path.startswith(base + "/"):
                return self._fd(root), path[len(base) + 1 :] if path != root else ""
        raise PermissionError(errno.EACCES, "outside every directory the file tools may reach", path)

    def _fd(self, root: str) -> int:
        fd = self._fds.get(root)
        if fd is None:
            fd = self._fds[root] = os.open(root, _DIR | os.O_NOFOLLOW)
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()


def relative_path(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """`path` (relative to `root`, or absolute inside it) as a plain relative path.

    Nothing is resolved on the way: resolving would follow the very links this module refuses.

    Raises:
        LinkRefused: the path leaves `root`.
    """
    root_s, path_s = os.path.normpath(os.fspath(root)), os.path.normpath(os.fspath(path))
    if not os.path.isabs(path_s):
        rel = path_s
    else:
        rel = ""
        for base in dict.fromkeys((root_s, os.path.realpath(root_s))):
            if path_s == base or path_s.startswith(base.rstrip("/") + "/"):
                rel = path_s[len(base.rstrip("/")) + 1 :] if path_s != base else "."
                break
        else:
            raise LinkRefused(
                errno.EPERM, f"{path_s} is outside the working dir {root_s}; not opened", path_s
            )
    if rel == ".." or rel.startswith("../"):
        raise LinkRefused(errno.EPERM, f"{rel} leaves the working dir {root_s}; not opened", rel)
    return "" if rel == "." else rel


def _refused(rel: str) -> LinkRefused:
    return LinkRefused(
        errno.ELOOP,
        f"{rel} is a symbolic link (or passes through one) in the working dir; the host never follows "
        "links there, so it was not opened",
        rel,
    )


def open_in(
    root: str | os.PathLike[str],
    path: str | os.PathLike[str],
    flags: int = os.O_RDONLY,
    mode: int = 0o644,
    *,
    create_dirs: bool = False,
) -> int:
    """A descriptor of `path` beneath the directory `root`, no link followed on the way.

    A read-only open must end at a regular file (a planted FIFO or device is refused, without blocking).

    Raises:
        LinkRefused: a link is on the path, or the path leaves `root`; the message names the file.
        OSError: the open failed otherwise (FileNotFoundError, ...).
    """
    rel = relative_path(root, path)
    reading = flags & (os.O_WRONLY | os.O_RDWR | os.O_DIRECTORY) == 0
    rootfd = os.open(root, _DIR)
    try:
        fd = open_beneath(
            rootfd, rel, flags | (os.O_NONBLOCK if reading else 0), mode, create_dirs=create_dirs
        )
    except LinkRefused:
        raise _refused(rel) from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EXDEV, errno.ENOTDIR) and _has_link(rootfd, rel):
            raise _refused(rel) from None
        raise
    finally:
        os.close(rootfd)
    if reading and rel and not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LinkRefused(errno.EPERM, f"{rel} is not a regular file; not opened", rel)
    if reading and rel:
        os.set_blocking(fd, True)
    return fd


def _has_link(rootfd: int, rel: str) -> bool:
    """Whether a component of `rel` is a symlink (for the message only; nothing is followed)."""
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        try:
            st = os.lstat("/".join(parts[:n]), dir_fd=rootfd)
        except OSError:
            return False
        if stat.S_ISLNK(st.st_mode):
            return True
    return False


def read_in(root: str | os.PathLike[str], path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of the regular file `path` beneath `root` (at most `limit`), no link followed."""
    with os.fdopen(open_in(root, path), "rb") as f:
        return f.read() if limit is None else f.read(limit)


def write_new(root: str | os.PathLike[str], path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` beneath `root` as a new file that replaces whatever entry was there.

    The bytes go to a fresh file (O_EXCL, in the same directory), which is then renamed over the
    name: a symlink planted at the name is replaced, never written through.
    """
    rel = relative_path(root, path)
    parent, _, name = rel.rpartition("/")
    dirfd = open_in(root, parent or ".", os.O_RDONLY | os.O_DIRECTORY) if parent else os.open(root, _DIR)
    tmp = f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dirfd
        )
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dirfd)
            raise
    finally:
        os.close(dirfd)
