"""The docker sandbox on a real engine: isolation, limits, timeouts, parity with the local executor."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from docker_fixtures import MakeExecutor

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup

pytestmark = pytest.mark.docker


def bash(ex: cj.Executor, command: str) -> cj.ToolResult:
    return ex.run(cj.ToolCall("t", "bash_tool", {"command": command, "description": "test"}))


def test_commands_run_as_a_non_root_user_in_workspace(make_executor: MakeExecutor) -> None:
    ex = make_executor()
    r = bash(ex, "pwd; id -u; echo $HOME $TMPDIR")
    assert not r.is_error, r.content
    pwd, uid, env = r.stdout.splitlines()
    assert pwd == "/workspace" and uid != "0" and env == "/tmp/home /tmp"
    assert ex.container_id and len(ex.container_id) == 64
    assert ex.working_dir_display() == "/workspace"


def test_results_read_exactly_like_the_local_executor(make_executor: MakeExecutor, tmp_path: Path) -> None:
    ex = make_executor(max_output=1000)
    local = cj.LocalExecutor()
    local.setup(ExecutorSetup("local", tmp_path, timeout=10, max_output=1000))
    commands = [
        "echo out; echo err >&2",
        "echo partial; echo broken >&2; exit 3",
        "head -c 5000000 /dev/zero | tr '\\0' a; echo; echo tail-marker",
        "printf 'caf\\xc3\\xa9 \\xff\\n'",
        "kill -9 $$",
    ]
    with local:
        for command in commands:
            mine, theirs = bash(ex, command), bash(local, command)
            assert (mine.content, mine.is_error, mine.exit_code) == (
                theirs.content,
                theirs.is_error,
                theirs.exit_code,
            ), command


def test_network_is_really_off(make_executor: MakeExecutor) -> None:
    ex = make_executor()
    probe = "import socket; socket.create_connection(('1.1.1.1', 80), timeout=3); print('connected')"
    r = bash(ex, f'python3 -c "{probe}"')
    assert r.is_error and "connected" not in r.stdout
    assert "Network is unreachable" in r.stderr or "OSError" in r.stderr


def test_root_filesystem_is_read_only_and_tmp_is_writable(make_executor: MakeExecutor) -> None:
    ex = make_executor()
    r = bash(ex, "touch /evil")
    assert r.is_error and ("Read-only file system" in r.stderr or "Permission denied" in r.stderr)
    r = bash(ex, "echo x > /tmp/ok && cat /tmp/ok && touch /workspace/made-here")
    assert not r.is_error and r.stdout.strip() == "x"


def test_memory_bomb_is_killed_and_reported_as_out_of_memory(make_executor: MakeExecutor) -> None:
    ex = make_executor(memory="128m", timeout=60)
    r = bash(ex, "python3 -c \"s = 'x' * (1 << 30); print(len(s))\"")
    assert r.is_error
    assert "out of memory (limit 128m)" in r.content
    after = bash(ex, "echo still-alive")  # the same sandbox keeps working
    assert after.stdout.strip() == "still-alive"
    assert "out of memory" not in after.content
    plain = bash(ex, "kill -9 $$")  # a SIGKILL that is not an OOM kill is not reported as one
    assert plain.is_error and "out of memory" not in plain.content


def test_fork_bomb_is_contained_by_the_pids_limit(make_executor: MakeExecutor) -> None:
    ex = make_executor(pids_limit=64, timeout=5)
    r = bash(ex, "bomb() { bomb | bomb & }; bomb; sleep 30")
    assert r.is_error and "timed out" in r.content
    assert bash(ex, "echo survived").stdout.strip() == "survived"


COUNT_SLEEPS = (
    "python3 -c \"import os; print(sum(open('/proc/%s/cmdline' % p, 'rb').read().startswith(b'sleep') "
    "for p in os.listdir('/proc') if p.isdigit()))\""
)


def test_timeout_kills_the_group_and_setsid_escapees(make_executor: MakeExecutor) -> None:
    ex = make_executor(timeout=2)
    r = bash(ex, "sleep 300 & setsid sleep 301 & echo started; wait")
    assert r.is_error and "timed out after 2 s" in r.content and "started" in r.content
    assert bash(ex, COUNT_SLEEPS).stdout.strip() == "0"


def test_parallel_calls_run_concurrently(make_executor: MakeExecutor) -> None:
    ex = make_executor(timeout=20)
    wait_for = "touch {mine}; for i in $(seq 1000); do [ -e {other} ] && echo got-{other} && exit 0; sleep 0.01; done; exit 1"
    results: dict[str, cj.ToolResult] = {}

    def go(mine: str, other: str) -> None:
        results[mine] = bash(ex, wait_for.format(mine=mine, other=other))

    bash(ex, "true")  # start the container first, so both calls race on a warm runner
    threads = [threading.Thread(target=go, args=p) for p in (("a", "b"), ("b", "a"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"].stdout.strip() == "got-b" and results["b"].stdout.strip() == "got-a"


def test_cancel_stops_running_commands(make_executor: MakeExecutor) -> None:
    ex = make_executor(timeout=60)
    bash(ex, "true")
    box: list[cj.ToolResult] = []
    t = threading.Thread(target=lambda: box.append(bash(ex, "touch started; sleep 50")))
    t.start()
    wd = ex.config.working_dir
    for _ in range(500):
        if (wd / "started").exists():
            break
        threading.Event().wait(0.01)
    ex.cancel()
    t.join(20)
    assert box and box[0].is_error and "cancelled" in box[0].content


def test_a_dead_runner_is_an_error_result_and_the_next_call_gets_a_fresh_container(
    make_executor: MakeExecutor, docker_client: Any
) -> None:
    ex = make_executor()
    bash(ex, "echo keep > kept.txt")
    first = ex.container_id
    assert first is not None
    killer = threading.Timer(0.5, lambda: docker_client.api.kill(first))
    killer.start()
    r = bash(ex, "sleep 5")
    killer.join()
    assert r.is_error and r.error_code == "container_died" and "died" in r.content
    again = bash(ex, "cat kept.txt")
    assert again.stdout.strip() == "keep" and ex.container_id not in (None, first)


def test_tools_cannot_kill_the_runner(make_executor: MakeExecutor) -> None:
    ex = make_executor()
    first = ex.container_id if bash(ex, "true").exit_code == 0 else None
    r = bash(ex, "echo runner=$PPID; kill -9 $PPID; kill -INT 1; kill -TERM 1; sleep 0.3; echo after")
    assert "runner=1" in r.stdout and "after" in r.stdout  # PID 1 ignores signals from inside
    assert bash(ex, "echo alive").stdout.strip() == "alive" and ex.container_id == first


def test_file_tools_are_binary_safe_and_confined(make_executor: MakeExecutor, tmp_path: Path) -> None:
    skill_dir = tmp_path / "skills" / "demo"
    skill_dir.mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text("---\nname: demo\ndescription: d\n---\nbody\n")
    ex = make_executor(skills=[cj.load_skill(skill_dir)])
    tricky = "quotes ' \" $HOME `id` \\n <<EOF\nEOF\nünïcødé ✓\n"

    def tool(name: str, **inp: object) -> cj.ToolResult:
        return ex.run(cj.ToolCall("f", name, dict(inp)))

    assert not tool("create_file", path="dir/t.txt", file_text=tricky, description="d").is_error
    assert (ex.config.working_dir / "dir/t.txt").read_text() == tricky
    assert "ünïcødé ✓" in tool("view", path="/workspace/dir/t.txt").content
    r = tool("str_replace", path="dir/t.txt", old_str="ünïcødé", new_str="plain", description="d")
    assert not r.is_error and "plain ✓" in (ex.config.working_dir / "dir/t.txt").read_text()
    assert "body" in tool("view", path=ex.skill_location(cj.load_skill(skill_dir))).content
    assert tool("create_file", path="/mnt/skills/demo/x", file_text="x", description="d").is_error
    bash(ex, "printf 'a\\0b' > bin.dat; ln -s /etc/passwd link")
    assert "binary file" in tool("view", path="bin.dat").content
    escaped = tool("view", path="link")
    assert escaped.is_error and "outside" in escaped.content
    assert tool("view", path="../etc/passwd").is_error


def test_twenty_sessions_in_a_row_leave_no_containers(docker_client: object, docker_image: str) -> None:
    ids = []
    for i in range(20):
        with cj.Session.new_docker(image=docker_image, session_id=f"row-{i}") as s:
            assert s.run_tool("bash_tool", command="true", description="t").exit_code == 0
            ids.append(s.container_id)
    assert len(set(ids)) == 20
    left = docker_client.api.containers(all=True, filters={"label": "conjure-nb"})  # type: ignore[attr-defined]
    assert [c["Id"] for c in left if c["Id"] in ids] == []


def test_the_sandbox_image_runs_the_runner_from_the_hosts_bytecode(docker_image: str) -> None:
    """The image's Python reads this interpreter's bytecode (both 3.11), so a new sandbox's runner
    is not compiled there; an image of another Python would compile the source."""
    import shutil
    import subprocess
    import sys

    from conjure_nb.executors.docker._bytecode import bytecode
    from conjure_nb.executors.docker._container import BOOT, payload
    from conjure_nb.executors.docker._image import DEFAULT_IMAGE, PYTHON_VERSION

    cli = shutil.which("docker")
    assert cli is not None, "the docker command line comes with the engine (docker.io)"
    fed = payload(bytecode(b"print('bytecode')", "<t>") or b"", b"print('source')")
    done = subprocess.run(
        [cli, "run", "--rm", "-i", "--network", "none", docker_image, "python3", "-I", "-S", "-c", BOOT],
        input=fed, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    found = done.stdout.decode().strip()
    assert found in ("bytecode", "source")
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == PYTHON_VERSION and docker_image == DEFAULT_IMAGE:
        assert found == "bytecode"


def test_a_client_of_the_local_socket_skips_the_environments_proxy_lookups(
    remote_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests looks through the environment for proxies at every call (~0.5 ms); a unix socket
    has none to use, a TCP engine keeps them (a proxy may be the way to it)."""
    from conjure_nb.executors.docker._client import connect

    monkeypatch.delenv("DOCKER_HOST", raising=False)  # the default: the local socket
    local, tcp = connect(None), connect(remote_url)
    try:
        assert local.api.trust_env is False and tcp.api.trust_env is True
        assert local.ping() and tcp.ping()
    finally:
        local.close()
        tcp.close()
