"""The slow path for images without Python: one Engine API exec per tool call.

The runner needs a Python in the image. Without one, each `bash_tool` call is an exec of
`timeout -s KILL <t> sh -c <command>` (coreutils' `timeout` kills the command's whole process
group) and the file tools use small shell commands, with writes going in by `put_archive`. It
works on any image with a POSIX shell and coreutils, at tens of milliseconds per call, and
without per-call OOM attribution.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import threading
import time
from typing import Any

from ...tools import ToolResult
from .._base import ExecutorSetup, process_result
from .._file_tools import FileTools, PathPolicy, StatResult
from ._paths import skill_dir

__all__ = ["IDLE_COMMAND", "ExecFallback"]

IDLE_COMMAND = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
_STAT = (
    'if [ -d "$1" ]; then echo dir 0; elif [ -f "$1" ]; then echo file $(wc -c < "$1"); '
    'elif [ -e "$1" ]; then echo other 0; else echo none; fi'
)
_LIST = "find \"$1\" -mindepth 1 -maxdepth \"$2\" -name '.*' -prune -o -printf '%y %s %P\\n'"


class ExecFallback:
    """bash_tool and a `Filesystem` over exec calls into a container idling in a shell loop."""

    def __init__(self, client: Any, cid: str, user: str, workdir: str):
        self.client = client
        self.cid = cid
        self.user = user
        self.workdir = workdir
        uid, _, gid = user.partition(":")
        self._uid, self._gid = int(uid), int(gid or uid)
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def _exec(self, cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
        api = self.client.api
        exec_id = api.exec_create(self.cid, cmd, environment=env, workdir=self.workdir, user=self.user)["Id"]
        out, err = api.exec_start(exec_id, demux=True)
        code = api.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else -1), out or b"", err or b""

    def exec(self, command: str, env: dict[str, str], timeout: float, limit: int) -> ToolResult:
        """Run one command with a timeout; the output is capped like everywhere else."""
        t0 = time.perf_counter()
        code, out, err = self._exec(["timeout", "-s", "KILL", f"{timeout:g}", "sh", "-c", command], env)
        ms = (time.perf_counter() - t0) * 1000
        timed_out = code == 137 and ms >= timeout * 1000 * 0.98
        return process_result(
            None if timed_out else code,
            out[: limit * 4].decode("utf-8", "replace"),
            err[: limit * 4].decode("utf-8", "replace"),
            duration_ms=ms,
            max_output=limit,
            timed_out=timeout if timed_out else None,
        )

    def cancel(self) -> None:
        """Exec calls cannot be interrupted from here; they end at their timeout."""

    def file_tools(self, cfg: ExecutorSetup) -> FileTools:
        policy = PathPolicy(
            self.workdir,
            writable=[self.workdir, *(str(p) for p in cfg.allowed_paths)],
            readonly=[skill_dir(s.name) for s in cfg.skills],
            fs=self,
        )
        return FileTools(self, policy, cfg.max_output)

    # -- Filesystem --------------------------------------------------------------------------

    def _sh(self, script: str, *args: str) -> bytes:
        code, out, err = self._exec(["sh", "-c", script, "sh", *args])
        if code != 0:
            raise OSError(err.decode("utf-8", "replace").strip() or f"exit code {code}")
        return out

    def realpath(self, path: str) -> str:
        out = self._sh('readlink -m "$1" 2>/dev/null || readlink -f "$1" || echo "$1"', path)
        return out.decode().strip() or path

    def stat(self, path: str) -> StatResult | None:
        kind, _, size = self._sh(_STAT, path).decode().strip().partition(" ")
        return None if kind == "none" else StatResult(kind, int(size or 0))

    def read(self, path: str, limit: int) -> bytes:
        return self._sh('head -c "$2" "$1"', path, str(limit))

    def write(self, path: str, data: bytes) -> None:
        parent, name = posixpath.split(path)
        self._sh('mkdir -p "$1"', parent)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            info.uid, info.gid = self._uid, self._gid
            tar.addfile(info, io.BytesIO(data))
        self.client.api.put_archive(self.cid, parent, buf.getvalue())

    def listdir(self, path: str, depth: int) -> list[tuple[str, bool, int]]:
        entries: list[tuple[str, bool, int]] = []
        for line in self._sh(_LIST, path, str(depth)).decode("utf-8", "replace").splitlines():
            kind, size, rel = line.split(" ", 2)
            entries.append((rel, kind == "d", 0 if kind == "d" else int(size)))
        return sorted(entries)
