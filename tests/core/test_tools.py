"""Tool schemas, and what a broken or custom executor means for the loop."""

from __future__ import annotations

from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup
from conjure_nb.tools import check_input

S = cj.ScriptedModel


def test_tool_definitions_match_the_reference() -> None:
    tools = {t["name"]: t for t in cj.tool_definitions()}
    assert list(tools) == ["view", "bash_tool", "create_file", "str_replace"]
    assert tools["view"]["input_schema"]["required"] == ["path"]
    assert tools["bash_tool"]["input_schema"]["required"] == ["command", "description"]
    assert tools["create_file"]["input_schema"]["required"] == ["path", "file_text", "description"]
    assert tools["str_replace"]["input_schema"]["required"] == ["path", "old_str", "description"]
    assert "new_str" in tools["str_replace"]["input_schema"]["properties"]


def test_only_and_except_and_fresh_copies() -> None:
    assert [t["name"] for t in cj.tool_definitions(only=["bash_tool", "view"])] == ["view", "bash_tool"]
    assert [t["name"] for t in cj.tool_definitions(except_=["bash_tool"])] == [
        "view",
        "create_file",
        "str_replace",
    ]
    cj.tool_definitions()[0]["name"] = "changed"
    assert cj.tool_definitions()[0]["name"] == "view"
    with pytest.raises(cj.UsageError, match="unknown tool name"):
        cj.tool_definitions(only=["shell"])


def test_check_input() -> None:
    bash = cj.tool_definitions(only=["bash_tool"])[0]
    assert check_input(bash, {"command": "ls", "description": "d"}) is None
    assert "missing" in (check_input(bash, {"command": "ls"}) or "")
    assert "must be string" in (check_input(bash, {"command": ["ls"], "description": "d"}) or "")
    view = cj.tool_definitions(only=["view"])[0]
    assert "must be array" in (check_input(view, {"path": "x", "view_range": "1-2"}) or "")
    assert "JSON object" in (check_input(view, ["x"]) or "")


class Exploding(cj.Executor):
    backend = "exploding"

    def run(self, call: cj.ToolCall) -> cj.ToolResult:
        raise RuntimeError("the backend caught fire")

    def tool_definitions(self) -> list[dict[str, object]]:
        return cj.tool_definitions(only=["bash_tool"])


def test_an_executor_failure_is_an_error_result_not_a_crash() -> None:
    model = S([S.reply(S.tool_use("bash_tool", command="ls", description="d")), "handled"])
    with cj.Session((), model, executor=Exploding()) as s:
        r = s.chat("go")
    assert r.text == "handled"
    record = r.tool_calls[0]
    assert record.is_error and record.error_code == "executor_error" and record.backend == "exploding"
    result = r.messages[2]["content"][0]
    assert r.messages[0] == {"role": "user", "content": [{"type": "text", "text": "go"}]}
    assert result["is_error"] and "RuntimeError: the backend caught fire" in result["content"]


def test_dataclasses_with_many_fields_are_built_by_keyword() -> None:
    with pytest.raises(TypeError):
        cj.ToolResult("out", True, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        cj.ToolCallRecord("bash_tool", {}, False)  # type: ignore[misc]
    with pytest.raises(TypeError):
        ExecutorSetup("s", Path("."), [], 5.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        cj.ModelRequest([], "system")  # type: ignore[misc]
    assert cj.ToolResult("out", is_error=True, exit_code=1).exit_code == 1
