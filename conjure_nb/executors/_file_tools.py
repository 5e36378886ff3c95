"""`view`, `create_file` and `str_replace`, written once over a tiny filesystem interface.

The local executor backs it with `os`; the docker executor with its in-container runner. The
path policy (working dir and `allowed_paths` writable, skill folders read-only, everything after
resolving symlinks) lives here, so every backend confines paths the same way.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from ..display._beneath import Roots, open_beneath
from ..tools import ToolCall, ToolResult

__all__ = ["FileTools", "Filesystem", "LocalFilesystem", "PathPolicy", "StatResult"]

MAX_VIEW_BYTES = 2_000_000
MAX_EDIT_BYTES = 10_000_000
"""The largest file `str_replace` edits: it holds the file and its edited copy in memory."""
LISTING_LIMIT = 500


def _hard_link_message(path: str, nlink: int) -> str:
    return (
        f"{path!r} has {nlink} hard links; another name of the same file may be outside the "
        "working dir, so the file tools refuse it (copy it with bash_tool if you need it)"
    )


@dataclass
class StatResult:
    kind: str  # "file" | "dir" | "fifo" | "socket" | "symlink" | "other"
    size: int
    nlink: int = 1


class Filesystem(Protocol):
    """The few primitives the file tools need, on the executing side's paths (POSIX)."""

    def realpath(self, path: str) -> str: ...
    def stat(self, path: str) -> StatResult | None: ...
    def read(self, path: str, limit: int) -> bytes: ...
    def write(self, path: str, data: bytes) -> None: ...
    def listdir(self, path: str, depth: int) -> list[tuple[str, bool, int]]: ...


_O_PATH = getattr(os, "O_PATH", os.O_RDONLY | os.O_NONBLOCK)  # O_PATH: Linux; opens even a FIFO at once


def kind_of(mode: int) -> str:
    """The `StatResult.kind` of an st_mode."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    for test, name in ((stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "symlink")):
        if test(mode):
            return name
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "other"


def _regular(fd: int, path: str) -> os.stat_result:
    """fstat `fd`, refusing what the file tools must not read or write (see `FileTools`)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path!r} is a {kind_of(st.st_mode)}, not a regular file")
    if st.st_nlink > 1:
        raise ValueError(_hard_link_message(path, st.st_nlink))
    return st


class LocalFilesystem:
    """`Filesystem` on this machine; every open goes beneath a root and never follows a link.

    Args:
        roots: the directories the policy allows (working dir, skills, allowed paths). Paths
            given to the methods are already resolved and checked against them.
    """

    def __init__(self, roots: list[str]):
        self.roots = Roots(roots)

    def _open(self, path: str, flags: int, *, create_dirs: bool = False) -> int:
        dirfd, rel = self.roots.split(path)
        return open_beneath(dirfd, rel, flags, create_dirs=create_dirs)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def stat(self, path: str) -> StatResult | None:
        try:
            fd = self._open(path, _O_PATH)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        return StatResult(kind_of(st.st_mode), st.st_size, st.st_nlink)

    def read(self, path: str, limit: int) -> bytes:
        fd = self._open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once, then is refused
        with os.fdopen(fd, "rb") as f:
            _regular(fd, path)
            return f.read(limit)

    def write(self, path: str, data: bytes) -> None:
        try:
            fd = self._open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, create_dirs=True)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # a FIFO nobody reads
                raise ValueError(f"{path!r} is a fifo, not a regular file") from None
            raise
        with os.fdopen(fd, "wb") as f:
            _regular(fd, path)
            f.truncate(0)
            f.write(data)

    def listdir(self, path: str, depth: int) -> list[tuple[str, bool, int]]:
        top = self._open(path, os.O_RDONLY | os.O_DIRECTORY)
        out: list[tuple[str, bool, int]] = []
        try:
            for dirpath, dirnames, filenames, dirfd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                rel = posixpath.normpath(dirpath)
                level = 0 if rel == "." else rel.count("/") + 1
                out += [(posixpath.normpath(posixpath.join(rel, d)), True, 0) for d in dirnames]
                for name in sorted(n for n in filenames if not n.startswith(".")):
                    try:
                        size = os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_size
                    except OSError:
                        size = 0
                    out.append((posixpath.normpath(posixpath.join(rel, name)), False, size))
                if level + 1 >= depth:
                    dirnames[:] = []
                if len(out) > LISTING_LIMIT:
                    break
        finally:
            os.close(top)
        return sorted(out)

    def close(self) -> None:
        self.roots.close()


