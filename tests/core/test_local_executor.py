"""LocalExecutor specifics: file tools, path confinement, environment, process groups."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj


@pytest.fixture
def skill_dir(tmp_path: Path) -> Path:
    d = tmp_path / "skills" / "demo-skill"
    (d / "scripts").mkdir(parents=True)
    (d / "SKILL.md").write_text("---\nname: demo-skill\ndescription: A demo.\n---\n# Demo\nline two\n")
    (d / "scripts" / "hello.py").write_text("print('hello from the skill')\n")
    return d


@pytest.fixture
def session(skill_dir: Path) -> Any:
    with cj.Session.new_local([skill_dir]) as s:
        yield s


def test_view_file_with_line_numbers_and_range(session: cj.Session, skill_dir: Path) -> None:
    r = session.run_tool("view", path=str(skill_dir / "SKILL.md"))
    assert not r.is_error
    assert "1\t---" in r.content and "6\tline two" in r.content
    r = session.run_tool("view", path=str(skill_dir / "SKILL.md"), view_range=[5, -1])
    assert r.content.splitlines() == ["5\t# Demo", "6\tline two"]
    r = session.run_tool("view", path=str(skill_dir / "SKILL.md"), view_range=[9, 3])
    assert r.is_error and "view_range" in r.content


def test_view_directory_two_levels(session: cj.Session, skill_dir: Path) -> None:
    r = session.run_tool("view", path=str(skill_dir))
    assert "scripts/" in r.content and "scripts/hello.py" in r.content


def test_view_binary_is_described_not_dumped(session: cj.Session) -> None:
    (session.working_dir / "blob.bin").write_bytes(bytes(range(256)) * 10)
    r = session.run_tool("view", path="blob.bin")
    assert not r.is_error and "binary file, 2,560 bytes" in r.content


def test_create_file_and_str_replace(session: cj.Session) -> None:
    r = session.run_tool(
        "create_file", path="deep/new/notes.md", file_text="alpha\nbeta\nalpha\n", description="d"
    )
    assert not r.is_error and (session.working_dir / "deep/new/notes.md").exists()
    r = session.run_tool(
        "str_replace", path="deep/new/notes.md", old_str="beta", new_str="gamma", description="d"
    )
    assert not r.is_error and "line 2" in r.content
    r = session.run_tool(
        "str_replace", path="deep/new/notes.md", old_str="alpha", new_str="x", description="d"
    )
    assert r.is_error and "occurs 2 times" in r.content
    r = session.run_tool("str_replace", path="deep/new/notes.md", old_str="zeta", description="d")
    assert r.is_error and "not found" in r.content
    assert (session.working_dir / "deep/new/notes.md").read_text() == "alpha\ngamma\nalpha\n"
    r = session.run_tool("str_replace", path="deep/new/notes.md", old_str="gamma\n", description="delete")
    assert (session.working_dir / "deep/new/notes.md").read_text() == "alpha\nalpha\n"


@pytest.mark.parametrize("path", ["../../../etc/passwd", "/etc/passwd", "/root"])
def test_view_outside_is_refused(session: cj.Session, path: str) -> None:
    r = session.run_tool("view", path=path)
    assert r.is_error and "outside" in r.content


def test_symlink_escape_is_refused(session: cj.Session) -> None:
    os.symlink("/etc", session.working_dir / "etc-link")
    r = session.run_tool("view", path="etc-link/passwd")
    assert r.is_error and "outside" in r.content
    r = session.run_tool("create_file", path="etc-link/evil", file_text="x", description="d")
    assert r.is_error and not Path("/etc/evil").exists()


def test_skill_folders_are_read_only(session: cj.Session, skill_dir: Path) -> None:
    r = session.run_tool("create_file", path=str(skill_dir / "x.txt"), file_text="x", description="d")
    assert r.is_error and "read-only" in r.content
    r = session.run_tool(
        "str_replace", path=str(skill_dir / "SKILL.md"), old_str="Demo", new_str="X", description="d"
    )
    assert r.is_error


def test_allowed_paths_are_reachable(tmp_path: Path) -> None:
    extra = tmp_path / "shared-data"
    extra.mkdir()
    (extra / "in.csv").write_text("a,b\n1,2\n")
    with cj.Session.new_local(allowed_paths=[extra]) as s:
        assert not s.run_tool("view", path=str(extra / "in.csv")).is_error
        assert not s.run_tool(
            "create_file", path=str(extra / "out.txt"), file_text="y", description="d"
        ).is_error


def test_python_is_the_session_interpreter(session: cj.Session, skill_dir: Path) -> None:
    r = session.run_tool(
        "bash_tool", command="python3 -c 'import sys; print(sys.executable)'", description="d"
    )
    assert Path(r.stdout.strip()).resolve() == Path(sys.executable).resolve()
    r = session.run_tool("bash_tool", command=f"python3 {skill_dir}/scripts/hello.py", description="d")
    assert r.stdout == "hello from the skill\n"


def test_escaped_background_processes_are_killed_on_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "escapee.pid"
    cmd = f"sleep 300 & echo $! > {pidfile}; sleep 60"
    with cj.Session.new_local(timeout=0.5) as s:
        r = s.run_tool("bash_tool", command=cmd, description="d")
        assert r.is_error and "timed out" in r.content
        assert _gone(int(pidfile.read_text())), "the background process outlived the call's timeout"


def test_background_child_holding_the_pipe_does_not_hang(session: cj.Session) -> None:
    # the shell exits at once; its background child keeps stdout open and is killed
    r = session.run_tool("bash_tool", command="sleep 300 & echo $!", description="d")
    assert not r.is_error
    pid = int(r.stdout)
    assert _gone(pid)


def test_only_what_holds_the_pipes_is_killed(tmp_path: Path) -> None:
    # a sibling that redirected its output is not the one keeping the call open: it runs on
    command = "sleep 1003 >/dev/null 2>&1 & echo $!; sleep 1004 & echo $!"
    pids: list[int] = []
    try:
        with cj.Session.new_local(working_dir=tmp_path) as s:
            r = s.run_tool("bash_tool", command=command, description="d")
            pids = [int(line) for line in r.stdout.split()]
            redirected, holder = pids
            assert _gone(holder)
            assert _running(redirected)
        assert _gone(redirected), "close() kills what the session left running"
    finally:
        _reap(pids)


def test_a_command_that_closes_its_output_runs_to_its_end(tmp_path: Path) -> None:
    # its pipes reach EOF while the shell still runs: the call waits for the shell, and kills nothing
    command = f"sleep 1005 >/dev/null 2>&1 & echo $!; exec >&- 2>&-; sleep 0.3; touch {tmp_path}/done"
    pids: list[int] = []
    try:
        with cj.Session.new_local(working_dir=tmp_path) as s:
            r = s.run_tool("bash_tool", command=command, description="d")
            pids = [int(r.stdout)]
            assert not r.is_error and (tmp_path / "done").exists()
            assert _running(pids[0])
        with cj.Session.new_local(working_dir=tmp_path, timeout=0.5) as s:
            r = s.run_tool("bash_tool", command="exec >&- 2>&-; sleep 300", description="d")
            assert r.is_error and "timed out" in r.content
    finally:
        _reap(pids)


def _running(pid: int) -> bool:
    """Whether `pid` runs now (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _gone(pid: int) -> bool:
    """Whether `pid` stops running within a few seconds."""
    import time

    for _ in range(100):
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


def test_signals_are_reported(session: cj.Session) -> None:
    r = session.run_tool("bash_tool", command="kill -9 $$", description="d")
    assert r.is_error and "SIGKILL" in r.content


def test_dataframe_from_json_and_csv_output(session: cj.Session) -> None:
    r = session.run_tool(
        "bash_tool", command="""echo '[{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]'""", description="d"
    )
    df = r.dataframe
    assert df is not None and list(df.columns) == ["a", "b"] and df["a"].sum() == 3
    r = session.run_tool("bash_tool", command="printf 'name,count\\nerr,3\\nwarn,5\\n'", description="d")
    assert r.dataframe is not None and r.dataframe["count"].tolist() == [3, 5]
    assert session.run_tool("bash_tool", command="echo plain words", description="d").dataframe is None


def test_created_files_ignore_symlinks(session: cj.Session, tmp_path: Path) -> None:
    r = session.run_tool("bash_tool", command="ln -s /etc/passwd pw; echo hi > real.txt", description="d")
    assert not r.is_error
    assert [f.filename for f in session.created_files] == ["real.txt"]
    written = session.download_files(tmp_path / "out")
    assert [p.name for p in written] == ["real.txt"]


def test_keep_working_dir(tmp_path: Path) -> None:
    s = cj.Session.new_local(keep_working_dir=True)
    wd = s.working_dir
    s.close()
    assert wd.is_dir()
    import shutil

    shutil.rmtree(wd)
    given = tmp_path / "mine"
    with cj.Session.new_local(working_dir=given) as s:
        s.run_tool("bash_tool", command="echo x > f", description="d")
    assert (given / "f").exists()


def test_bad_session_arguments() -> None:
    with pytest.raises(cj.UsageError, match="max_iterations"):
        cj.Session.new_local(max_iterations=0)
    with pytest.raises(cj.UsageError, match="unknown backend"):
        cj.Session.new("cloud")


# -- attacks from issue 15 on the local backend ------------------------------------------------


def _in_thread(fn: Any, wait: float) -> Any:
    """Run `fn` in a thread; fail (instead of hanging the suite) if it does not return in time."""
    import threading

    box: list[Any] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(wait)
    assert box, f"the call did not return within {wait:g} s"
    return box[0]


def _reap(pids: list[int]) -> None:
    import signal

    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


ESCAPES = {
    "setsid nohup": "setsid nohup sleep 1000 >/dev/null 2>&1 & echo $!",
    "plain background": "sleep 1001 >/dev/null 2>&1 & echo $!",
    "double fork": "bash -c 'sleep 1002 >/dev/null 2>&1 & echo $!' &  wait",
}


def test_background_processes_do_not_outlive_close(tmp_path: Path) -> None:
    pids: list[int] = []
    try:
        with cj.Session.new_local(working_dir=tmp_path) as s:
            for command in ESCAPES.values():
                r = s.run_tool("bash_tool", command=command, description="d")
                pids.append(int(r.stdout.split()[-1]))
            dead = [name for name, pid in zip(ESCAPES, pids) if not _running(pid)]
            assert not dead, f"these should run until close(): {dead}"
        left = {name: pid for name, pid in zip(ESCAPES, pids) if not _gone(pid)}
        assert not left, f"still running after close(): {left}"
    finally:
        _reap(pids)


HOST = """
import sys, time
import conjure_nb as cj
s = cj.Session.new_local(working_dir=sys.argv[1])
for command in sys.argv[2:]:
    print(s.run_tool("bash_tool", command=command, description="d").stdout.split()[-1], flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGKILL"])
def test_background_processes_die_with_the_host_process(tmp_path: Path, signame: str) -> None:
    import signal
    import subprocess

    host = subprocess.Popen(
        [sys.executable, "-c", HOST, str(tmp_path), *ESCAPES.values()], stdout=subprocess.PIPE, text=True
    )
    pids: list[int] = []
    try:
        assert host.stdout is not None
        pids = [int(host.stdout.readline()) for _ in ESCAPES]
        host.send_signal(getattr(signal, signame))
        host.wait(30)
        left = {name: pid for name, pid in zip(ESCAPES, pids) if not _gone(pid)}
        assert not left, f"still running after the host got {signame}: {left}"
    finally:
        host.kill()
        host.wait()
        if host.stdout is not None:
            host.stdout.close()
        _reap(pids)


def test_file_tools_refuse_a_fifo_instead_of_hanging(session: cj.Session) -> None:
    os.mkfifo(session.working_dir / "ff")
    for name, inp in (("view", {"path": "ff"}), ("create_file", {"path": "ff", "file_text": "x"})):
        r = _in_thread(lambda n=name, i=inp: session.run_tool(n, **i, description="d"), 20)
        assert r.is_error and "not a regular file" in r.content, r.content
    r = _in_thread(
        lambda: session.run_tool("str_replace", path="ff", old_str="a", new_str="b", description="d"), 20
    )
    assert r.is_error and "not a regular file" in r.content


FLIPPER = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
while True:  # renameat2(RENAME_EXCHANGE): the two names swap atomically, a dir and a symlink
    if libc.renameat2(-100, a, -100, b, 2) != 0:
        sys.exit("renameat2 failed: errno %d" % ctypes.get_errno())
"""


@pytest.mark.parametrize("openat2", [True, False], ids=["openat2", "per-component"])
def test_a_directory_flipping_to_a_symlink_never_lets_file_tools_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openat2: bool
) -> None:
    import subprocess

    from conjure_nb.display import _beneath as beneath

    monkeypatch.setattr(beneath, "openat2_available", openat2 and beneath.openat2_available)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("SECRET from outside")
    wd = tmp_path / "wd"
    (wd / "d").mkdir(parents=True)
    (wd / "d" / "f").write_text("inside")
    os.symlink(outside, wd / "flip")
    seen: set[str] = set()
    with cj.Session.new_local(working_dir=wd) as s:
        flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(wd / "d"), str(wd / "flip")])
        try:
            for i in range(400):
                seen.add(s.run_tool("view", path="d/f").content)
                s.run_tool("create_file", path="d/new", file_text=f"write {i}", description="d")
        finally:
            flipper.kill()
            flipper.wait()
    assert not any("SECRET" in c for c in seen), "a file tool read a file outside the working dir"
    assert not (outside / "new").exists(), "create_file wrote outside the working dir"
    assert any("inside" in c for c in seen)


