"""A helper process for parsers that can abort: a crash there is a refused preview, not a dead kernel.

python-calamine is Rust: a sheet it cannot allocate aborts the whole process (no exception to catch).
So it runs in one long-lived child process, started on first use and again after it died. Each
request hands the child an open file descriptor (over a Unix socket, `SCM_RIGHTS`), never a path to
look up again; the child has no secrets in its environment, a memory limit (`RLIMIT_AS`), and each
request a deadline, after which the child is killed. The child ends when the socket closes, so it
never outlives the kernel. It runs in the folder that holds this `conjure_nb`, so the code it
imports is this package's, never a `conjure_nb` (or any module) in the kernel's working dir.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from ._limits import PreviewRefused

__all__ = ["IsolatedReader"]

_SERVE = "from conjure_nb.display._isolated import _serve; _serve()"


class IsolatedReader:
    """Calls `target` ("module:function", called as `fn(file, args) -> dict`) in the helper process.

    Args:
        target: the function the child runs for each request.
        what: how refusals name the reader ("the xlsx reader").
    """

    def __init__(self, target: str, what: str):
        self.target, self.what = target, what
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._stderr: IO[bytes] | None = None
        self._pid = os.getpid()
        atexit.register(self.close)

    def call(self, f: IO[bytes], args: dict[str, Any], *, timeout: float, memory: int) -> dict[str, Any]:
        """The child's reply for the open file `f`.

        Raises:
            PreviewRefused: the child refused, died (its last words named), or ran out of time.
        """
        with self._lock:
            sock = self._ensure(memory)
            deadline = time.monotonic() + timeout
            try:
                payload = json.dumps(args).encode()
                socket.send_fds(sock, [len(payload).to_bytes(4, "big") + payload], [f.fileno()])
                size = int.from_bytes(_recv_exact(sock, 8, deadline), "big")
                reply: dict[str, Any] = json.loads(_recv_exact(sock, size, deadline))
            except TimeoutError:
                self._stop()
                raise PreviewRefused(
                    f"{self.what} took more than limits.parse_timeout_s={timeout:g} s; it was stopped"
                ) from None
            except (OSError, EOFError, ValueError):
                raise PreviewRefused(f"{self.what} stopped ({self._death()})") from None
        if "refused" in reply:
            raise PreviewRefused(str(reply["refused"]))
        return reply

    def _ensure(self, memory: int) -> socket.socket:
        if self._pid != os.getpid():  # a forked copy of this process: the helper is the parent's
            self._proc, self._sock, self._stderr, self._pid = None, None, None, os.getpid()
        if self._proc is not None and self._proc.poll() is None and self._sock is not None:
            return self._sock
        self._stop()
        parent, child = socket.socketpair()
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = {"PYTHONPATH": package_parent, "LANG": "C.UTF-8", "PATH": os.defpath}
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SERVE, str(child.fileno()), self.target, str(memory)],
                pass_fds=(child.fileno(),),
                env=env,
                cwd=package_parent,  # `-c` puts the working dir first on sys.path: never the kernel's
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
            )
        finally:
            child.close()
        self._sock = parent
        return parent

    def _death(self) -> str:
        """How the child ended (its signal and first useful line of stderr); it is reaped."""
        proc, err = self._proc, self._stderr
        code = None
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = proc.wait(timeout=5)
        words = ""
        if err is not None:
            err.seek(0)
            lines = [ln.strip() for ln in err.read()[-4096:].decode("utf-8", "replace").splitlines()]
            useful = [ln for ln in lines if ln and not ln.startswith(("note:", "Traceback", "File "))]
            words = f": {useful[0][:200]}" if useful else ""
        self._stop()
        return _exit_text(code) + words

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def close(self) -> None:
        """Stop the helper process (it starts again on the next call); a forked copy leaves it alone."""
        with self._lock:
            if self._pid == os.getpid():
                self._stop()


def _recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - len(data), 1 << 20))
        except TimeoutError:
            raise TimeoutError from None
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def _exit_text(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code >= 0:
        return f"exit {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"signal {-code}"


def _serve() -> None:  # pragma: no cover - runs in the child process
    """The child: answer requests until the socket closes."""
    import resource

    fd, target, memory = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    sock = socket.socket(fileno=fd)
    while True:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 1)
        if not msg:
            return
        size, data = int.from_bytes(msg[:4], "big"), bytearray(msg[4:])
        while len(data) < size:
            data += sock.recv(size - len(data))
        try:
            with os.fdopen(fds[0], "rb") as f:
                reply = fn(f, json.loads(data))
        except PreviewRefused as exc:
            reply = {"refused": str(exc)}
        except MemoryError:
            reply = {"refused": "the reader ran out of its memory limit"}
        except Exception as exc:
            reply = {"refused": f"not readable ({type(exc).__name__}: {exc})"[:300]}
        out = json.dumps(reply, default=str).encode()
        sock.sendall(len(out).to_bytes(8, "big") + out)
