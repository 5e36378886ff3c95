"""`LocalExecutor`: tool calls as `bash -c` subprocesses in the session's working directory.

Each command runs in its own process group, so a timeout (or `cancel()`) kills everything it
started. Output is read incrementally into bounded buffers, so a command printing 100 MB costs
at most a few times `max_output` in memory, and the model sees the head and the tail.

Whatever a command leaves running in the background (`setsid nohup ... &`, a double fork) is
found by its environment marker and killed on `close()`, or by the session's watchdog process
when the host process dies (see `_procwatch.py`).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ..tools import ToolCall, ToolResult
from ._base import ExecutorSetup, ShellExecutor, build_env, process_result
from ._file_tools import FileTools, LocalFilesystem, PathPolicy
from ._procwatch import MARKER_VAR, kill_marked, pipe_holders

__all__ = ["LocalExecutor"]

_READ_CHUNK = 65536
_EOF_GRACE = 0.25  # seconds to wait for pipes to close after a timeout killed the group
# Seconds a background child may hold the pipes after the shell exits. A child started with
# `cmd >/dev/null 2>&1 &` holds them only between its fork and its redirection, which on a
# loaded machine can take a while; only what still holds them after this is killed.
_HOLDER_GRACE = 0.5


class _Capped:
    """Keeps the first and last `limit` bytes of a stream and counts the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.limit:
                del self.tail[: len(self.tail) - self.limit]

    def text(self) -> str:
        head = self.head.decode("utf-8", errors="replace")
        if not self.tail:
            return head
        cut = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", errors="replace")
        middle = f"\n[... {cut:,} bytes not kept ...]\n" if cut > 0 else ""
        return head + middle + tail


# poll(2) needs no kernel object per call, unlike epoll; fine for the three fds watched here
_Selector = getattr(selectors, "PollSelector", selectors.DefaultSelector)
_DEVNULL_FD: int | None = None


def _devnull() -> int:
    """One /dev/null descriptor for every tool's stdin (opening it per call costs a syscall pair)."""
    global _DEVNULL_FD
    if _DEVNULL_FD is None:
        _DEVNULL_FD = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    return _DEVNULL_FD


class _Watchdog:
    """The one watchdog process of this Python process (see _procwatch.py), started on first use.

    Sessions register their marker when they first run a command and unregister it on close;
    if this process dies, the watchdog kills what the registered sessions left running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _send(self, line: str) -> None:
        with self._lock:
            for _ in range(2):  # a tool may have killed it: start another once
                if self._proc is None or self._proc.poll() is not None:
                    self._proc = self._start()
                if self._proc is None or self._proc.stdin is None:
                    return  # without one, close() still kills what it finds
                try:
                    self._proc.stdin.write(line.encode() + b"\n")
                    self._proc.stdin.flush()
                    return
                except OSError:
                    self._proc = None

    @staticmethod
    def _start() -> subprocess.Popen[bytes] | None:
        source = importlib.resources.files(__package__).joinpath("_procwatch.py").read_text(encoding="utf-8")
        try:
            return subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", source],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={},
                cwd="/",
                start_new_session=True,
            )
        except OSError:
            return None

    def watch(self, marker: str) -> None:
        self._send(f"+{marker}")

    def unwatch(self, marker: str) -> None:
        with self._lock:
            running = self._proc is not None and self._proc.poll() is None
        if running:
            self._send(f"-{marker}")

    def stop(self) -> None:
        """At interpreter exit: the watchdog kills what unclosed sessions left, then exits."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_WATCHDOG = _Watchdog()
atexit.register(_WATCHDOG.stop)


def _release(marker: str) -> None:
    """Kill what a session's tools left running and stop watching for it. Never raises."""
    kill_marked(marker)
    with contextlib.suppress(Exception):
        _WATCHDOG.unwatch(marker)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: fall back to polling
        return None