def test_str_replace_refuses_a_file_over_the_cap(session: cj.Session) -> None:
    from conjure_nb.executors._file_tools import MAX_EDIT_BYTES

    big = session.working_dir / "big.txt"
    with open(big, "wb") as f:
        f.truncate(MAX_EDIT_BYTES + 1)  # sparse: no disk, and no 300 MB read if it is refused
    r = session.run_tool("str_replace", path="big.txt", old_str="a", new_str="b", description="d")
    assert (
        r.is_error and f"up to {MAX_EDIT_BYTES:,} bytes" in r.content and "Nothing was changed" in r.content
    )


def test_a_hard_link_to_an_outside_file_is_refused(session: cj.Session, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("outside the working dir")
    os.link(outside, session.working_dir / "link.txt")  # what `ln` in a tool does
    for name, inp in (
        ("view", {"path": "link.txt"}),
        ("create_file", {"path": "link.txt", "file_text": "overwritten"}),
        ("str_replace", {"path": "link.txt", "old_str": "outside", "new_str": "x"}),
    ):
        r = session.run_tool(name, **inp, description="d")
        assert r.is_error and "hard links" in r.content, (name, r.content)
    assert outside.read_text() == "outside the working dir"


def test_what_local_does_not_isolate_is_stated_plainly(tmp_path: Path) -> None:
    """Issue 15 item 10: a tool reads the host's environment through /proc/$PPID/environ."""
    import subprocess

    script = (
        "import sys, conjure_nb as cj\n"
        "with cj.Session.new_local(working_dir=sys.argv[1]) as s:\n"
        "    r = s.run_tool('bash_tool', command='cat /proc/$PPID/environ', description='d')\n"
        "    print(r.content)\n"
    )
    env = {**os.environ, "CONJURE_TEST_SECRET_TOKEN": "s3cr3t"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert "CONJURE_TEST_SECRET_TOKEN=s3cr3t" in out.stdout, out.stderr  # the limit is real...
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert "/proc/$PPID/environ" in docs  # ...and the security docs say so
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "docs/security.md" in readme
