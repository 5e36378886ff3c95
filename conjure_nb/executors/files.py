"""`view`, `create_file` and `str_replace`, written once over a tiny filesystem interface.

The local executor backs it with `os`; the docker executor with its in-container runner. The
path policy (working dir and `allowed_paths` writable, skill folders read-only, everything after
resolving symlinks) lives here, so every backend confines paths the same way.
"""

from __future__ import annotations

import os
import posixpath
import time
from dataclasses import dataclass
from typing import Any, Protocol

from ..tools import ToolCall, ToolResult

__all__ = ["FileTools", "Filesystem", "LocalFilesystem", "PathPolicy", "StatResult"]

MAX_VIEW_BYTES = 2_000_000
LISTING_LIMIT = 500


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


class LocalFilesystem:
    """`Filesystem` on this machine."""

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)

    def stat(self, path: str) -> StatResult | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        import stat as _st

        kind = "dir" if _st.S_ISDIR(st.st_mode) else "file" if _st.S_ISREG(st.st_mode) else "other"
        return StatResult(kind, st.st_size)

    def read(self, path: str, limit: int) -> bytes:
        with open(path, "rb") as f:
            return f.read(limit)

    def write(self, path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def listdir(self, path: str, depth: int) -> list[tuple[str, bool, int]]:
        out: list[tuple[str, bool, int]] = []
        base_depth = path.rstrip("/").count("/")
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            level = dirpath.rstrip("/").count("/") - base_depth
            rel = os.path.relpath(dirpath, path)
            for d in dirnames:
                out.append((posixpath.normpath(posixpath.join(rel, d)), True, 0))
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                try:
                    size = os.lstat(os.path.join(dirpath, name)).st_size
                except OSError:
                    size = 0
                out.append((posixpath.normpath(posixpath.join(rel, name)), False, size))
            if level + 1 >= depth:
                dirnames[:] = []
            if len(out) > LISTING_LIMIT:
                break
        return sorted(out)


class PathPolicy:
    """Which paths the file tools may touch, in the executing side's path space."""

    def __init__(self, cwd: str, writable: list[str], readonly: list[str], fs: Filesystem):
        self.cwd = cwd
        self.fs = fs
        self.writable = [fs.realpath(p) for p in writable]
        self.readonly = [fs.realpath(p) for p in readonly]

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
        self.fs.write(path, text.encode("utf-8"))
        verb = "Overwrote" if st is not None else "Created"
        return f"{verb} {inp['path']} ({len(text.encode('utf-8')):,} bytes)"

    def str_replace(self, inp: dict[str, Any]) -> str:
        old = self._str_arg(inp, "old_str")
        new = self._str_arg(inp, "new_str", "")
        path = self.policy.resolve(self._str_arg(inp, "path"), write=True)
        st = self.fs.stat(path)
        if st is None or st.kind != "file":
            raise ValueError(f"{inp['path']!r} is not an existing file")
        if not old:
            raise ValueError("old_str must not be empty")
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
