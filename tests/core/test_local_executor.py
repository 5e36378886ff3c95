"""LocalExecutor specifics: file tools, path confinement, environment, process groups."""

from __future__ import annotations

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
    marker = tmp_path / "still-alive"
    cmd = f"(sleep 3; touch {marker}) & sleep 60"
    with cj.Session.new_local(timeout=0.5) as s:
        r = s.run_tool("bash_tool", command=cmd, description="d")
    assert r.is_error and "timed out" in r.content
    import time

    time.sleep(3.5)
    assert not marker.exists()


def test_background_child_holding_the_pipe_does_not_hang(session: cj.Session) -> None:
    # the shell exits at once; its background child keeps stdout open and is killed with its group
    r = session.run_tool("bash_tool", command="sleep 300 & echo $!", description="d")
    assert not r.is_error
    pid = int(r.stdout)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (not a zombie waiting for init to reap it), polling briefly."""
    import time

    for _ in range(100):
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state == "Z":
            return False
        time.sleep(0.05)
    return True


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
