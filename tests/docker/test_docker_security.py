"""Attacks from issue 15 on the docker backend, each as the issue describes it, on a real engine."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from docker_fixtures import MakeExecutor

import conjure_nb as cj

pytestmark = pytest.mark.docker


def bash(ex: cj.Executor, command: str) -> cj.ToolResult:
    return ex.run(cj.ToolCall("t", "bash_tool", {"command": command, "description": "test"}))


def in_thread(fn: Any, wait: float) -> Any:
    """Run `fn` in a thread; fail (instead of hanging the suite) if it does not return in `wait` s."""
    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(wait)
    assert box, f"the call did not return within {wait:g} s"
    return box[0]


FORGE = (
    "for f in /proc/1/fd/1 /proc/$PPID/fd/1; do "
    "  for i in $(seq 1 40); do "
    """    printf '{"id": %d, "exit": 0, "stdout": "forged"}\\n[1]\\n' $i 2>/dev/null > $f """
    "      || { echo refused $f; break; }; "
    "  done; "
    "done"
)


def test_a_tool_cannot_forge_the_runners_replies(make_executor: MakeExecutor) -> None:
    ex = make_executor(timeout=10)
    bash(ex, "true")
    genuine: list[cj.ToolResult] = []
    t = threading.Thread(target=lambda: genuine.append(bash(ex, "sleep 1; echo real")))
    t.start()
    attack = in_thread(lambda: bash(ex, FORGE), 30)
    t.join(30)
    assert attack.stdout.count("refused") == 2, attack.content
    assert genuine and genuine[0].stdout == "real\n", genuine
    assert bash(ex, "echo after").stdout == "after\n"


def test_the_container_log_cannot_grow_on_the_host(make_executor: MakeExecutor, docker_client: Any) -> None:
    ex = make_executor()
    r = bash(ex, "head -c 5000000 /dev/zero > /proc/1/fd/1 2>/dev/null && echo wrote || echo refused")
    assert r.stdout.strip() == "refused"
    host_config = docker_client.api.inspect_container(ex.container_id)["HostConfig"]
    assert host_config["LogConfig"]["Type"] == "none"


def test_file_tools_refuse_a_fifo_instead_of_hanging(make_executor: MakeExecutor) -> None:
    ex = make_executor(timeout=3)
    bash(ex, "mkfifo ff")
    for name, inp in (("view", {"path": "ff"}), ("create_file", {"path": "ff", "file_text": "x"})):
        r = in_thread(lambda n=name, i=inp: ex.run(cj.ToolCall("f", n, {**i, "description": "d"})), 20)
        assert r.is_error and "not a regular file" in r.content, r.content
    assert bash(ex, "echo alive").stdout == "alive\n"


def test_failed_start_attempts_leave_no_container(make_executor: MakeExecutor, docker_client: Any) -> None:
    ex = make_executor(network="container:no-such-container")
    for _ in range(2):
        with pytest.raises(cj.ExecutorError, match="did not start"):
            bash(ex, "true")
    ex.close()
    label = f"conjure-nb={ex.config.session_id}"
    assert docker_client.api.containers(all=True, filters={"label": label}) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the hand-over to the sandbox user happens for root callers")
def test_giving_owners_back_never_follows_a_planted_symlink(
    make_executor: MakeExecutor, tmp_path: Path
) -> None:
    victim = tmp_path / "outside"
    victim.mkdir()
    (victim / "precious").write_text("not the sandbox's")
    os.chown(victim / "precious", 4321, 4321)
    wd = tmp_path / "wd"
    (wd / "sub").mkdir(parents=True)
    (wd / "sub" / "precious").write_text("root's file, handed to the sandbox")
    (wd / "kept.txt").write_text("root's")
    ex = make_executor(working_dir=wd)
    r = bash(ex, f"rm -rf sub && ln -s {victim} sub")
    assert not r.is_error, r.content
    ex.close()
    st = (victim / "precious").stat()
    assert (st.st_uid, st.st_gid) == (4321, 4321), "close() chowned a file outside the working dir"
    assert (wd / "kept.txt").stat().st_uid == 0 and wd.stat().st_uid == 0
