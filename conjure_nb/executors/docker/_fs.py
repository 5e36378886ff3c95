"""The file tools' `Filesystem` inside the sandbox, served by the runner.

`view`, `create_file` and `str_replace` are the shared `FileTools`; only these primitives differ
from the local executor. Bytes travel base64-encoded in the JSON, so any content (binary, NULs,
odd quoting) arrives unchanged, and the runner's OS errors come back as the same `OSError`
subclasses the local filesystem would raise, so the model reads the same messages.
"""

from __future__ import annotations

import base64
import errno as _errno
from collections.abc import Callable
from typing import Any

from .._file_tools import StatResult

__all__ = ["RunnerFilesystem"]

Request = Callable[..., dict[str, Any]]
_TYPES: dict[str, type[OSError]] = {
    cls.__name__: cls
    for cls in (
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
        OSError,
    )
}


class RunnerFilesystem:
    """`Filesystem` whose operations are runner requests (container paths, POSIX)."""

    def __init__(self, request: Request):
        self._request = request

    def _call(self, op: str, **fields: Any) -> dict[str, Any]:
        reply = self._request(op, **fields)
        if "error" in reply:
            code = reply.get("errno")
            cls = _TYPES.get(str(reply.get("etype")), OSError)
            if code is None:
                raise OSError(str(reply["error"]))
            if cls is OSError and code in (_errno.EACCES, _errno.EPERM):
                cls = PermissionError
            raise cls(int(code), str(reply["error"]), reply.get("filename"))
        return reply

    def realpath(self, path: str) -> str:
        return str(self._call("realpath", path=path)["path"])

    def stat(self, path: str) -> StatResult | None:
        found = self._call("stat", path=path)["stat"]
        if found is None:
            return None
        return StatResult(str(found[0]), int(found[1]), int(found[2]) if len(found) > 2 else 1)

    def read(self, path: str, limit: int) -> bytes:
        return base64.b64decode(self._call("read", path=path, limit=limit)["data"])

    def write(self, path: str, data: bytes) -> None:
        self._call("write", path=path, data=base64.b64encode(data).decode("ascii"))

    def listdir(self, path: str, depth: int) -> list[tuple[str, bool, int]]:
        entries = self._call("listdir", path=path, depth=depth)["entries"]
        return [(str(rel), bool(is_dir), int(size)) for rel, is_dir, size in entries]

    def scan(self, path: str) -> dict[str, tuple[int, int]]:
        """Regular files under `path` (relative names) with (size, mtime_ns); symlinks skipped."""
        files = self._call("scan", path=path)["files"]
        return {str(k): (int(v[0]), int(v[1])) for k, v in files.items()}