class PathPolicy:
    """Which paths the file tools may touch, in the executing side's path space.

    The roots are resolved on first use, not when the policy is made: resolving can be a round
    trip to a sandbox (one per root), which a session that never calls a file tool need not pay.
    """

    def __init__(self, cwd: str, writable: list[str], readonly: list[str], fs: Filesystem):
        self.cwd = cwd
        self.fs = fs
        self._given = (list(writable), list(readonly))

    @cached_property
    def writable(self) -> list[str]:
        return [self.fs.realpath(p) for p in self._given[0]]

    @cached_property
    def readonly(self) -> list[str]:
        return [self.fs.realpath(p) for p in self._given[1]]

    def resolve(self, path: str, *, write: bool) -> str:
        """Resolve `path` (relative to the working dir) and check it; raise PermissionError."""
        if not isinstance(path, str) or not path:
            raise ValueError("path must be a non-empty string")
        full = path if posixpath.isabs(path) else posixpath.join(self.cwd, path)
        real = self.fs.realpath(posixpath.normpath(full))
        roots = self.writable if write else self.writable + self.readonly
        if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots):
            where = (
                "the working dir or allowed_paths"
                if write
                else "the working dir, a skill folder or allowed_paths"
            )
            hint = " (skill folders are read-only)" if write and self._in(real, self.readonly) else ""
            raise PermissionError(f"path {path!r} resolves to {real!r}, outside {where}{hint}")
        return real

    @staticmethod
    def _in(real: str, roots: list[str]) -> bool:
        return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)


def _is_binary(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return True
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data[:8192]) - 4  # a multibyte char cut at the boundary is fine
    return False


