"""A model can read what it was given: the cut note names a way this session has, and tool_log holds results."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors._base import Executor

S = cj.ScriptedModel


@cj.native_skill(name="dump", description="Print a lot.")
def dump(command: str, context: cj.Context) -> str:
    return "".join(f"record {i}\n" for i in range(20_000))


def _saved_path(content: str) -> str:
    found = re.search(r"all of it is in (\S+) \(", content)
    assert found, content[-400:]
    return found.group(1)


def test_a_native_session_is_told_to_use_view_and_can_read_the_rest() -> None:
    def model(messages: list[dict[str, Any]]) -> dict[str, Any]:
        last = messages[-1]["content"][-1]
        if last.get("type") == "text":
            return S.reply(S.tool_use("dump_execute", command="all"))
        if "all of it is in" in str(last.get("content")):
            path = _saved_path(last["content"])
            return S.reply(S.tool_use("view", path=path, view_range=[19_999, 20_000]))
        return S.reply(f"the tail reads: {last['content']}")

    with cj.Session.new_native([dump], model, max_output=2_000) as s:
        r = s.chat("fetch everything")
        cut = s.tool_log[0].result
        assert cut is not None and cut.output_file is not None
        assert "read it with view and view_range)" in cut.content and "bash" not in cut.content
        assert "record 19999" in r.text and not s.tool_log[1].is_error
        outside = s.run_tool("view", path=str(s.working_dir / "elsewhere.txt"))
        assert outside.is_error and "not a saved output" in outside.content
        assert s.run_tool("view", path="/etc/hostname").is_error


def test_a_local_session_is_told_about_view_and_bash_tool() -> None:
    with cj.Session.new_local(max_output=1_000) as s:
        r = s.run_tool("bash_tool", command="seq 1 20000", description="d")
        assert "read it with view and view_range, or with bash_tool: head, tail, grep, python)" in r.content


class OnlyPing(Executor):
    """A user's executor with one tool of its own and no way to read files."""

    backend = "pinger"

    def tool_definitions(self) -> list[dict[str, Any]]:
        return [
            {"name": "ping", "description": "Ping.", "input_schema": {"type": "object", "properties": {}}}
        ]

    def run(self, call: cj.ToolCall) -> cj.ToolResult:
        return cj.ToolResult("pong " * 2_000)


def test_a_session_without_file_tools_is_not_sent_to_tools_it_lacks() -> None:
    with cj.Session.new_local(executor=OnlyPing(), max_output=1_000) as s:
        r = s.run_tool("ping")
        assert "no tool that reads files" in r.content and "view" not in r.content
        assert r.output_file is not None and Path(r.output_file).read_text() == "pong " * 2_000


def test_tool_log_holds_each_result_and_the_response_too() -> None:
    model = S([S.reply(S.tool_use("bash_tool", command="echo '[{\"a\": 1}]'", description="d")), "ok"])
    with cj.Session.new_local(model=model) as s:
        r = s.chat("go")
        direct = s.run_tool("bash_tool", command="echo direct; exit 2", description="d")
        first, second = s.tool_log
    assert first.result is not None and first.result is r.tool_calls[0].result
    assert first.result.stdout == '[{"a": 1}]\n' and first.result.dataframe is not None
    assert second.result is direct and second.result.exit_code == 2 and "direct" in second.result.stdout


def test_results_round_trip_through_save_and_load_without_stdout(tmp_path: Path) -> None:
    with cj.Session.new_local(working_dir=tmp_path / "one", max_output=1_000) as s:
        s.run_tool("bash_tool", command="seq 1 5000", description="d")
        s.run_tool("bash_tool", command="echo small; echo oops >&2; exit 4", description="d")
        saved = s.save(tmp_path / "s.json")
        before = [rec.result for rec in s.tool_log]
    data = json.loads(saved.read_text())
    assert set(data["tool_log"][0]["result"]) == {
        "content", "is_error", "exit_code", "duration_ms", "tool_use_id", "error_code", "output_file",
    }  # fmt: skip
    with cj.Session.load(saved, backend="local", working_dir=tmp_path / "two") as again:
        big, failed = (rec.result for rec in again.tool_log)
        assert big is not None and failed is not None and before[0] is not None and before[1] is not None
        assert big.content == before[0].content and big.stdout == ""
        assert big.output_file == str(
            again.working_dir / Path(before[0].output_file or "").relative_to(tmp_path / "one")
        )
        assert (failed.is_error, failed.exit_code, failed.content) == (True, 4, before[1].content)


@pytest.mark.parametrize(
    "recorded", ["/etc/passwd", "../../.ssh/id_rsa", "/x/.conjure/output/../../../etc/passwd"]
)
def test_a_crafted_output_file_never_points_outside_the_working_dir(tmp_path: Path, recorded: str) -> None:
    state = {
        "version": 1,
        "backend": "local",
        "messages": [],
        "tool_log": [
            {
                "tool": "bash_tool", "input": {}, "is_error": False, "exit_code": 0, "duration_ms": 1.0,
                "backend": "local", "result": {"content": "x", "output_file": recorded},
            }
        ],
    }  # fmt: skip
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps(state))
    with cj.Session.load(path, backend="local") as s:
        result = s.tool_log[0].result
        assert result is not None
        out = result.output_file
        assert out is None or Path(out).resolve().is_relative_to(s.working_dir / ".conjure" / "output")


def test_a_result_that_is_not_an_object_is_refused_by_field(tmp_path: Path) -> None:
    state = {"version": 1, "backend": "local", "tool_log": [
        {"tool": "t", "input": {}, "is_error": False, "exit_code": 0, "duration_ms": 1, "backend": "local",
         "result": {"content": 3}},
    ]}  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(state))
    with pytest.raises(cj.UsageError, match=r"tool_log\[0\]\.result\.content"):
        cj.Session.load(path, backend="local")
