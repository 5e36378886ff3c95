"""The in-container runner: one Python process per sandbox, serving tool calls over stdin/stdout.

This module is standard library only (Python 3.9+) and imports nothing from conjure_nb: the host
reads its source with `importlib.resources` and starts it as the container's main process
(`python3 -I -S -c <program>`: its bytecode where the image's Python reads it, else its source),
so any image with a Python works and nothing is baked into it. On the host it is an ordinary
module, linted, type-checked and unit-tested like the rest.

The host speaks newline-delimited JSON over the container's attached stdin/stdout:

    -> {"id": 7, "op": "exec", "cmd": "...", "env": {...}, "cwd": "/workspace", "timeout": 30,
        "limit": 30000}
    <- {"id": 7, "exit": 0, "stdout": "...", "stderr": "...", "timed_out": false, "oom": false}

Why it is built the way it is:

- It is PID 1 of the container (no docker init) and marks itself non-dumpable, so no tool can
  open `/proc/1/fd/1` and write a forged reply, read its requests or its memory: the attach pipes
  are held by this process alone, and a non-dumpable process's /proc entries belong to root. As
  PID 1 it also ignores every signal a tool can send it, and it reaps every orphan.
- Every request runs in its own thread, so calls run concurrently and replies arrive by id. A
  command is `bash -c` in a new session with `CONJURE_CALL=<marker>` in its environment; a
  timeout or a cancel kills the group and then every process still carrying the marker (a
  `setsid` escapee keeps its environment).
- An OOM kill is told apart from a plain SIGKILL by the cgroup's `oom_kill` counter rising during
  the call. Output is kept as head and tail, so a command printing 100 MB sends a few times
  `limit` bytes.
- File operations refuse anything that is not a regular file or directory (a FIFO would block
  forever) and open without following a symlink in the last component. Bytes travel as base64.
"""

from __future__ import annotations

import binascii
import contextlib
import errno
import json
import os
import selectors
import signal
import stat
import subprocess
import sys
import threading
import time

TYPE_CHECKING = False  # typing is not imported at run time: ~3 ms of every sandbox's start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any

    Message = dict[str, Any]

EOF_GRACE = 0.25  # seconds to wait for pipes to close after the shell exits
SHELL = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
TOKEN = f"{os.getpid()}-{int(time.time() * 1000)}"
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_OOM_FILES = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
_LISTING_MAX = 500


def _prctl(option: int, value: int) -> bool:
    """Best-effort prctl(2) through ctypes; False where it is not available."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError, ImportError):
        return False


def harden() -> dict[str, bool]:
    """Make this process unreachable from its tools and the reaper of every orphan."""
    # a Python-level SIGINT handler would let `kill -INT 1` raise KeyboardInterrupt here; with the
    # default disposition the kernel drops every signal a tool sends to PID 1
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return {
        "dumpable": not _prctl(_PR_SET_DUMPABLE, 0),
        "subreaper": os.getpid() == 1 or _prctl(_PR_SET_CHILD_SUBREAPER, 1),
    }


class Output:
    """Writes whole reply lines to one fd; one lock, so concurrent replies never interleave."""

    def __init__(self, fd: int):
        self.fd = fd
        self._lock = threading.Lock()

    def send(self, msg: Message) -> None:
        data = (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                view = view[n:]


def _oom_file() -> str | None:
    for path in _OOM_FILES:
        if os.path.exists(path):
            return path
    return None


OOM_FILE = _oom_file()


def oom_count() -> int:
    """The cgroup's oom_kill counter (0 where there is none)."""
    if OOM_FILE is None:
        return 0
    try:
        with open(OOM_FILE) as f:
            for line in f:
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class Capped:
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
        head = self.head.decode("utf-8", "replace")
        if not self.tail:
            return head
        cut = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", "replace")
        middle = f"\n[... {cut:,} bytes not kept ...]\n" if cut > 0 else ""
        return head + middle + tail


