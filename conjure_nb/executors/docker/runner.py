"""The in-container runner: one Python process per sandbox, serving tool calls over stdin/stdout.

This file is sent to the container as `python3 -c <source>` (stdlib only, Python 3.6+), so any
image with a Python works and nothing has to be baked into it. The host speaks newline-delimited
JSON over the container's attached stdin/stdout:

    -> {"id": 7, "op": "exec", "cmd": "...", "env": {...}, "cwd": "/workspace", "timeout": 30,
        "limit": 30000}
    <- {"id": 7, "exit": 0, "stdout": "...", "stderr": "...", "timed_out": false, "oom": false}

Every request runs in its own thread, so calls run concurrently and replies arrive by id. Each
command is `bash -c` in a new session (its own process group) with `CONJURE_CALL=<marker>` in its
environment; a timeout or a cancel kills the group and then every process still carrying the marker
(a `setsid` escapee keeps its environment). An OOM kill is told apart from a plain SIGKILL by the
cgroup's `oom_kill` counter rising during the call. Output is kept as head and tail (like the local
executor), so a command printing 100 MB sends a few times `limit` bytes over the socket.
File operations (realpath/stat/read/write/listdir/scan) are binary-safe: bytes travel as base64.
"""

# The code below runs inside the container; the host only reads SOURCE.
SOURCE = r"""
import base64, json, os, selectors, signal, subprocess, sys, threading, time

LOCK = threading.Lock()
RUNNING = {}
RUN_LOCK = threading.Lock()
TOKEN = "%d-%d" % (os.getpid(), int(time.time() * 1000))
EOF_GRACE = 0.25
SHELL = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"


def send(msg):
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")
    with LOCK:
        view = memoryview(data)
        while view:
            n = os.write(1, view)
            view = view[n:]


def oom_file():
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        if os.path.exists(path):
            return path
    return None


OOM_FILE = oom_file()


def oom_count():
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


class Capped(object):
    def __init__(self, limit):
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data):
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.limit:
                del self.tail[: len(self.tail) - self.limit]

    def text(self):
        head = self.head.decode("utf-8", "replace")
        if not self.tail:
            return head
        cut = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", "replace")
        middle = "\n[... {:,} bytes not kept ...]\n".format(cut) if cut > 0 else ""
        return head + middle + tail


def marked(marker):
    needle = ("CONJURE_CALL=" + marker + "\0").encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                if needle in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def kill_call(pgid, marker):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    for _ in range(50):
        pids = marked(marker)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def collect(proc, timeout, limit, marker, state):
    out, err = Capped(limit), Capped(limit)
    bufs = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    deadline = time.monotonic() + timeout
    exited_at = None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        while sel.get_map():
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > EOF_GRACE:
                kill_call(proc.pid, marker)
                break
            if state["cancelled"] and not state["killed"]:
                state["killed"] = True
                kill_call(proc.pid, marker)
                deadline = now + EOF_GRACE * 4
            elif now >= deadline and not state["killed"]:
                state["timed_out"] = state["killed"] = True
                kill_call(proc.pid, marker)
                deadline = now + EOF_GRACE * 4
            elif state["killed"] and now >= deadline:
                break
            for key, _ in sel.select(min(max(deadline - now, 0.0), 0.05)):
                data = os.read(key.fd, 65536)
                if data:
                    bufs[key.fd].feed(data)
                else:
                    sel.unregister(key.fileobj)
    proc.stdout.close()
    proc.stderr.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        kill_call(proc.pid, marker)
        proc.wait()
    return out, err


def op_exec(req):
    marker = "%s-%s" % (TOKEN, req["id"])
    env = dict(req.get("env") or {})
    env["CONJURE_CALL"] = marker
    before = oom_count()
    proc = subprocess.Popen(
        [SHELL, "-c", req["cmd"]], cwd=req.get("cwd") or "/", env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        with open("/proc/%d/oom_score_adj" % proc.pid, "w") as f:
            f.write("500")
    except OSError:
        pass
    state = {"cancelled": False, "killed": False, "timed_out": False}
    with RUN_LOCK:
        RUNNING[req["id"]] = (proc.pid, marker, state)
    try:
        out, err = collect(proc, float(req.get("timeout") or 30), int(req.get("limit") or 30000),
                           marker, state)
    finally:
        with RUN_LOCK:
            RUNNING.pop(req["id"], None)
    code = proc.returncode
    killed = code in (-9, 137)
    return {"exit": code, "stdout": out.text(), "stderr": err.text(), "timed_out": state["timed_out"],
            "cancelled": state["cancelled"], "oom": killed and oom_count() > before}


def op_cancel(req):
    with RUN_LOCK:
        running = list(RUNNING.values())
    for pid, marker, state in running:
        state["cancelled"] = True
    return {"cancelled": len(running)}


def op_realpath(req):
    return {"path": os.path.realpath(req["path"])}


def op_stat(req):
    import stat as st
    try:
        s = os.stat(req["path"])
    except OSError:
        return {"stat": None}
    kind = "dir" if st.S_ISDIR(s.st_mode) else "file" if st.S_ISREG(s.st_mode) else "other"
    return {"stat": [kind, s.st_size]}


def op_read(req):
    with open(req["path"], "rb") as f:
        return {"data": base64.b64encode(f.read(int(req["limit"]))).decode("ascii")}


def op_write(req):
    path = req["path"]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
        f.write(base64.b64decode(req["data"]))
    return {}


def op_listdir(req):
    path, depth, limit = req["path"], int(req["depth"]), int(req.get("max", 500))
    out = []
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


def op_scan(req):
    import stat as st
    files = {}
    root = req["path"]
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            try:
                s = os.lstat(full)
            except OSError:
                continue
            if st.S_ISREG(s.st_mode):
                files[os.path.relpath(full, root)] = [s.st_size, s.st_mtime_ns]
    return {"files": files}


OPS = {"exec": op_exec, "cancel": op_cancel, "realpath": op_realpath, "stat": op_stat,
       "read": op_read, "write": op_write, "listdir": op_listdir, "scan": op_scan}


def handle(req):
    try:
        reply = OPS[req["op"]](req)
    except OSError as exc:
        reply = {"error": exc.strerror or str(exc), "errno": exc.errno, "filename": exc.filename,
                 "etype": type(exc).__name__}
    except Exception as exc:
        reply = {"error": "%s: %s" % (type(exc).__name__, exc), "etype": "RuntimeError"}
    reply["id"] = req.get("id")
    send(reply)


def main():
    home = os.environ.get("HOME")
    if home:
        try:
            os.makedirs(home, exist_ok=True)
        except OSError:
            pass
    send({"id": 0, "ready": True, "pid": os.getpid(), "uid": os.getuid(), "shell": SHELL,
          "python": sys.version.split()[0], "oom_file": OOM_FILE})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        try:
            req = json.loads(line)
        except ValueError:
            continue
        if req.get("op") == "cancel":
            handle(req)
            continue
        try:
            threading.Thread(target=handle, args=(req,), daemon=True).start()
        except RuntimeError:
            handle(req)
    with RUN_LOCK:
        running = list(RUNNING.values())
    for pid, marker, state in running:
        kill_call(pid, marker)
    os._exit(0)


main()
"""