class FileTools:
    """The three file tools over a `Filesystem` and a `PathPolicy`."""

    def __init__(self, fs: Filesystem, policy: PathPolicy, max_output: int):
        self.fs = fs
        self.policy = policy
        self.max_output = max_output

    def run(self, call: ToolCall) -> ToolResult:
        t0 = time.perf_counter()
        try:
            handler = {
                "view": self.view,
                "create_file": self.create_file,
                "str_replace": self.str_replace,
            }[call.name]
            content = handler(call.input)
            result = ToolResult(content, is_error=False, exit_code=0, stdout=content)
        except (ValueError, PermissionError, OSError, KeyError, TypeError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            result = ToolResult(
                f"{call.name} failed: {msg}", is_error=True, exit_code=1, stdout="", stderr=str(msg)
            )
        result.duration_ms = (time.perf_counter() - t0) * 1000
        return result

    @staticmethod
    def _str_arg(inp: dict[str, Any], key: str, default: str | None = None) -> str:
        value = inp.get(key, default)
        if value is None:
            raise ValueError(f"missing required input {key!r}")
        if not isinstance(value, str):
            raise ValueError(f"input {key!r} must be a string, not {type(value).__name__}")
        return value

    def view(self, inp: dict[str, Any]) -> str:
        path = self.policy.resolve(self._str_arg(inp, "path"), write=False)
        st = self.fs.stat(path)
        if st is None:
            raise ValueError(f"{inp['path']!r} does not exist")
        if st.kind == "dir":
            return self._listing(path)
        self._check_regular(inp["path"], st)
        data = self.fs.read(path, MAX_VIEW_BYTES)
        if _is_binary(data):
            return f"{inp['path']}: binary file, {st.size:,} bytes; not shown (use a script to inspect it)"
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        start, end = self._range(inp.get("view_range"), len(lines))
        width = len(str(max(end, 1)))
        body = "\n".join(f"{i:>{width}}\t{lines[i - 1]}" for i in range(start, end + 1))
        note = ""
        if st.size > MAX_VIEW_BYTES:
            note = f"\n[file is {st.size:,} bytes; only the first {MAX_VIEW_BYTES:,} were read]"
        if len(body) > self.max_output:
            body = body[: self.max_output]
            note += f"\n[output capped at {self.max_output:,} characters; use view_range to read further]"
        return body + note

    @staticmethod
    def _range(raw: Any, n: int) -> tuple[int, int]:
        if raw is None:
            return 1, n
        if (
            not isinstance(raw, (list, tuple))
            or len(raw) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
        ):
            raise ValueError("view_range must be [start, end] (integers, 1-indexed; end -1 = to the end)")
        start, end = raw
        end = n if end == -1 else end
        if start < 1 or start > max(n, 1) or end < start:
            raise ValueError(f"view_range {list(raw)} is invalid for a file of {n} lines")
        return start, min(end, n)

    @staticmethod
    def _check_regular(path: str, st: StatResult) -> None:
        """Refuse what would hang (a FIFO) or reach outside (a hard link) before touching it."""
        if st.kind != "file":
            raise ValueError(
                f"{path!r} is a {st.kind}, not a regular file; the file tools read and write "
                "regular files and list directories only"
            )
        if st.nlink > 1:
            raise ValueError(_hard_link_message(path, st.nlink))

    def _listing(self, path: str) -> str:
        entries = self.fs.listdir(path, 2)
        lines = [f"{path}/"]
        for rel, is_dir, size in entries[:LISTING_LIMIT]:
            lines.append(f"  {rel}/" if is_dir else f"  {rel}  ({size:,} bytes)")
        if len(entries) > LISTING_LIMIT:
            lines.append(f"  [... {len(entries) - LISTING_LIMIT} more entries]")
        return "\n".join(lines)

    def create_file(self, inp: dict[str, Any]) -> str:
        text = self._str_arg(inp, "file_text")
        path = self.policy.resolve(self._str_arg(inp, "path"), write=True)
        st = self.fs.stat(path)
        if st is not None and st.kind == "dir":
            raise ValueError(f"{inp['path']!r} is a directory")
        if st is not None:
            self._check_regular(inp["path"], st)
        self.fs.write(path, text.encode("utf-8"))
        verb = "Overwrote" if st is not None else "Created"
        return f"{verb} {inp['path']} ({len(text.encode('utf-8')):,} bytes)"

    def str_replace(self, inp: dict[str, Any]) -> str:
        old = self._str_arg(inp, "old_str")
        new = self._str_arg(inp, "new_str", "")
        path = self.policy.resolve(self._str_arg(inp, "path"), write=True)
        st = self.fs.stat(path)
        if st is None or st.kind == "dir":
            raise ValueError(f"{inp['path']!r} is not an existing file")
        self._check_regular(inp["path"], st)
        if not old:
            raise ValueError("old_str must not be empty")
        if st.size > MAX_EDIT_BYTES:
            raise ValueError(
                f"{inp['path']!r} is {st.size:,} bytes; str_replace edits files up to "
                f"{MAX_EDIT_BYTES:,} bytes. Nothing was changed: edit it with a script through "
                "bash_tool (sed, python) instead"
            )
        text = self.fs.read(path, st.size + 1).decode("utf-8")
        count = text.count(old)
        if count == 0:
            raise ValueError(f"old_str was not found in {inp['path']}; nothing was changed")
        if count > 1:
            raise ValueError(
                f"old_str occurs {count} times in {inp['path']}; include more context so it occurs "
                "exactly once. Nothing was changed"
            )
        self.fs.write(path, text.replace(old, new, 1).encode("utf-8"))
        line = text[: text.index(old)].count("\n") + 1
        return f"Replaced 1 occurrence in {inp['path']} at line {line}"