class LocalExecutor(ShellExecutor):
    """Runs tools on this machine. Trusted code only: use DockerExecutor to sandbox.

    Args:
        shell: the shell that runs `bash_tool` commands.
        home: HOME for tool processes (default: the caller's home).
    """

    backend = "local"

    def __init__(self, *, shell: str = "bash", home: str | None = None):
        self.shell = shell
        self.home = home
        self._groups: set[int] = set()
        self._cancels = 0  # bumped by cancel(): a call that was starting its process then is killed at once
        self._lock = threading.Lock()
        self._files: FileTools | None = None
        self._env: dict[str, str] = {}
        self._shell_path = shell
        self._marker = secrets.token_hex(12)
        self._release: weakref.finalize[Any, LocalExecutor] | None = None

    def setup(self, setup: ExecutorSetup) -> None:
        super().setup(setup)
        wd = str(setup.working_dir)
        writable = [wd, *map(str, setup.allowed_paths)]
        readonly = [str(s.path) for s in setup.skills]
        fs = LocalFilesystem([*writable, *readonly])
        policy = PathPolicy(wd, writable=writable, readonly=readonly, fs=fs)
        self._files = FileTools(fs, policy, setup.max_output)
        self._env = build_env(setup.env, home=self.home or str(Path.home()))
        self._env[MARKER_VAR] = self._marker
        # resolved once: Popen would search PATH on every call
        self._shell_path = shutil.which(self.shell, path=self._env["PATH"]) or self.shell

    def run_file_tool(self, call: ToolCall) -> ToolResult:
        if self._files is None:
            raise UsageError("LocalExecutor is not attached to a session yet")
        return self._files.run(call)

    def run_command(self, command: str, timeout: float | None = None) -> ToolResult:
        """Run one shell command with the session's timeout, env and output cap."""
        cfg = self.config
        timeout = cfg.timeout if timeout is None else timeout
        t0 = time.perf_counter()
        epoch = self._cancels
        if self._release is None:
            self._watch()
        try:
            proc = subprocess.Popen(
                [self._shell_path, "-c", command],
                cwd=cfg.working_dir,
                env=self._env,
                stdin=_devnull(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return ToolResult(
                f"could not start {self.shell}: {exc}",
                is_error=True,
                exit_code=None,
                error_code="spawn_failed",
            )
        with self._lock:
            self._groups.add(proc.pid)
            if self._cancels != epoch:  # cancel() came while Popen ran: this call ends now, not at its end
                self._kill(proc.pid)
        try:
            out, err, timed_out = self._collect(proc, timeout, cfg.max_output)
        except BaseException:
            self._kill(proc.pid)
            proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            raise
        finally:
            with self._lock:
                self._groups.discard(proc.pid)
        ms = (time.perf_counter() - t0) * 1000
        return process_result(
            proc.returncode,
            out.text(),
            err.text(),
            duration_ms=ms,
            max_output=cfg.max_output,
            timed_out=timeout if timed_out else None,
        )

    def _collect(
        self, proc: subprocess.Popen[bytes], timeout: float, limit: int
    ) -> tuple[_Capped, _Capped, bool]:
        """Read both pipes until EOF and exit, or until the timeout kills the process group.

        The process's exit is watched through a pidfd in the same selector as the pipes, so
        nothing polls; a shell that exits while a background child still holds the pipes gets a
        short grace period, then whatever still holds them is killed.
        """
        assert proc.stdout is not None and proc.stderr is not None
        out, err = _Capped(limit), _Capped(limit)
        bufs = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
        pidfd = _pidfd(proc.pid)
        deadline = time.monotonic() + timeout
        exited = timed_out = False
        with _Selector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            sel.register(proc.stderr, selectors.EVENT_READ)
            if pidfd is not None:
                sel.register(pidfd, selectors.EVENT_READ)
            try:
                # until the pipes close *and* the shell has exited: a shell may close its output
                # and go on, and at exit the pipes often reach EOF just before its pidfd fires
                while sel.get_map() or not exited:
                    now = time.monotonic()
                    if pidfd is None and not exited and proc.poll() is not None:
                        exited, deadline = True, now + _HOLDER_GRACE
                    if now >= deadline:
                        if timed_out:
                            self._kill(proc.pid)  # background children still hold the pipes
                            break
                        if exited:
                            self._kill_holders(proc)
                            break
                        timed_out = True
                        self._kill(proc.pid)
                        deadline = now + _EOF_GRACE * 4
                    wait = deadline - now if pidfd is not None else min(deadline - now, 0.05)
                    for key, _ in sel.select(max(wait, 0.0)):
                        if key.fd == pidfd:
                            sel.unregister(key.fileobj)
                            exited, deadline = True, min(deadline, time.monotonic() + _HOLDER_GRACE)
                            continue
                        data = os.read(key.fd, _READ_CHUNK)
                        if data:
                            bufs[key.fd].feed(data)
                        else:
                            sel.unregister(key.fileobj)
            finally:
                if pidfd is not None:
                    os.close(pidfd)
        proc.stdout.close()
        proc.stderr.close()
        if proc.poll() is None:
            if not exited:
                self._kill(proc.pid)
            proc.wait()
        return out, err, timed_out

    @classmethod
    def _kill_holders(cls, proc: subprocess.Popen[bytes]) -> None:
        """Kill what still holds the call's pipes after its shell exited, and nothing else.

        A background child that redirected its output lives on, until `close()`.
        """
        assert proc.stdout is not None and proc.stderr is not None
        inodes = {os.fstat(proc.stdout.fileno()).st_ino, os.fstat(proc.stderr.fileno()).st_ino}
        for _ in range(10):  # a holder may fork another holder meanwhile
            holders = pipe_holders(inodes)
            if holders is None:
                cls._kill(proc.pid)
                return
            if not holders:
                return
            for pid in holders:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    @staticmethod
    def _kill(pgid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def _watch(self) -> None:
        """From the first command on, this session's leftovers are killed even if the host dies."""
        with self._lock:
            if self._release is not None:
                return
            _WATCHDOG.watch(self._marker)
            # runs on close(), on garbage collection and at interpreter exit
            self._release = weakref.finalize(self, _release, self._marker)

    def cancel(self) -> None:
        with self._lock:
            self._cancels += 1
            groups = list(self._groups)
        for pgid in groups:
            self._kill(pgid)

    def close(self) -> None:
        """Kill every running call and every process the session's tools left behind."""
        self.cancel()
        with self._lock:
            release, self._release = self._release, None
        if release is not None:
            release()
        if self._files is not None:
            fs = self._files.fs
            if isinstance(fs, LocalFilesystem):
                fs.close()