def exit_code(status: int) -> int:
    """A wait status as Popen.returncode would give it (negative for a signal)."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class _Exit:
    __slots__ = ("code", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.code: int | None = None


class Reaper:
    """Waits for every child of this process, ours and adopted orphans alike.

    As PID 1 (or a subreaper) the runner inherits every orphan of its tools; left unreaped they
    would pile up as zombies against the pids limit. One thread reaps them all and hands the
    status of the shells it spawned to whoever waits for them, so nothing calls `Popen.wait`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ours: dict[int, _Exit] = {}
        self._wake = threading.Event()
        threading.Thread(target=self._loop, name="reaper", daemon=True).start()

    def spawn(self, argv: list[str], **popen: Any) -> tuple[subprocess.Popen[bytes], _Exit]:
        with self._lock:  # the reaper cannot see the pid before it is registered
            proc: subprocess.Popen[bytes] = subprocess.Popen(argv, **popen)
            done = self._ours[proc.pid] = _Exit()
        self._wake.set()
        return proc, done

    def _loop(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                self._wake.wait()
                self._wake.clear()
                continue
            except InterruptedError:  # pragma: no cover - PEP 475 retries for us
                continue
            with self._lock:
                done = self._ours.pop(pid, None)
            if done is not None:
                done.code = exit_code(status)
                done.event.set()


def marked(marker: str) -> list[int]:
    """Pids of processes whose environment carries CONJURE_CALL=<marker>."""
    needle = ("CONJURE_CALL=" + marker + "\0").encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def kill_call(pgid: int, marker: str) -> None:
    """SIGKILL the call's process group, then every process still carrying its marker."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    for _ in range(50):
        pids = marked(marker)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


class Call:
    """One running command: its process, marker and what happened to it."""

    def __init__(self, proc: subprocess.Popen[bytes], done: _Exit, marker: str):
        self.proc = proc
        self.done = done
        self.marker = marker
        self.cancelled = False
        self.killed = False
        self.timed_out = False

    def kill(self) -> None:
        self.killed = True
        kill_call(self.proc.pid, self.marker)


def _pipes(proc: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if proc.stdout is None or proc.stderr is None:  # pragma: no cover - always piped
        raise RuntimeError("the command's pipes are missing")
    return proc.stdout, proc.stderr


def collect(call: Call, timeout: float, limit: int) -> tuple[Capped, Capped]:
    """Read both pipes until EOF and exit, or until the timeout or a cancel kills the call."""
    stdout, stderr = _pipes(call.proc)
    out, err = Capped(limit), Capped(limit)
    bufs = {stdout.fileno(): out, stderr.fileno(): err}
    deadline = time.monotonic() + timeout
    exited_at = None
    with selectors.DefaultSelector() as sel:
        sel.register(stdout, selectors.EVENT_READ)
        sel.register(stderr, selectors.EVENT_READ)
        # until the pipes close and the shell has exited (it may close its output and go on)
        while sel.get_map() or not call.done.event.is_set():
            now = time.monotonic()
            if exited_at is None and call.done.event.is_set():
                exited_at = now
            if exited_at is not None and now - exited_at > EOF_GRACE:
                call.kill()  # background children still hold the pipes
                break
            if (call.cancelled or now >= deadline) and not call.killed:
                call.timed_out = not call.cancelled
                call.kill()
                deadline = now + EOF_GRACE * 4
            elif call.killed and now >= deadline:
                break
            wait = min(max(deadline - now, 0.0), 0.05)
            if not sel.get_map():  # both pipes at EOF: wake the moment the shell is reaped
                call.done.event.wait(wait)
                continue
            for key, _ in sel.select(wait):
                data = os.read(key.fd, 65536)
                if data:
                    bufs[key.fd].feed(data)
                else:
                    sel.unregister(key.fileobj)
    stdout.close()
    stderr.close()
    if not call.done.event.wait(5):
        call.kill()
        call.done.event.wait()
    call.proc.returncode = call.done.code  # tells Popen the child is reaped
    return out, err


class Runner:
    """Serves requests; `handle` is the whole protocol, `serve` reads them from an fd."""

    def __init__(self, output: Output):
        self.output = output
        self.reaper = Reaper()
        self._running: dict[Any, Call] = {}
        # exec requests read but not yet running, and those of them a cancel has reached: a cancel
        # that arrives while the call's thread starts still stops it
        self._accepted: set[Any] = set()
        self._doomed: set[Any] = set()
        self._lock = threading.Lock()
        self.ops: dict[str, Callable[[Message], Message]] = {
            "exec": self.op_exec,
            "cancel": self.op_cancel,
            "realpath": op_realpath,
            "stat": op_stat,
            "read": op_read,
            "write": op_write,
            "listdir": op_listdir,
            "scan": op_scan,
        }

    def op_exec(self, req: Message) -> Message:
        rid = req["id"]
        before = oom_count()
        try:
            call = self._spawn(req)
        except BaseException:
            with self._lock:
                self._accepted.discard(rid)
                self._doomed.discard(rid)
            raise
        proc = call.proc
        with self._lock:
            self._running[rid] = call
            self._accepted.discard(rid)
            if rid in self._doomed:  # cancelled while it started: collect() kills it at once
                self._doomed.discard(rid)
                call.cancelled = True
        try:
            out, err = collect(call, float(req.get("timeout") or 30), int(req.get("limit") or 30000))
        finally:
            with self._lock:
                self._running.pop(rid, None)
        code = proc.returncode
        return {
            "exit": code,
            "stdout": out.text(),
            "stderr": err.text(),
            "timed_out": call.timed_out,
            "cancelled": call.cancelled,
            "oom": code in (-9, 137) and oom_count() > before,
        }

    def _spawn(self, req: Message) -> Call:
        marker = "{}-{}".format(TOKEN, req["id"])
        env = {str(k): str(v) for k, v in dict(req.get("env") or {}).items()}
        env["CONJURE_CALL"] = marker
        proc, done = self.reaper.spawn(
            [SHELL, "-c", str(req["cmd"])],
            cwd=str(req.get("cwd") or "/"),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:  # the OOM killer should pick a tool before the runner
            with open(f"/proc/{proc.pid}/oom_score_adj", "w") as f:
                f.write("500")
        except OSError:
            pass
        return Call(proc, done, marker)

    def op_cancel(self, req: Message) -> Message:
        with self._lock:
            running = list(self._running.values())
            self._doomed |= self._accepted
            starting = len(self._accepted)
        for call in running:
            call.cancelled = True
        return {"cancelled": len(running) + starting}

    def handle(self, req: Message) -> None:
        """Run one request and send its reply (errors as `error` replies, never an exception)."""
        try:
            reply = self.ops[req["op"]](req)
        except OSError as exc:
            reply = {
                "error": exc.strerror or str(exc),
                "errno": exc.errno,
                "filename": exc.filename,
                "etype": type(exc).__name__,
            }
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}", "etype": "RuntimeError"}
        reply["id"] = req.get("id")
        self.output.send(reply)

    def dispatch(self, line: bytes) -> None:
        """Parse one request line; a malformed one gets an error reply (or none without an id)."""
        try:
            req = json.loads(line)
        except ValueError:
            return
        if not isinstance(req, dict) or not isinstance(req.get("id"), int) or req.get("op") not in self.ops:
            rid = req.get("id") if isinstance(req, dict) else None
            if isinstance(rid, int):
                self.output.send({"id": rid, "error": "malformed request", "etype": "RuntimeError"})
            return
        if req["op"] == "cancel":
            self.handle(req)
            return
        if req["op"] == "exec":  # noted here, in order with the cancels, before its thread starts
            with self._lock:
                self._accepted.add(req["id"])
        try:
            threading.Thread(target=self.handle, args=(req,), daemon=True).start()
        except RuntimeError:
            self.handle(req)

    def serve(self, stdin: IO[bytes]) -> None:
        """Handle requests until stdin closes, then kill whatever still runs."""
        for line in iter(stdin.readline, b""):
            self.dispatch(line)
        with self._lock:
            running = list(self._running.values())
        for call in running:
            call.kill()


# -- file operations (paths inside the container; the host's PathPolicy already checked them) --


def _open_regular(path: str, flags: int) -> int:
    """Open `path` without blocking and without following a final symlink; regular files only."""
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO without a reader, opened for writing
            raise OSError(errno.EINVAL, f"{path} is not a regular file (fifo)", path) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a regular file ({_kind(st.st_mode)})", path)
        if st.st_nlink > 1:
            raise OSError(
                errno.EPERM, f"{path} has {st.st_nlink} hard links; file tools refuse hard-linked files"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "fifo" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "other"


def op_realpath(req: Message) -> Message:
    return {"path": os.path.realpath(str(req["path"]))}


def op_stat(req: Message) -> Message:
    try:
        s = os.stat(str(req["path"]))
    except OSError:
        return {"stat": None}
    return {"stat": [_kind(s.st_mode), s.st_size, s.st_nlink]}


def op_read(req: Message) -> Message:
    fd = _open_regular(str(req["path"]), os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        return {"data": binascii.b2a_base64(f.read(int(req["limit"])), newline=False).decode("ascii")}


def op_write(req: Message) -> Message:
    path = str(req["path"])
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = _open_regular(path, os.O_WRONLY | os.O_CREAT)
    with os.fdopen(fd, "wb") as f:
        f.truncate(0)
        f.write(binascii.a2b_base64(str(req["data"])))
    return {}


def op_listdir(req: Message) -> Message:
    path, depth = str(req["path"]), int(req["depth"])
    limit = int(req.get("max", _LISTING_MAX))
    out: list[list[Any]] = []
    base_depth = path.rstrip("/").count("/")
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        level = dirpath.rstrip("/").count("/") - base_depth
        rel = os.path.relpath(dirpath, path)
        for d in dirnames:
            out.append([os.path.normpath(os.path.join(rel, d)), True, 0])
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            try:
                size = os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                size = 0
            out.append([os.path.normpath(os.path.join(rel, name)), False, size])
        if level + 1 >= depth:
            dirnames[:] = []
        if len(out) > limit:
            break
    return {"entries": sorted(out)}


def op_scan(req: Message) -> Message:
    files: dict[str, list[int]] = {}
    root = str(req["path"])
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                s = os.lstat(full)
            except OSError:
                continue
            if stat.S_ISREG(s.st_mode):
                files[os.path.relpath(full, root)] = [s.st_size, s.st_mtime_ns]
    return {"files": files}


def main() -> None:
    """Greet the host, then serve stdin until it closes (the host went away or closed us)."""
    hardened = harden()
    home = os.environ.get("HOME")
    if home:
        with contextlib.suppress(OSError):
            os.makedirs(home, exist_ok=True)
    output = Output(sys.stdout.fileno())
    runner = Runner(output)
    hello: Message = {"id": 0, "ready": True, "pid": os.getpid(), "uid": os.getuid(), "shell": SHELL}
    hello.update(python=sys.version.split()[0], oom_file=OOM_FILE, **hardened)
    output.send(hello)
    runner.serve(sys.stdin.buffer)
    os._exit(0)


if __name__ == "__main__":
    main()
