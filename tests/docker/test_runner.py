"""The in-container runner and the host's channel, unit-tested on this machine (no engine needed).

The runner is started exactly as the container starts it (`python3 -I -S -c BOOT`, fed the
runner on its stdin: its bytecode where the interpreter reads it, else its source, read as package
data) and spoken to over pipes with the real protocol.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.executors.docker._channel import Channel
from conjure_nb.executors.docker._container import BOOT, payload, runner_payload, runner_source


class Runner:
    """A runner subprocess and a line reader over its stdout."""

    def __init__(self, user: int | None = None, python: str = sys.executable):
        # pipes the runner's user owns, as in the container (where the attack of issue 15 worked)
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        if user is not None:
            for fd in (in_r, in_w, out_r, out_w):
                os.fchown(fd, user, user)
        self.proc = subprocess.Popen(
            [python, "-I", "-S", "-c", BOOT],
            cwd="/",
            stdin=in_r,
            stdout=out_w,
            user=user,
            env={"PATH": os.environ["PATH"], "HOME": "/tmp"},
        )
        os.close(in_r)
        os.close(out_w)
        self.stdin = os.fdopen(in_w, "wb")
        self.stdout = os.fdopen(out_r, "rb")
        self.send(runner_payload())  # as `launch` feeds it
        self.hello = self.read()

    def send(self, raw: bytes | dict[str, Any]) -> None:
        data = raw if isinstance(raw, bytes) else json.dumps(raw).encode() + b"\n"
        self.stdin.write(data)
        self.stdin.flush()

    def read(self) -> dict[str, Any]:
        line = self.stdout.readline()
        assert line, "the runner closed its stdout"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def call(self, rid: int, op: str, **fields: Any) -> dict[str, Any]:
        self.send({"id": rid, "op": op, **fields})
        reply = self.read()
        assert reply["id"] == rid
        return reply

    def close(self) -> None:
        for pipe in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        self.proc.wait(10)


@pytest.fixture
def runner() -> Iterator[Runner]:
    r = Runner()
    yield r
    r.close()


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process whose parent is `pid`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{name}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append((int(name), fields[0]))
    return found


def test_the_runner_greets_and_runs_commands(runner: Runner) -> None:
    assert runner.hello["ready"] and runner.hello["dumpable"] is False
    reply = runner.call(1, "exec", cmd="echo out; echo err >&2; exit 3", env={}, cwd="/", timeout=10)
    assert (reply["exit"], reply["stdout"], reply["stderr"]) == (3, "out\n", "err\n")


def test_malformed_requests_do_not_stop_the_runner(runner: Runner) -> None:
    runner.send(b'[1, 2]\n"text"\n7\nnot json\n{"id": "a", "op": "exec"}\n')
    assert runner.call(5, "no-such-op")["error"] == "malformed request"
    assert "error" in runner.call(6, "exec")  # no cmd: an error reply, not a crash
    assert runner.call(7, "exec", cmd="echo fine", env={}, timeout=5)["stdout"] == "fine\n"


def test_orphans_are_reaped_and_escapees_killed_on_timeout(runner: Runner) -> None:
    # the shell exits at once; its children are orphaned to the runner (a subreaper)
    reply = runner.call(1, "exec", cmd="(sleep 0.2 &); setsid sleep 0.2 & echo ok", env={}, timeout=5)
    assert reply["stdout"] == "ok\n"
    assert _children_soon(runner.proc.pid) == [], "orphans were left (as zombies or running)"
    reply = runner.call(2, "exec", cmd="setsid sleep 300 & sleep 300", env={}, timeout=0.5)
    assert reply["timed_out"] is True
    assert _children_soon(runner.proc.pid) == [], "the escapee outlived the timeout"


def _children_soon(pid: int) -> list[tuple[int, str]]:
    """The children of `pid` once they have gone, or what is still there after 5 s."""
    for _ in range(100):
        if not _children(pid):
            break
        time.sleep(0.05)
    return _children(pid)


def test_a_command_that_closes_its_output_runs_to_its_end(runner: Runner, tmp_path: Path) -> None:
    done = tmp_path / "done"
    reply = runner.call(
        3, "exec", cmd=f"echo early; exec >&- 2>&-; sleep 0.3; touch {done}", env={}, timeout=10
    )
    assert reply["stdout"] == "early\n" and reply["timed_out"] is False
    assert done.exists(), "the call returned before the shell finished"
    reply = runner.call(4, "exec", cmd="exec >&- 2>&-; sleep 300", env={}, timeout=0.5)
    assert reply["timed_out"] is True


def test_a_cancel_right_behind_its_command_stops_it(runner: Runner) -> None:
    # both lines in one write: the cancel is read while the command's thread is still starting it
    # (a cancel the runner found nothing running for used to be lost, and the call ran to its end)
    exec_line = json.dumps({"id": 8, "op": "exec", "cmd": "sleep 30", "env": {}, "timeout": 30})
    runner.send(f'{exec_line}\n{{"id": -1, "op": "cancel"}}\n'.encode())
    replies = {reply["id"]: reply for reply in (runner.read(), runner.read())}
    assert replies[-1]["cancelled"] == 1
    assert replies[8]["cancelled"] is True and replies[8]["timed_out"] is False
    assert replies[8]["exit"] != 0


def test_file_operations_refuse_fifos_and_hard_links(runner: Runner, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ff")
    for op, extra in (("read", {"limit": 10}), ("write", {"data": "eA=="})):
        reply = runner.call(1, op, path=str(tmp_path / "ff"), **extra)
        assert "not a regular file (fifo)" in reply["error"], reply
    (tmp_path / "a").write_text("x")
    os.link(tmp_path / "a", tmp_path / "b")
    assert "hard links" in runner.call(2, "read", path=str(tmp_path / "b"), limit=10)["error"]
    os.symlink(tmp_path / "a", tmp_path / "link")
    assert runner.call(3, "read", path=str(tmp_path / "link"), limit=10)["etype"] == "OSError"
    assert runner.call(4, "stat", path=str(tmp_path / "ff"))["stat"][0] == "fifo"


def test_tools_cannot_open_the_runners_pipes() -> None:
    """The forging attack of issue 15: write a fake reply into /proc/<runner>/fd/1."""
    nobody = 65534 if os.geteuid() == 0 else None
    python = "/usr/bin/python3" if nobody is not None else sys.executable  # nobody can run it
    if not os.access(python, os.X_OK):
        pytest.skip(f"running as root, but there is no {python} the user nobody may run")
    runner = Runner(user=nobody, python=python)
    try:
        pid = runner.proc.pid
        attack = (
            f'printf \'{{"id": 9, "exit": 0, "stdout": "forged"}}\\n\' > /proc/{pid}/fd/1 '
            f"&& echo wrote || echo refused"
        )
        attacker = subprocess.run(
            ["bash", "-c", attack], user=nobody, cwd="/", capture_output=True, text=True, timeout=10
        )
        assert attacker.stdout.strip() == "refused", attacker
        assert runner.call(9, "exec", cmd="echo genuine", env={}, timeout=5)["stdout"] == "genuine\n"
    finally:
        runner.close()


def _frame(payload: bytes, stream: int = 1) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_the_channel_drops_forged_and_malformed_lines() -> None:
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    try:
        theirs.sendall(_frame(b'{"id": 0, "ready": true}\n'))
        assert channel.hello(5)["ready"]
        garbage = b'[1]\n"x"\n5\nnull\n{"id": true}\n{"id": 77, "stdout": "unasked"}\nnot json\n'
        theirs.sendall(_frame(garbage))
        sent: list[dict[str, Any]] = []

        def reply_to_first_request() -> None:
            line = theirs.recv(65536).split(b"\n")[0]
            sent.append(json.loads(line))
            rid = sent[0]["id"]
            theirs.sendall(
                _frame(b'{"id": %d, "stdout": "real"}\n{"id": %d, "stdout": "dup"}\n' % (rid, rid))
            )

        t = threading.Thread(target=reply_to_first_request)
        t.start()
        reply = channel.request("exec", 5, cmd="x")
        t.join()
        assert reply["stdout"] == "real" and channel.alive
        assert any("dropped" in line for line in channel.stderr)
    finally:
        channel.close()
        theirs.close()


def test_a_line_over_the_limit_closes_the_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    from conjure_nb.executors.docker import _channel as channel_module

    monkeypatch.setattr(channel_module, "MAX_LINE", 1000)
    ours, theirs = socket.socketpair()
    channel = Channel(ours)
    try:
        theirs.sendall(_frame(b"a" * 2000))
        for _ in range(200):
            if not channel.alive:
                break
            time.sleep(0.01)
        assert not channel.alive
    finally:
        channel.close()
        theirs.close()


def test_the_runner_is_standalone_standard_library_code() -> None:
    """It travels as one file into images that have no conjure_nb: stdlib imports only."""
    import ast

    tree = ast.parse(runner_source())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "the runner must not import relatively"
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_container_code_reaches_no_private_field_of_the_executor() -> None:
    """The docker backend reads as one thing: what a start made lives in one typed SandboxState."""
    import ast
    import inspect

    from conjure_nb.executors.docker import _container as container
    from conjure_nb.executors.docker._state import SandboxState

    tree = ast.parse(inspect.getsource(container))
    private = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ex"
        and node.attr.startswith("_")
    }
    assert private == set(), f"container.py reaches into the executor: {sorted(private)}"
    import dataclasses

    assert dataclasses.is_dataclass(SandboxState)


def _boot(fed: bytes) -> str:
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", BOOT], input=fed, capture_output=True, timeout=30, check=True
    )
    return done.stdout.decode().strip()


def test_the_runner_comes_as_bytecode_only_to_a_python_that_reads_it() -> None:
    """BOOT runs the `.pyc` under an interpreter with its bytecode magic; any other, no `.pyc`,
    or one that does not load compiles the source instead. The command line stays short: the
    runner comes on stdin."""
    from conjure_nb.executors.docker._bytecode import bytecode

    pyc = bytecode(b"print('bytecode')", "<t>")
    assert pyc is not None
    source = b"print('source')"
    assert _boot(payload(pyc, source)) == "bytecode"
    assert _boot(payload(b"\x00\x00\r\n" + pyc[4:], source)) == "source"  # another Python's magic
    assert _boot(payload(b"", source)) == "source"  # no bytecode (a source over 1 MB)
    assert _boot(payload(pyc[:16] + b"not marshal data", source)) == "source"
    assert len(BOOT) < 1000 and runner_source().encode() in runner_payload()
