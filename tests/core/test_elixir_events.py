"""The Elixir library's telemetry events exist: conversation, per-backend, per-tool executor, init/cleanup."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup

S = cj.ScriptedModel
Seen = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"


@pytest.fixture
def seen() -> Iterator[Seen]:
    """Every event conjure_nb emits, recorded while the test runs."""
    got: Seen = []
    names = [
        tuple({"<backend>": b, "<op>": op}.get(p, p) for p in info.name)
        for info in cj.telemetry.CATALOG
        for b in ("local", "native", "custom")
        for op in ("bash", "view", "create_file", "str_replace", "shout_execute")
    ]
    cj.telemetry.attach("t-elixir", set(names), lambda e, m, md: got.append((e, m, md)))
    yield got
    cj.telemetry.detach("t-elixir")


def named(seen: Seen, *event: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(m, md) for e, m, md in seen if e == event]


def test_a_local_turn_emits_iterations_tool_calls_and_per_tool_events(seen: Seen, tmp_path: Path) -> None:
    calls = [
        S.tool_use("bash_tool", command="echo hi", description="d"),
        S.tool_use("create_file", path="a.txt", file_text="one\n", description="d"),
        S.tool_use("str_replace", path="a.txt", old_str="one", new_str="two", description="d"),
        S.tool_use("view", path="a.txt"),
    ]
    model = S([*(S.reply(c) for c in calls), "done"])  # one at a time: they depend on each other
    with cj.Session.new_local(model=model, working_dir=tmp_path) as s:
        s.chat("go")
        sid = s.id
    assert [m["iteration"] for m, _ in named(seen, "conjure", "conversation", "iteration")] == [1, 2, 3, 4, 5]
    assert [m["iteration"] for m, _ in named(seen, "conjure", "backend", "local", "iteration")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    tool_calls = named(seen, "conjure", "conversation", "tool_call")
    assert sorted(md["tool"] for _, md in tool_calls) == ["bash_tool", "create_file", "str_replace", "view"]
    assert all(md["success"] and md["session"] == sid and m["duration_ms"] >= 0 for m, md in tool_calls)
    assert len(named(seen, "conjure", "backend", "local", "tool_call")) == 4
    for op, tool in [
        ("bash", "bash_tool"),
        ("view", "view"),
        ("create_file", "create_file"),
        ("str_replace", "str_replace"),
    ]:
        ((start, start_meta),) = named(seen, "conjure", "executor", op, "start")
        ((stop, stop_meta),) = named(seen, "conjure", "executor", op)
        assert start_meta["tool"] == stop_meta["tool"] == tool and "system_time" in start
        assert stop_meta["status"] == "ok" and stop_meta["executor"] == "LocalExecutor"
        assert stop["duration_ms"] >= 0 and stop_meta["backend"] == "local"
    ((init, init_meta),) = named(seen, "conjure", "executor", "init")
    ((_, cleanup_meta),) = named(seen, "conjure", "executor", "cleanup")
    assert init_meta["session"] == cleanup_meta["session"] == sid and "system_time" in init
    names = [e for e, _, _ in seen]
    assert names.index(("conjure", "executor", "init")) < names.index(
        ("conjure", "conversation", "iteration")
    )
    assert names[-1] == ("conjure", "executor", "cleanup")
    assert (req := named(seen, "conjure", "model", "request")) and req[0][1]["session"] == sid


def test_a_failing_and_a_timed_out_command_report_their_status(seen: Seen) -> None:
    with cj.Session.new_local(timeout=1) as s:
        s.run_tool("bash_tool", command="exit 3", description="d")
        s.run_tool("bash_tool", command="sleep 5", description="d")
    assert [md["status"] for _, md in named(seen, "conjure", "executor", "bash")] == ["error", "timeout"]
    assert [md["success"] for _, md in named(seen, "conjure", "conversation", "tool_call")] == [False, False]
    assert s.tool_log[1].error_code == "timeout"


class Crashing(cj.LocalExecutor):
    def run(self, call: cj.ToolCall) -> cj.ToolResult:
        raise RuntimeError("the backend fell over")


def test_an_executor_crash_emits_execute_exception_and_the_model_gets_an_error(seen: Seen) -> None:
    with cj.Session.new_local(executor=Crashing()) as s:
        result = s.run_tool("bash_tool", command="echo hi", description="d")
    assert result.is_error and result.error_code == "executor_error" and "fell over" in result.content
    ((m, md),) = named(seen, "conjure", "execute", "exception")
    assert "fell over" in md["error"] and md["tool"] == "bash_tool" and m["duration_ms"] >= 0
    assert named(seen, "conjure", "execute", "stop") == []
    assert [md["status"] for _, md in named(seen, "conjure", "executor", "bash")] == ["error"]


def test_native_sessions_emit_the_native_backend_events(seen: Seen) -> None:
    @cj.native_skill
    def shout(command: str, context: cj.Context) -> str:
        """Shout it."""
        return command.upper()

    model = S([S.reply(S.tool_use("shout_execute", command="hey")), "HEY"])
    with cj.Session.new_native([shout], model=model) as s:
        s.chat("go")
    ((_, md),) = named(seen, "conjure", "backend", "native", "tool_call")
    assert md["tool"] == "shout_execute" and md["success"] is True
    assert len(named(seen, "conjure", "backend", "native", "iteration")) == 2
    assert named(seen, "conjure", "executor", "shout_execute")[0][1]["executor"] == "NativeExecutor"


def test_a_failed_setup_emits_no_init_and_no_cleanup(seen: Seen) -> None:
    class Broken(cj.LocalExecutor):
        def setup(self, setup: ExecutorSetup) -> None:
            raise cj.ExecutorError("cannot start")

    with pytest.raises(cj.ExecutorError):
        cj.Session.new_local(executor=Broken())
    assert named(seen, "conjure", "executor", "init") == named(seen, "conjure", "executor", "cleanup") == []


def test_the_session_still_shows_the_executor_it_was_given() -> None:
    executor = cj.LocalExecutor()
    with cj.Session.new_local(executor=executor) as s:
        assert s.executor is executor
        wrapper = cj.require_approval(s, "allow")
        assert s.executor is wrapper and wrapper.inner is executor
        assert s.run_tool("bash_tool", command="echo ok", description="d").content == "ok\n"


def test_docs_telemetry_lists_every_event_in_one_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `(")]
    documented = {re.sub(r"\s+", "", row.split("|")[1].strip().strip("`")) for row in rows}
    for info in cj.telemetry.CATALOG:
        name = "(" + ",".join(f'"{p}"' for p in info.name) + ")"
        assert name in documented, f"{info.name} is missing from docs/telemetry.md"
    assert len(rows) == len(cj.telemetry.CATALOG)
    for elixir in ("[:conjure, :conversation, :iteration]", "[:conjure, :executor, :init]"):
        assert elixir in text
