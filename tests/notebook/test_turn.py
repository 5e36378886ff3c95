"""The turn state both live views render: statuses for each sequence of events, said the same way."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.notebook._turn import Ticker, TurnState, fake_model
from conjure_nb.notebook.magics._live import LiveTurn
from conjure_nb.tools import CreatedFile, ToolCall, ToolResult
from conjure_nb.tools.events import (
    Event,
    FileCreated,
    ModelRequestStart,
    ModelRequestStop,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)

CALL = ToolCall("toolu_1", "bash_tool", {"command": "sleep 5", "description": "wait"})


def _state(*events: Event, **kw: Any) -> TurnState:
    state = TurnState(**kw)
    for event in events:
        state.apply(event)
    return state


def _done(result: ToolResult) -> ToolCallFinished:
    return ToolCallFinished(CALL, result)


OK = ToolResult("fine", duration_ms=1234.0)
FAILED = ToolResult("bad", is_error=True, exit_code=4, duration_ms=5.0)
KILLED = ToolResult("", is_error=True, exit_code=-9, duration_ms=800.0)
INTERRUPTED = ToolResult("Interrupted", is_error=True, exit_code=None, error_code="interrupted")


def test_a_started_call_runs_and_its_time_ticks() -> None:
    state = _state(ModelRequestStart(1), ToolCallStarted(CALL))
    row = state.rows["toolu_1"]
    assert (row.status, row.label, state.label, state.ticking) == ("running", "running", "running…", True)
    assert row.summary == "sleep 5" and row.duration_ms is None
    assert row.took(now=row.started + 3.4) == "3 s" and row.took(now=row.started + 7.6) == "8 s"


@pytest.mark.parametrize(
    ("result", "status", "label", "took"),
    [
        (OK, "ok", "ok", "1,234 ms"),
        (FAILED, "error", "error (exit 4)", "5 ms"),
        (INTERRUPTED, "interrupted", "interrupted", "0 ms"),
    ],
)
def test_a_finished_call_reads_its_result(result: ToolResult, status: str, label: str, took: str) -> None:
    state = _state(ToolCallStarted(CALL), _done(result))
    row = state.rows["toolu_1"]
    assert (row.status, row.label, row.took(), row.result) == (status, label, took, result)
    assert not state.ticking and not state.over


def test_a_call_waiting_for_approval_says_so_then_runs_when_answered() -> None:
    state = _state(ToolCallStarted(CALL))
    assert state.waiting("toolu_1")
    assert state.rows["toolu_1"].label == "waiting for approval" and state.ticking
    assert not state.waiting("toolu_1") and not state.waiting("toolu_unknown")
    assert state.answered("toolu_1") and state.rows["toolu_1"].label == "running"


def test_a_call_the_person_stopped_reads_stopped_not_its_exit_code() -> None:
    state = _state(ToolCallStarted(CALL))
    state.stop()
    state.apply(_done(KILLED))
    assert state.rows["toolu_1"].label == "stopped"
    state.stopped()
    assert (state.status, state.label) == ("stopped", "stopped")


def test_stopping_ends_open_calls_as_stopped_and_drops_late_text() -> None:
    other = ToolCall("toolu_2", "view", {"path": "SKILL.md"})
    state = _state(ModelRequestStart(1), TextDelta("Looking."), ToolCallStarted(CALL), ToolCallStarted(other))
    state.waiting("toolu_2")
    state.stop()
    state.apply(TextDelta(" more from a model call that outlived the Stop"))
    state.stopped()
    assert [r.label for r in state.rows.values()] == ["stopped", "stopped"]
    assert state.text == "Looking." and not state.ticking


def test_an_interrupt_ends_open_calls_as_interrupted_once() -> None:
    state = _state(ToolCallStarted(CALL))
    state.interrupted()
    row = state.rows["toolu_1"]
    assert (row.label, state.status, state.label) == ("interrupted", "interrupted", "interrupted")
    assert row.took(now=row.started + 100) == row.took(now=row.started + 200), "its time stopped ticking"
    # the loop's own "interrupted" result arriving later changes nothing, nor does a second end
    assert not state.apply(_done(INTERRUPTED))
    state.fail("late")
    assert state.status == "interrupted" and state.error is None


def test_a_failed_turn_ends_open_calls_as_errors() -> None:
    state = _state(ToolCallStarted(CALL))
    state.fail(cj.ModelError("overloaded"))
    assert state.rows["toolu_1"].label == "error" and state.label == "failed"
    assert state.error == "ModelError: overloaded"


def test_text_usage_and_files() -> None:
    f1 = CreatedFile("/w/a.txt", "a.txt", 1, None, "text/plain")
    f2 = CreatedFile("/w/a.txt", "a.txt", 2, None, "text/plain")
    state = _state(
        ModelRequestStart(1),
        TextDelta("Let me "),
        TextDelta("look."),
        ModelRequestStop(1, "tool_use", {"input_tokens": 1200, "output_tokens": 30}),
        FileCreated(f1),
        ModelRequestStart(2),
        TextDelta("Done."),
        ModelRequestStop(2, "end_turn", {"input_tokens": 1300, "output_tokens": 12, "service_tier": "x"}),
        FileCreated(f2),
    )
    assert state.texts == ["Let me look.", "Done."] and state.text == "Let me look.\n\nDone."
    assert state.current_text == "Done." and state.iteration == 2
    assert state.usage == {"input_tokens": 2500, "output_tokens": 42}
    assert state.tokens() == "2,500 in / 42 out tokens"
    assert state.files == [f2], "a file changed twice is listed once, as it is now"


def test_a_fake_models_tokens_are_not_shown() -> None:
    state = _state(ModelRequestStop(1, "end_turn", {"input_tokens": 10}), fake="scripted model, offline")
    assert state.usage == {"input_tokens": 10} and state.tokens() == ""


def test_fake_models_name_themselves() -> None:
    assert fake_model(cj.ScriptedModel([])) == "scripted model, offline"
    assert fake_model(cj.FunctionModel(lambda messages: "hi")) == "function model"
    assert fake_model(object()) is None and fake_model(None) is None


def test_the_ticker_redraws_while_ticking_then_ends() -> None:
    drawn = []
    enough = threading.Event()

    def redraw() -> None:
        drawn.append(1)
        if len(drawn) >= 3:
            enough.set()

    ticker = Ticker(lambda: not enough.is_set(), redraw, interval=0.01)
    ticker.start()
    ticker.start()  # a second start while it runs is a no-op
    assert ticker._thread is not None
    ticker._thread.join(10)
    assert not ticker._thread.is_alive() and len(drawn) == 3


# -- both views say the same thing -----------------------------------------------------------


def _panel_label(steps: list[Any], end: str | None) -> str:
    pytest.importorskip("ipywidgets")
    from conjure_nb.notebook.panels._turn_view import TurnView

    view = TurnView("go", lambda f: None)
    _drive(view.handle, view.state, steps, end)
    for row in view.rows.values():
        row.render()
    shown = str(view.rows["toolu_1"].widget.value)
    view.stopped()  # ends its ticking thread
    return shown


def _live_label(steps: list[Any], end: str | None) -> str:
    shown: list[dict[str, str]] = []
    view = LiveTurn(lambda bundle, meta: shown.append(bundle), tick=60)
    _drive(view.on_event, view.state, steps, end)
    view.refresh()
    view.close()  # ends its ticking thread
    return shown[-2]["text/html"]


def _drive(handle: Any, state: TurnState, steps: list[Any], end: str | None) -> None:
    """Events go to the view; "wait" and "stop" are what an approval prompt and a Stop do."""
    for step in steps:
        if step == "wait":
            state.waiting("toolu_1")
        elif step == "stop":
            state.stop()
        else:
            handle(step)
    if end == "interrupt":
        state.interrupted()
    elif end == "stopped":
        state.stopped()


@pytest.mark.parametrize(
    ("events", "end", "label"),
    [
        ([ToolCallStarted(CALL)], None, "running"),
        ([ToolCallStarted(CALL), "wait"], None, "waiting for approval"),
        ([ToolCallStarted(CALL), _done(OK)], None, "ok"),
        ([ToolCallStarted(CALL), _done(FAILED)], None, "error (exit 4)"),
        ([ToolCallStarted(CALL)], "interrupt", "interrupted"),
    ],
    ids=["running", "waiting", "ok", "error", "interrupted"],
)
def test_both_views_say_the_same(events: list[Any], end: str | None, label: str) -> None:
    live, panel = _live_label(events, end), _panel_label(events, end)
    assert f">{label}<" in live, live
    assert f"<b>{label}</b>" in panel, panel
    others = {"running", "waiting for approval", "interrupted", "stopped"} - {label}
    assert not [o for o in others if f">{o}<" in live or f"<b>{o}</b>" in panel]


def test_the_panel_reads_stopped_for_a_call_its_stop_killed() -> None:
    assert "<b>stopped</b>" in _panel_label([ToolCallStarted(CALL), "stop", _done(KILLED)], "stopped")
