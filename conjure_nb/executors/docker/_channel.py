"""Talking to the in-container runner over the container's attached stdin/stdout.

Without a TTY the Engine API multiplexes the container's output: each frame is an 8-byte header
(stream 1 = stdout, 2 = stderr; then a big-endian 32-bit length) and its payload. Stdin is raw.
One reader thread parses frames, splits stdout into JSON lines and hands each reply to the caller
waiting for its id, so several calls can be in flight at once.

Every line is validated before it is believed: it must be a JSON object whose integer `id` is a
request still waiting for its first reply. Anything else (a non-object, an unknown or repeated
id, a line over `MAX_LINE`) is dropped and noted in `stderr`, and never stops the reader.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import struct
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Channel", "RunnerGone"]

log = logging.getLogger("conjure_nb.docker")
_HEADER = struct.Struct(">BxxxL")
MAX_LINE = 64 << 20
"""The longest reply line accepted (a 2 MB file read is under 3 MB of base64)."""


class RunnerGone(Exception):
    """The runner (or the whole container) went away; no reply will come."""


class _Pending:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: dict[str, Any] | None = None


class Channel:
    """Request/reply by id over an attach socket.

    Args:
        sock: what `APIClient.attach_socket` returned (a raw socket or a wrapper with `_sock`).
    """

    def __init__(self, sock: Any):
        self._wrapper = sock
        self._sock = getattr(sock, "_sock", sock)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {0: _Pending()}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self.stderr: deque[str] = deque(maxlen=50)
        self._reader = threading.Thread(target=self._read_loop, name="conjure-docker-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._closed

    def hello(self, timeout: float) -> dict[str, Any]:
        """Wait for the runner's greeting (request id 0)."""
        return self._wait(0, self._pending[0], timeout)

    def request(self, op: str, wait: float | None, **fields: Any) -> dict[str, Any]:
        """Send one request and wait for its reply.

        Raises:
            RunnerGone: the connection closed before the reply came.
            TimeoutError: no reply within `wait` seconds.
        """
        return self.ask(op, **fields)(wait)

    def ask(self, op: str, **fields: Any) -> Callable[[float | None], dict[str, Any]]:
        """Send one request now; the function returned waits for its reply (as `request` does),
        so the caller can do other work while the runner answers. Call it exactly once."""
        pending = _Pending()
        with self._lock:
            if self._closed:
                raise RunnerGone("the sandbox runner is not running")
            rid = next(self._ids)
            self._pending[rid] = pending
        self.send({"id": rid, "op": op, **fields})
        return lambda wait: self._wait(rid, pending, wait)

    def send(self, message: dict[str, Any]) -> None:
        """Write one request line (no reply awaited)."""
        self.feed((json.dumps(message, separators=(",", ":")) + "\n").encode())

    def feed(self, data: bytes) -> None:
        """Write raw bytes to the runner's stdin (the runner itself, before it serves)."""
        try:
            with self._write_lock:
                self._sock.sendall(data)
        except OSError as exc:
            self._shutdown(f"writing to the sandbox runner failed: {exc}")
            raise RunnerGone(str(exc)) from exc

    def _wait(self, rid: int, pending: _Pending, timeout: float | None) -> dict[str, Any]:
        try:
            if not pending.event.wait(timeout):
                raise TimeoutError(f"the sandbox runner did not answer within {timeout:g} s")
        finally:
            with self._lock:
                self._pending.pop(rid, None)
        if pending.reply is None:
            raise RunnerGone("the sandbox runner stopped before answering")
        return pending.reply

    def _read_loop(self) -> None:
        buf = bytearray()
        lines = bytearray()
        why = "the sandbox runner's connection closed"
        try:
            while True:
                chunk = self._sock.recv(262144)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= _HEADER.size:
                    stream, size = _HEADER.unpack_from(buf)
                    if len(buf) < _HEADER.size + size:
                        break
                    payload = bytes(buf[_HEADER.size : _HEADER.size + size])
                    del buf[: _HEADER.size + size]
                    if stream == 1:
                        lines += payload
                        self._dispatch(lines)
                    else:
                        self.stderr.append(payload.decode("utf-8", "replace"))
                if len(lines) > MAX_LINE:
                    why = f"the sandbox runner sent a line over {MAX_LINE:,} bytes"
                    break
        except OSError as exc:
            log.debug("attach socket closed: %s", exc)
        self._shutdown(why)

    def _dispatch(self, lines: bytearray) -> None:
        """Hand every complete line in `lines` to its waiter; keep the incomplete rest."""
        end = lines.rfind(b"\n")
        if end < 0:
            return
        complete = bytes(lines[:end])
        del lines[: end + 1]
        for line in complete.split(b"\n"):
            if line.strip():
                self._deliver(line)

    def _deliver(self, line: bytes) -> None:
        try:
            reply = json.loads(line)
        except ValueError:
            reply = None
        rid = reply.get("id") if isinstance(reply, dict) else None
        with self._lock:
            pending = self._pending.get(rid) if isinstance(rid, int) and not isinstance(rid, bool) else None
            if pending is not None and pending.reply is None and isinstance(reply, dict):
                pending.reply = reply
                pending.event.set()
                return
        self.stderr.append(f"[dropped a line that is not a reply to a waiting request: {line[:200]!r}]")

    def _shutdown(self, why: str) -> None:
        with self._lock:
            self._closed = True
            waiting = list(self._pending.values())
        for pending in waiting:
            pending.event.set()
        log.debug("%s", why)

    def close(self) -> None:
        """Close the socket; the runner sees EOF on stdin and exits (stdin_once)."""
        self._shutdown("closed by the executor")
        with contextlib.suppress(OSError, AttributeError):
            self._sock.shutdown(2)  # wakes the reader thread blocked in recv()
        for obj in (self._sock, self._wrapper):
            with contextlib.suppress(OSError):
                obj.close()
