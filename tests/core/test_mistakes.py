"""Mistakes and bad input get errors that say what to do; nothing leaks when setup fails."""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup

S = cj.ScriptedModel


class FailingSetup(cj.LocalExecutor):
    closed = 0

    def setup(self, setup: ExecutorSetup) -> None:
        super().setup(setup)
        raise cj.ExecutorError("the backend could not start")

    def close(self) -> None:
        type(self).closed += 1
        super().close()


def _session_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "conjure-*")))


def test_a_failing_executor_setup_leaves_no_working_dir_and_closes_the_executor() -> None:
    before = _session_dirs()
    with pytest.raises(cj.ExecutorError, match="could not start"):
        cj.Session.new_local(executor=FailingSetup())
    assert _session_dirs() == before
    assert FailingSetup.closed == 1


def test_an_executor_class_is_accepted_and_a_wrong_object_named() -> None:
    with cj.Session.new_local(executor=cj.LocalExecutor) as s:  # type: ignore[arg-type]
        assert s.run_tool("bash_tool", command="echo ok", description="d").content == "ok\n"
    with pytest.raises(
        TypeError, match=r"executor must be an Executor instance such as cj\.LocalExecutor\(\)"
    ):
        cj.Session.new_local(executor="docker")  # type: ignore[arg-type]


def test_a_callback_passed_to_chat_says_to_give_the_model_to_the_session() -> None:
    def api_callback(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"content": "hi"}

    with cj.Session.new_local() as s:
        with pytest.raises(cj.UsageError, match="pass the model when you make the session"):
            s.chat("hello", api_callback)  # type: ignore[arg-type]
        assert s.messages == []


def test_a_telemetry_handler_with_the_wrong_parameters_is_refused_when_attached() -> None:
    with pytest.raises(cj.UsageError, match=r"handler\(event, measurements, metadata\)"):
        cj.telemetry.attach("two-args", [("conjure", "chat", "start")], lambda event, data: None)  # type: ignore[arg-type, misc]
    assert "two-args" not in cj.telemetry.handlers()
    cj.telemetry.attach("kw", [("conjure", "chat", "start")], lambda *a, **k: None)
    assert cj.telemetry.detach("kw")


def test_run_tool_on_a_closed_session_says_it_is_closed() -> None:
    s = cj.Session.new_local()
    s.close()
    with pytest.raises(cj.UsageError, match="is closed"):
        s.run_tool("bash_tool", command="echo hi", description="d")


@pytest.mark.parametrize(
    "content",
    [
        [None],
        ["plain string"],
        [{"type": "text", "text": None}],
        [{"type": "tool_use", "id": None, "name": "bash_tool", "input": {}}],
        [{"no": "type"}],
        42,
    ],
)
def test_a_malformed_reply_is_a_model_error_and_the_history_stays_valid(content: Any) -> None:
    replies = [{"content": content, "stop_reason": "end_turn"}, "fine"]

    def model(messages: list[dict[str, Any]]) -> Any:
        return replies.pop(0)

    with cj.Session.new_local(model=model) as s:
        with pytest.raises(cj.ModelError, match=r"malformed|expected a list|content"):
            s.chat("first")
        assert [m["role"] for m in s.messages] == ["user"]  # the bad reply never entered it
        assert s.chat("second").text == "fine"
        assert [m["role"] for m in s.messages] == ["user", "assistant"]


def test_a_reply_that_is_not_a_dict_is_a_model_error() -> None:
    class Odd:
        def request(self, req: cj.ModelRequest) -> Any:
            return ["not", "a", "dict"]

        async def arequest(self, req: cj.ModelRequest) -> Any:
            return None

    with cj.Session.new_local(model=Odd()) as s:
        with pytest.raises(cj.ModelError):
            s.chat("x")
        import asyncio

        with pytest.raises(cj.ModelError):
            asyncio.run(s.achat("y"))
        assert [m["role"] for m in s.messages] == ["user"]


def test_downloads_after_close_say_why_or_still_work(tmp_path: Path) -> None:
    make = S.tool_use("bash_tool", command="echo r > report.txt", description="d")
    with cj.Session.new_local(model=S([S.reply(make), "ok"])) as s:
        s.chat("go")
    with pytest.raises(cj.UsageError, match="before close"):
        s.download_files(tmp_path / "out")
    with cj.Session.new_local(model=S([S.reply(make), "ok"]), working_dir=tmp_path / "wd") as kept:
        kept.chat("go")
    (copied,) = kept.download_files(tmp_path / "out2")
    assert copied.read_text() == "r\n"


def test_a_created_file_that_is_gone_is_named_in_a_warning(tmp_path: Path) -> None:
    make = S.tool_use("bash_tool", command="echo r > a.txt; echo s > b.txt", description="d")
    with cj.Session.new_local(model=S([S.reply(make), "ok"])) as s:
        s.chat("go")
        (s.working_dir / "a.txt").unlink()
        with pytest.warns(UserWarning, match=r"1 created file\(s\) not copied: a\.txt"):
            written = s.download_files(tmp_path / "out")
        assert [p.name for p in written] == ["b.txt"]


class BrokenCopyOut(cj.LocalExecutor):
    def sync_out(self) -> None:
        raise cj.ExecutorError("get_archive failed")


def test_a_failed_copy_out_warns_and_shows_in_the_tool_log() -> None:
    with cj.Session.new_local(executor=BrokenCopyOut()) as s:
        with pytest.warns(UserWarning, match="could not copy the files"):
            result = s.run_tool("bash_tool", command="echo hi > a.txt", description="d")
        assert not result.is_error  # the tool's own result is kept
        assert s.tool_log[-1].error_code == "copy_out_failed"
