"""A session starts from a saved state through its constructor (`state=`), as `Session.load` does."""

from __future__ import annotations

from pathlib import Path

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


def _worked(tmp_path: Path) -> cj.Session:
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi > made.txt", description="d")), "done"])
    s = cj.Session.new_local(
        model=model, working_dir=tmp_path / "first", executor=cj.ApprovalExecutor(cj.LocalExecutor(), "allow")
    )
    s.chat("make a file")
    return s


def test_a_session_continues_from_another_ones_state(tmp_path: Path) -> None:
    with _worked(tmp_path) as first:
        saved = first.to_dict()
        with cj.Session.new_local(model=S(["again"]), working_dir=tmp_path / "second", state=saved) as again:
            assert again.messages == first.messages and again.usage == first.usage
            assert [r.tool for r in again.tool_log] == ["bash_tool"]
            assert [(a.tool, a.decision) for a in again.approvals] == [("bash_tool", "allow")]
            (made,) = again.created_files
            assert made.path == str(tmp_path / "second" / "made.txt"), "a file's place is its name here"
            again.chat("more")
            assert len(again.messages) == len(first.messages) + 2
            assert len(first.messages) == 4, "the state was copied: the first session's history is its own"
            assert again.id != first.id


def test_load_is_the_constructor_with_the_files_state(tmp_path: Path) -> None:
    with _worked(tmp_path) as first:
        path = first.save(tmp_path / "s.json")
        expected = first.to_dict()
    with cj.Session.load(path, backend="local", working_dir=tmp_path / "first") as loaded:
        got = loaded.to_dict()
    assert {k: v for k, v in got.items() if k != "id"} == {k: v for k, v in expected.items() if k != "id"}


def test_a_bad_state_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(cj.UsageError, match="'messages'"):
        cj.Session.new_local(working_dir=tmp_path / "wd", state={"version": 1, "messages": "hello"})
    assert not (tmp_path / "wd").exists()
