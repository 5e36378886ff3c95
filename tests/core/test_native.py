"""Native skills: naming, the four methods, decorated functions, errors and timeouts."""

from __future__ import annotations

from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


class Store(cj.NativeSkill):
    name = "key-store"
    description = "An in-memory key/value store."

    def __init__(self) -> None:
        self.data: dict[str, str] = {"greeting": "hello\nworld\nagain"}

    def execute(self, command: str, context: cj.Context) -> Any:
        if command == "keys":
            return sorted(self.data)
        if command == "frame":
            return [{"k": k, "len": len(v)} for k, v in self.data.items()]
        raise cj.ToolError(f"unknown command {command!r}; try 'keys'")

    def read(
        self, path: str, context: cj.Context, offset: int | None = None, limit: int | None = None
    ) -> str:
        lines = self.data[path].splitlines()
        start = offset or 0
        return "\n".join(lines[start : start + limit if limit else None])

    def write(self, path: str, content: str, context: cj.Context) -> str:
        self.data[path] = content
        return "ok"

    def modify(self, path: str, old_content: str, new_content: str, context: cj.Context) -> str:
        self.data[path] = self.data[path].replace(old_content, new_content, 1)
        return "modified"


class OnlyExecute(cj.NativeSkill):
    name = "only-exec"
    description = "Executes only."

    def execute(self, command: str, context: cj.Context) -> str:
        return f"{context.skill}:{command}:{context.tool_use_id is not None}"


@cj.native_skill
def shout(command: str, context: cj.Context) -> str:
    """Shout the command back."""
    return command.upper()


def test_tools_are_named_for_overridden_methods() -> None:
    with cj.Session.new_native([Store(), OnlyExecute, shout]) as s:
        assert s.tools == [
            "key_store_execute",
            "key_store_read",
            "key_store_write",
            "key_store_modify",
            "only_exec_execute",
            "shout_execute",
            "view",  # the session's saved long outputs, so a cut result can be read
        ]
        assert "<available_native_skills>" in s.system and "An in-memory key/value store." in s.system
        assert s.run_tool("shout_execute", command="hey").content == "HEY"
        assert s.run_tool("only_exec_execute", command="x").content == "only-exec:x:True"


def test_read_write_modify() -> None:
    store = Store()
    with cj.Session.new_native([store]) as s:
        assert s.run_tool("key_store_read", path="greeting", offset=1, limit=1).content == "world"
        assert s.run_tool("key_store_write", path="k", content="v1").content == "ok"
        assert (
            s.run_tool("key_store_modify", path="k", old_content="v1", new_content="v2").content == "modified"
        )
        assert store.data["k"] == "v2"
        assert s.run_tool("key_store_execute", command="keys").content == '["greeting", "k"]'
        df = s.run_tool("key_store_execute", command="frame").dataframe
        assert df is not None and list(df["k"]) == ["greeting", "k"]


def test_tool_error_and_exceptions_become_is_error_results() -> None:
    with cj.Session.new_native([Store()]) as s:
        r = s.run_tool("key_store_execute", command="nope")
        assert r.is_error and r.content == "unknown command 'nope'; try 'keys'"
        r = s.run_tool("key_store_read", path="missing")
        assert r.is_error and "KeyError" in r.content and "missing" in r.content
        r = s.run_tool("key_store_read", path="greeting", offset="x")
        assert r.is_error and "must be integer" in r.content


def test_per_call_timeout() -> None:
    import time

    @cj.native_skill(name="slow", description="Sleeps.")
    def slow(command: str, context: cj.Context) -> str:
        time.sleep(float(command))
        return "done"

    with cj.Session.new_native([slow], timeout=0.3) as s:
        r = s.run_tool("slow_execute", command="5")
        assert r.is_error and "timed out after 0.3 s" in r.content
        assert s.run_tool("slow_execute", command="0").content == "done"


def test_bad_native_skills_are_rejected_clearly() -> None:
    class Nameless(cj.NativeSkill):
        def execute(self, command: str, context: cj.Context) -> str:
            return ""

    class Idle(cj.NativeSkill):
        name = "idle"

    with pytest.raises(cj.UsageError, match="no name"):
        cj.Session.new_native([Nameless()])
    with pytest.raises(cj.UsageError, match="overrides none"):
        cj.Session.new_native([Idle()])
    with pytest.raises(cj.UsageError, match="not a native skill"):
        cj.Session.new_native([object()])
    with pytest.raises(cj.UsageError, match="both define"):
        cj.Session.new_native([OnlyExecute(), OnlyExecute()])


def test_native_session_with_a_model() -> None:
    model = S([S.reply(S.tool_use("key_store_execute", command="keys")), "there are keys"])
    with cj.Session.new_native([Store()], model) as s:
        r = s.chat("list keys")
    assert r.text == "there are keys" and r.tool_calls[0].backend == "native"
    assert "key_store_execute" in [t["name"] for t in model.requests[0].tools]
