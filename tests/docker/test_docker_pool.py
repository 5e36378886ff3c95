"""The warm pool on a real engine: handed out once, nothing shared, drained, broken ones replaced."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.cli import main as cli_main
from conjure_nb.executors.docker import LABEL, warm_pool
from conjure_nb.executors.docker._client import HOST_LABEL, PID_LABEL
from conjure_nb.executors.docker._pool import WarmPool
from conjure_nb.executors.docker._slot import POOL_LABEL

pytestmark = pytest.mark.docker

_READY = 120  # seconds a test waits for the pool to fill on a busy machine


@pytest.fixture
def pool(docker_image: str, docker_client: Any) -> Iterator[WarmPool]:
    """This process's pool, empty at the start and drained at the end of the test."""
    p = warm_pool()
    p.drain()
    yield p
    p.drain()


def bash(session: cj.Session, command: str) -> cj.ToolResult:
    return session.run_tool("bash_tool", command=command, description="test")


def warmed(pool: WarmPool, image: str, **options: Any) -> cj.DockerExecutor:
    ex = cj.DockerExecutor(image=image, **options)
    assert ex.warm(wait=_READY), "the pool did not fill"
    return ex


def _skill(root: Path, name: str) -> cj.Skill:
    folder = root / name
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: the {name} skill\n---\nbody\n")
    (folder / "scripts" / "hello.py").write_text(f"print('hello from {name}')\n")
    (folder / "link").symlink_to("/etc/hostname")  # never followed to the host
    return cj.load_skill(folder)


def _exists(client: Any, cid: str) -> bool:
    import docker.errors

    try:
        client.api.inspect_container(cid)
    except docker.errors.NotFound:
        return False
    return True


def _owned_by(client: Any, pid: int) -> list[dict[str, Any]]:
    owner = [f"{PID_LABEL}={pid}", f"{HOST_LABEL}={socket.gethostname()}"]
    return list(client.api.containers(all=True, filters={"label": owner}))


def _gone(client: Any, pid: int) -> list[dict[str, Any]]:
    """What the process `pid` left on the engine, once removals under way have finished."""
    deadline = time.monotonic() + 30
    while (left := _owned_by(client, pid)) and time.monotonic() < deadline:
        time.sleep(0.2)  # AutoRemove runs in the engine after the runner exits
    return left


def test_a_pooled_container_is_handed_out_once_and_removed_on_close(
    pool: WarmPool, docker_image: str, docker_client: Any
) -> None:
    ex = warmed(pool, docker_image)
    seen: list[str] = []
    for _ in range(4):
        assert pool.wait_ready(ex.spec(), _READY)
        ready = pool.containers()
        with cj.Session.new_docker(image=docker_image) as s:
            cid = s.container_id  # taken at session creation, before any call
            assert cid in ready and cid not in seen
            assert cid not in pool.containers()  # left the pool for good
            assert bash(s, "id -u && pwd").stdout.split() == [ex.user.split(":")[0], "/workspace"]
            labels = docker_client.api.inspect_container(cid)["Config"]["Labels"]
            assert labels[LABEL] == POOL_LABEL and labels[PID_LABEL] == str(os.getpid())
            seen.append(cid)
        assert not _exists(docker_client, cid), "a returned container is destroyed"
    assert len(set(seen)) == 4


def test_a_sessions_files_and_skills_are_invisible_to_the_next(
    pool: WarmPool, docker_image: str, tmp_path: Path
) -> None:
    first_skill, second_skill = _skill(tmp_path, "first"), _skill(tmp_path, "second")
    ex = warmed(pool, docker_image)
    with cj.Session.new_docker([first_skill], image=docker_image) as s:
        first = s.container_id
        r = bash(s, "echo s3cret | tee /workspace/secret /tmp/secret $HOME/secret; ls /mnt/skills")
        assert r.stdout.split() == ["s3cret", "first"], r.content
        assert (s.working_dir / "secret").read_text() == "s3cret\n"  # the host dir *is* /workspace
    assert pool.wait_ready(ex.spec(), _READY)
    with cj.Session.new_docker([second_skill], image=docker_image) as s:
        assert s.container_id not in (None, first)
        r = bash(
            s,
            "ls -A /workspace; ls -A /tmp; ls -A $HOME; ls /mnt/skills; python3 /mnt/skills/second/scripts/hello.py",
        )
        assert r.stdout.split() == ["home", "second", "hello", "from", "second"], r.content
        assert "s3cret" not in r.content
        # skills stay read-only to the sandbox user; a symlink in a skill is not brought along
        assert bash(s, "touch /mnt/skills/second/x").is_error
        assert bash(s, "echo x > /mnt/skills/second/SKILL.md").is_error
        assert bash(s, "ls -A /mnt/skills/second").stdout.split() == ["SKILL.md", "scripts"]
        assert "name: second" in s.run_tool("view", path="/mnt/skills/second/SKILL.md").content
        made = bash(s, "echo made > out.txt")
        assert not made.is_error and [f.filename for f in s.created_files] == ["out.txt"]


