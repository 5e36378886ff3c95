"""Finding and killing every process a local session's tools started, even after the host dies.

A command's process group dies with its call, but `setsid nohup sleep 1000 &`, a plain
`sleep 1000 >/dev/null 2>&1 &` or a double fork leave the group (and their parent) behind. What
they all keep is their environment: every tool process of a session carries
`CONJURE_SESSION=<marker>`, so `kill_marked` finds them by reading `/proc/<pid>/environ`.

`close()` calls it. For the host dying without running any Python (SIGTERM, SIGHUP, SIGKILL, a
crash), the host starts this module once as a tiny watchdog process (`python3 -I -S -c <source>`)
whose stdin is a pipe only the host holds. Each session that runs a command sends `+<marker>`,
and `-<marker>` when it closed; when the host goes, the pipe closes, and the watchdog kills every
process carrying a marker still listed, then exits. It runs with an empty environment, in its own
session, so it carries no secret and no terminal signal reaches it.

What escapes: a process that replaces its whole environment (`env -i ...`) and leaves the
session's process groups. Local tools are trusted code; the docker backend is the boundary.

Standard library only, Linux (/proc); elsewhere it finds nothing.
"""

from __future__ import annotations

import os
import signal
import time

__all__ = ["MARKER_VAR", "kill_marked", "marked", "pipe_holders", "watch"]

MARKER_VAR = "CONJURE_SESSION"


def marked(marker: str) -> list[int]:
    """Pids of the processes (readable by us) whose environment has CONJURE_SESSION=<marker>."""
    needle = f"{MARKER_VAR}={marker}\0".encode()
    found = []
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def pipe_holders(inodes: set[int]) -> list[int] | None:
    """Pids of the processes (other than us) holding a pipe whose inode is in `inodes`.

    None where /proc cannot tell (not Linux): the caller falls back to its process group.
    """
    targets = {f"pipe:[{inode}]" for inode in inodes}
    me = os.getpid()
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for name in names:
        if not name.isdigit() or int(name) == me:
            continue
        fd_dir = f"/proc/{name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") in targets:
                    found.append(int(name))
                    break
            except OSError:
                pass
    return found


def kill_marked(marker: str, rounds: int = 100) -> int:
    """SIGKILL every marked process until none is left (a forking loop gets several rounds)."""
    killed = 0
    for _ in range(rounds):
        pids = marked(marker)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
        time.sleep(0.005)
    return killed


def watch(stdin: int = 0) -> None:
    """Follow the +marker / -marker lines on `stdin`; when it closes, kill what is still listed."""
    markers: set[str] = set()

    def stop(_signum: int, _frame: object) -> None:
        for marker in markers:
            kill_marked(marker)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    with os.fdopen(stdin, "rb", closefd=False) as lines:
        for line in lines:
            text = line.decode("ascii", "replace").strip()
            if text.startswith("+"):
                markers.add(text[1:])
            elif text.startswith("-"):
                markers.discard(text[1:])
    for marker in markers:
        kill_marked(marker)


if __name__ == "__main__":
    watch()
