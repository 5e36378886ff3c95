"""Container lifecycle on a real engine: leftovers and prune, remote mode, clear errors, fallback."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from docker_fixtures import MakeExecutor, track_session

import conjure_nb as cj
from conjure_nb.cli import main as cli_main
from conjure_nb.executors._base import ExecutorSetup

pytestmark = pytest.mark.docker

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import conjure_nb as cj
    from conjure_nb.executors._base import ExecutorSetup
    ex = cj.DockerExecutor(image=sys.argv[1])
    ex.setup(ExecutorSetup(sys.argv[2], Path(sys.argv[3])))
    ex.run(cj.ToolCall("t", "bash_tool", {"command": "true"}))
    print(ex.container_id, flush=True)
    time.sleep(600)
    """
)


def bash(ex: cj.Executor, command: str) -> cj.ToolResult:
    return ex.run(cj.ToolCall("t", "bash_tool", {"command": command, "description": "test"}))


def _state(client: Any, cid: str) -> dict[str, Any] | None:
    import docker.errors

    try:
        return dict(client.api.inspect_container(cid)["State"])
    except docker.errors.NotFound:
        return None


def test_a_killed_python_leaves_a_stopped_container_that_prune_removes(
    docker_client: Any, docker_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session_id = f"killed-{time.monotonic_ns()}"
    track_session(session_id)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, docker_image, session_id, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        cid = child.stdout.readline().strip()
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    state = _state(docker_client, cid)
    assert state is not None, "kill -9 gives no chance to clean up: the container must still exist"
    for _ in range(100):  # the runner exits when the attach connection drops (stdin_once)
        state = _state(docker_client, cid)
        if state is not None and not state["Running"]:
            break
        time.sleep(0.1)
    assert state is not None and not state["Running"]
    assert cli_main(["sandbox", "prune", "--session", session_id]) == 0
    assert "1 container(s) removed" in capsys.readouterr().out
    assert _state(docker_client, cid) is None


def test_remote_mode_copies_regular_files_in_and_out(
    make_executor: MakeExecutor, remote_url: str, docker_client: Any, tmp_path: Path
) -> None:
    skill_dir = tmp_path / "skills" / "demo"
    (skill_dir / "scripts").mkdir(parents=True)
    (skill_dir / "SKILL.md").write_text("---\nname: demo\ndescription: d\n---\nbody\n")
    (skill_dir / "scripts" / "hello.py").write_text("print('hello from the skill')\n")
    wd = tmp_path / "host-wd"
    wd.mkdir()
    (wd / "input.txt").write_text("from the host\n")
    ex = make_executor(working_dir=wd, skills=[cj.load_skill(skill_dir)], base_url=remote_url, remote=True)
    r = bash(ex, "cat input.txt && python3 /mnt/skills/demo/scripts/hello.py")
    assert r.stdout.splitlines() == ["from the host", "hello from the skill"], r.content
    mounts = docker_client.api.inspect_container(ex.container_id)["Mounts"]
    assert mounts and {m["Type"] for m in mounts} == {"volume"}

    bash(
        ex,
        "echo made > out.txt; mkdir -p sub; echo deep > sub/d.txt; ln -s /etc/passwd link; ln -s out.txt l2",
    )
    ex.run(cj.ToolCall("c", "create_file", {"path": "tool.txt", "file_text": "by tool", "description": "d"}))
    ex.sync_out()
    assert (wd / "out.txt").read_text() == "made\n" and (wd / "sub/d.txt").read_text() == "deep\n"
    assert (wd / "tool.txt").read_text() == "by tool"
    assert not (wd / "link").exists() and not (wd / "link").is_symlink() and not (wd / "l2").exists()

    (wd / "input.txt").write_text("changed on the host\n")  # pushed before the next call
    assert bash(ex, "cat input.txt").stdout == "changed on the host\n"
    assert bash(ex, "touch /mnt/skills/demo/x").is_error
    volumes = docker_client.api.volumes(filters={"label": f"conjure-nb={ex.config.session_id}"})["Volumes"]
    assert volumes
    ex.close()
    left = docker_client.api.volumes(filters={"label": f"conjure-nb={ex.config.session_id}"})["Volumes"]
    assert not left


def test_unreachable_daemon_says_how_to_start_one(tmp_path: Path) -> None:
    ex = cj.DockerExecutor(base_url=f"unix://{tmp_path}/no-docker.sock")
    ex.setup(ExecutorSetup("nodaemon", tmp_path))
    with pytest.raises(cj.ExecutorError, match=r"not reachable.*dockerd"):
        bash(ex, "true")
    ex.close()


def test_an_unreachable_engine_leaves_the_warm_pool_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session that could not start its sandbox asks the pool for none either (on Binder, with no
    engine, the pool's own failure came out as a second warning in a later cell)."""
    from conjure_nb.executors.docker import warm_pool

    monkeypatch.setenv("CONJURE_DOCKER_POOL", "2")
    ex = cj.DockerExecutor(base_url=f"unix://{tmp_path}/no-docker.sock")
    ex.setup(ExecutorSetup("nodaemon", tmp_path, fresh_working_dir=True))  # as a session's own dir: poolable
    spec = ex.spec()
    with pytest.raises(cj.ExecutorError, match="not reachable"):
        bash(ex, "true")
    ex.close()
    assert spec not in warm_pool()._due


def test_missing_image_names_the_build_command(docker_client: Any, tmp_path: Path) -> None:
    ex = cj.DockerExecutor(image="conjure-nb/no-such-image:never")
    ex.setup(ExecutorSetup("noimage", tmp_path))
    with pytest.raises(cj.ExecutorError, match="conjure-nb sandbox build --offline"):
        bash(ex, "true")
    ex.close()
    assert ex.container_id is None


@pytest.fixture(scope="module")
def python_less_image(docker_client: Any) -> str:
    """The cached Debian minbase rootfs as an image: bash and coreutils, no Python."""
    from conjure_nb.executors.docker._image import import_minbase

    try:
        return import_minbase(docker_client, "conjure-nb/test-no-python:latest")
    except cj.ExecutorError as exc:
        pytest.skip(f"no minbase rootfs for a python-less image: {exc}")


def test_an_image_without_python_falls_back_to_exec_and_says_so(
    make_executor: MakeExecutor, python_less_image: str
) -> None:
    ex = make_executor(image=python_less_image, timeout=2)
    with pytest.warns(RuntimeWarning, match="falls back"):
        r = bash(ex, "echo via-exec; id -u")
    assert r.stdout.splitlines()[0] == "via-exec" and r.stdout.splitlines()[1] != "0"
    failed = bash(ex, "echo out; echo err >&2; exit 4")
    assert failed.is_error and failed.exit_code == 4 and "err" in failed.content
    assert "timed out" in bash(ex, "sleep 30").content
    create = ex.run(
        cj.ToolCall("c", "create_file", {"path": "d/f.txt", "file_text": "x'y\"z\n", "description": "d"})
    )
    assert not create.is_error, create.content
    assert (ex.config.working_dir / "d/f.txt").read_text() == "x'y\"z\n"
    assert "x'y\"z" in ex.run(cj.ToolCall("v", "view", {"path": "d/f.txt"})).content
    assert "f.txt" in ex.run(cj.ToolCall("v", "view", {"path": "."})).content