def test_a_broken_pooled_container_is_replaced_not_handed_out(
    pool: WarmPool, docker_image: str, docker_client: Any
) -> None:
    ex = warmed(pool, docker_image)
    dead, tampered = pool.containers()
    docker_client.api.kill(dead)  # exited (and removing itself)
    slot = next(s for s in pool._ready[ex.spec()] if s.container == tampered)
    assert slot.root is not None
    (slot.root / "workspace" / "planted").write_text("left behind")  # not a fresh workspace
    with cj.Session.new_docker(image=docker_image) as s:
        assert s.container_id is None  # neither was handed out: a miss starts its own at the first call
        assert bash(s, "ls -A /workspace").stdout == ""
        assert s.container_id not in (None, dead, tampered)
    assert not _exists(docker_client, tampered)
    assert pool.wait_ready(ex.spec(), _READY)  # and the pool filled again
    assert not {dead, tampered} & set(pool.containers())


def test_the_pool_can_be_turned_off_by_keyword_and_by_environment(
    pool: WarmPool, docker_image: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = warmed(pool, docker_image)
    ready = set(pool.containers())
    with cj.Session.new_docker(image=docker_image, pool=False) as s:
        assert bash(s, "true").exit_code == 0
        assert s.container_id not in ready
        assert docker_client.api.inspect_container(s.container_id)["Config"]["Labels"][LABEL] == s.id
    monkeypatch.setenv("CONJURE_DOCKER_POOL", "0")
    with cj.Session.new_docker(image=docker_image) as s:
        assert bash(s, "true").exit_code == 0 and s.container_id not in ready
    assert set(pool.containers()) == ready and pool.ready(ex.spec()) == pool.size


def test_a_working_dir_you_chose_or_allowed_paths_never_take_a_pooled_container(
    pool: WarmPool, docker_image: str, tmp_path: Path
) -> None:
    ex = warmed(pool, docker_image)
    ready = set(pool.containers())
    mine = tmp_path / "mine"
    mine.mkdir()
    inode = mine.stat().st_ino
    with cj.Session.new_docker(image=docker_image, working_dir=mine) as s:
        assert s.container_id is None  # not replaced by a pooled workspace: its own container
        assert bash(s, "echo here > f.txt").exit_code == 0 and s.container_id not in ready
    assert mine.stat().st_ino == inode and (mine / "f.txt").read_text() == "here\n"
    extra = tmp_path / "extra"
    extra.mkdir()
    with cj.Session.new_docker(image=docker_image, allowed_paths=[extra]) as s:
        assert s.container_id is None
        assert bash(s, f"touch {extra}/x").exit_code == 0 and (extra / "x").exists()
    assert set(pool.containers()) == ready and pool.ready(ex.spec()) == pool.size


@pytest.mark.parametrize(
    ("value", "size", "enabled"), [("", 2, True), ("0", 0, False), ("off", 0, False), ("5", 5, True)]
)
def test_the_pool_setting(value: str, size: int, enabled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from conjure_nb.executors.docker._pool import _env_size, pool_enabled

    monkeypatch.setenv("CONJURE_DOCKER_POOL", value)
    assert _env_size() == size and pool_enabled(None) is enabled
    assert pool_enabled(False) is False and pool_enabled(True) is True


def test_which_engines_are_remote() -> None:
    from conjure_nb.executors.docker._client import is_remote_url

    local = [
        "unix:///var/run/docker.sock",
        "tcp://127.0.0.1:2375",
        "http+docker://localhost",
        "tcp://localhost:2376",
    ]
    remote = [
        "tcp://10.0.0.5:2376",
        "ssh://build-box",
        "http+docker://ssh",
        "https://docker.example.com:2376",
    ]
    assert not any(is_remote_url(u) for u in local) and all(is_remote_url(u) for u in remote)


def test_the_pool_works_over_a_remote_engine(
    pool: WarmPool, docker_image: str, docker_client: Any, remote_url: str, tmp_path: Path
) -> None:
    skill = _skill(tmp_path, "remote-skill")
    options = {"image": docker_image, "base_url": remote_url, "remote": True}
    ex = warmed(pool, docker_image, base_url=remote_url, remote=True)
    ready = pool.containers()
    with cj.Session.new_docker([skill], **options) as s:  # type: ignore[arg-type]
        assert s.container_id in ready
        (s.working_dir / "input.txt").write_text("from the host\n")
        r = bash(s, "cat input.txt; python3 /mnt/skills/remote-skill/scripts/hello.py; echo out > made.txt")
        assert r.stdout.splitlines() == ["from the host", "hello from remote-skill"], r.content
        assert (s.working_dir / "made.txt").read_text() == "out\n"
        assert bash(s, "touch /mnt/skills/remote-skill/x").is_error
        mounts = docker_client.api.inspect_container(s.container_id)["Mounts"]
        volumes = [m["Name"] for m in mounts if m["Type"] == "volume"]
    left = docker_client.api.volumes(filters={"label": f"{LABEL}={POOL_LABEL}"}).get("Volumes") or []
    assert volumes and not set(volumes) & {v["Name"] for v in left}
    pool.drain()
    assert pool.ready(ex.spec()) == 0


CHILD = textwrap.dedent(
    """
    import os, sys, time
    import conjure_nb as cj
    ex = cj.DockerExecutor(image=sys.argv[1])
    assert ex.warm(wait=120), "the pool did not fill"
    from conjure_nb.executors.docker import warm_pool
    roots = [str(s.root) for s in warm_pool()._ready[ex.spec()]]
    print(os.getpid(), *roots, flush=True)
    if sys.argv[2] == "wait":
        time.sleep(600)
    """
)


def _child(image: str, mode: str) -> tuple[subprocess.Popen[str], int, list[str]]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, image, mode], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    pid, *roots = child.stdout.readline().split()
    return child, int(pid), roots


FORKED = textwrap.dedent(
    """
    import os, sys
    import conjure_nb as cj
    from conjure_nb.executors.docker import warm_pool
    ex = cj.DockerExecutor(image=sys.argv[1])
    assert ex.warm(wait=120), "the pool did not fill"
    before = warm_pool().containers()
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # the child's exit runs atexit: it must not drain its parent's pool
    os.waitpid(pid, 0)
    with cj.Session.new_docker(image=sys.argv[1]) as s:
        print(s.container_id in before, s.run_tool("bash_tool", command="echo ok", description="t").stdout.strip())
    """
)


def test_a_forked_child_leaves_its_parents_pool_alone(docker_image: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", FORKED, docker_image], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.split() == ["True", "ok"], out.stderr


def test_the_pool_drains_at_interpreter_exit(docker_image: str, docker_client: Any) -> None:
    child, pid, roots = _child(docker_image, "exit")
    try:
        assert child.wait(120) == 0
    finally:
        child.kill()
        child.communicate()
    assert len(roots) == 2
    assert _gone(docker_client, pid) == []
    assert not any(Path(r).exists() for r in roots)


def test_the_pool_drains_on_sigterm(
    docker_image: str, docker_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    child, pid, roots = _child(docker_image, "wait")
    try:
        assert len(_owned_by(docker_client, pid)) == 2
        child.send_signal(signal.SIGTERM)
        assert child.wait(60) == -signal.SIGTERM  # it still dies of the signal
    finally:
        child.kill()
        child.communicate()
    assert _gone(docker_client, pid) == []
    assert not any(Path(r).exists() for r in roots)
    assert cli_main(["sandbox", "prune", "--owner", str(pid)]) == 0
    assert "0 container(s) removed" in capsys.readouterr().out


def test_a_killed_owner_leaves_no_pooled_container(docker_image: str, docker_client: Any) -> None:
    child, pid, roots = _child(docker_image, "wait")
    try:
        assert len(_owned_by(docker_client, pid)) == 2
    finally:
        child.kill()  # SIGKILL: no handler runs; the runners see their connection drop
        child.communicate()
    assert _gone(docker_client, pid) == []  # AutoRemove
    for root in roots:  # what a SIGKILL does leave: each slot's empty host dirs in TMPDIR
        assert sorted(p.name for p in Path(root).iterdir()) == ["skills", "workspace"]
        shutil.rmtree(root)


def test_the_pool_drains_when_the_kernel_stops(docker_image: str, docker_client: Any, tmp_path: Path) -> None:
    jupyter_client = pytest.importorskip("jupyter_client")
    from queue import Empty

    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    pid = 0
    try:
        kc.wait_for_ready(timeout=60)
        code = (
            "import os, conjure_nb as cj\n"
            f"ex = cj.DockerExecutor(image={docker_image!r})\n"
            "print(os.getpid(), ex.warm(wait=120))\n"
        )
        msg_id = kc.execute(code)
        text = ""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=5)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"]["text"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        pid_text, full = text.split()
        pid = int(pid_text)
        assert full == "True" and len(_owned_by(docker_client, pid)) == 2
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert pid and _gone(docker_client, pid) == []
