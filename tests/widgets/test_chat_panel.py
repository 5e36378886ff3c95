"""The ChatPanel, headless: set values, click buttons, wait for the worker, read widget state."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.models._base import BaseModel, ModelRequest
from conjure_nb.notebook.panels import ChatPanel
from conjure_nb.notebook.panels._pricing import Price

from .conftest import S, tool_pairs_consistent, wait_until

MakeSession = Callable[..., cj.Session]
TABLE_CMD = 'echo \'[{"host": "web-1", "errors": 3}, {"host": "web-2", "errors": 0}]\''


def _user_messages(session: cj.Session) -> list[dict[str, Any]]:
    return [m for m in session.messages if m["role"] == "user" and m["content"][0].get("type") == "text"]


def _submit(panel: ChatPanel) -> None:
    """What the browser sends when Enter is pressed in the message box."""
    panel.message._handle_custom_msg({"event": "submit"}, [])


def test_send_streams_runs_tools_and_renders_the_reply(local_session: MakeSession) -> None:
    model = S(
        [
            S.reply("Let me count.", S.tool_use("bash_tool", command=TABLE_CMD, description="table")),
            "Two hosts; **web-1** has 3 errors.",
        ]
    )
    panel = ChatPanel(local_session(model))
    panel.message.value = "How many errors?"
    panel.send_button.click()
    response = panel.wait(timeout=120)

    assert response is not None and response.text == "Two hosts; **web-1** has 3 errors."
    assert panel.message.value == "" and not panel.busy and not panel.send_button.disabled
    assert panel.stop_button.disabled
    turn = panel.turns[0]
    assert "How many errors?" in turn.user.value
    (row,) = turn.rows.values()
    assert (row.tool, row.status) == ("bash_tool", "ok")
    assert "web-1" in row.widget.value and "<table" in row.widget.value, "a table output renders as a table"
    assert "2 rows × 2 columns" in row.widget.value
    # the text written before the tool call stays, in order, above the final answer
    first_note = turn.activity.children[0]
    assert first_note.outputs[0]["data"]["text/html"] == "<p>Let me count.</p>\n"
    shown = turn.reply.outputs[0]["data"]
    assert "web-1" in str(shown) and "1 tool call(s)" in str(shown)
    assert panel.errors == []
    # a fake model is named, and its made-up token counts are not shown as usage or cost
    assert "scripted model, offline" in panel.footer.value and "tokens" not in panel.footer.value
    assert "scripted model, offline" in str(shown) and "Tokens" not in str(shown), "named in the answer too"


class Relay(BaseModel):
    """A stand-in for a real model (not a ScriptedModel): replies with the usage it is given."""

    def __init__(self, usage: dict[str, int]) -> None:
        self.usage = usage

    def request(self, req: ModelRequest) -> dict[str, Any]:
        return {
            "content": [{"type": "text", "text": "hi"}],
            "usage": dict(self.usage),
            "stop_reason": "end_turn",
        }


class Gate(BaseModel):
    """A model that streams part of its answer, then waits for the test to let it finish."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.streamed = threading.Event()
        self.requests = 0

    def request(self, req: ModelRequest) -> dict[str, Any]:
        self.requests += 1
        if req.on_text is not None:
            req.on_text("The answer is")
            self.streamed.set()
            self.release.wait(20)
            req.on_text(" forty-two.")
        return {"content": [{"type": "text", "text": "The answer is forty-two."}], "usage": {}}


def test_the_answer_streams_and_send_is_disabled_while_a_turn_runs(local_session: MakeSession) -> None:
    model = Gate()
    session = local_session(model)
    panel = ChatPanel(session)
    panel.message.value = "question"
    panel.send_button.click()
    assert model.streamed.wait(20)
    turn = panel.turns[0]
    wait_until(lambda: "The answer is" in turn.answer.value, "the streamed text")
    assert panel.busy and panel.send_button.disabled and not panel.stop_button.disabled

    # a second click, Enter, or a direct call while the turn runs: nothing is sent
    panel.message.value = "second question"
    panel.send_button.click()
    _submit(panel)
    assert panel.chat("third") is False
    assert panel.message.value == "second question", "what the user typed meanwhile is kept"

    model.release.set()
    panel.wait(timeout=120)
    assert model.requests == 1 and len(panel.turns) == 1
    assert len(_user_messages(session)) == 1
    assert panel.errors == [], "the core's one-turn guard is never what a user meets"
    assert turn.answer.value == "" and "forty-two" in str(turn.reply.outputs)


def test_enter_and_click_send_the_message_exactly_once(local_session: MakeSession) -> None:
    model = S(["one reply"])
    session = local_session(model)
    panel = ChatPanel(session)
    panel.message.value = "hello"
    _submit(panel)
    panel.send_button.click()  # the same message, clicked right after Enter
    panel.wait(timeout=120)
    assert len(model.requests) == 1
    assert len(_user_messages(session)) == 1 and len(panel.turns) == 1
    assert panel.errors == []


def test_an_empty_message_is_not_sent(local_session: MakeSession) -> None:
    model = S(["never"])
    panel = ChatPanel(local_session(model))
    panel.message.value = "   "
    panel.send_button.click()
    assert panel.turns == [] and model.requests == []


def test_stop_during_a_long_tool_cancels_cleanly(local_session: MakeSession) -> None:
    model = S(
        [
            S.reply(S.tool_use("bash_tool", command="echo $$ > pid; sleep 60", description="long")),
            "after the stop",
        ]
    )
    session = local_session(model, timeout=120)
    panel = ChatPanel(session)
    panel.chat("run the long thing")
    turn = panel.turns[0]
    wait_until(lambda: any(r.status == "running" for r in turn.rows.values()), "the running tool row")
    pid_file = session.working_dir / "pid"
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), "the tool's shell")
    pid = int(pid_file.read_text())
    row = next(iter(turn.rows.values()))
    wait_until(lambda: " · 1 s" in row.widget.value, "the elapsed time ticking while the tool runs")
    panel.stop_button.click()
    assert panel.wait(timeout=120) is None
    assert "Stopped by you" in turn.status.value
    assert row.status == "stopped" and "<b>stopped</b>" in row.widget.value, row.widget.value
    head = row.widget.value.split("<details", 1)[0]  # the row's line; the folded result keeps its facts
    assert "exit -9" not in head and "error" not in head, head
    assert not panel.busy and not panel.send_button.disabled and panel.stop_button.disabled
    assert tool_pairs_consistent(session.messages)
    results = [b for m in session.messages for b in m["content"] if b.get("type") == "tool_result"]
    assert results and all(r["is_error"] for r in results)
    assert panel.errors == []
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the running tool was killed, not left behind
    # the session still works: the next message gets the next scripted reply
    panel.chat("and now?")
    assert panel.wait(timeout=120) is not None
    assert panel.responses[-1].text == "after the stop"


def test_approve_and_deny_in_the_panel(local_session: MakeSession) -> None:
    model = S(
        [
            S.reply(S.tool_use("bash_tool", command="echo approved-run > a.txt; cat a.txt", description="a")),
            "first done",
            S.reply(S.tool_use("bash_tool", command="echo denied-run > d.txt", description="d")),
            lambda req: f"model saw: {req.messages[-1]['content'][0]['content'][:40]}",
        ]
    )
    session = local_session(model)
    panel = ChatPanel(session, approvals={"bash_tool": "ask"})

    panel.chat("write a")
    card = wait_until(lambda: panel.pending_approvals, "an approval card")[0]
    assert "echo approved-run &gt; a.txt" in card.header.value, "the full input is shown"
    assert "waiting for you" in card.header.value
    (waiting,) = panel.turns[0].rows.values()
    assert waiting.status == "waiting" and "waiting for approval" in waiting.widget.value
    card.approve_button.click()
    assert panel.wait(timeout=120) is not None
    assert (session.working_dir / "a.txt").read_text() == "approved-run\n"
    assert card.approve_button.disabled and card.deny_button.disabled and "approved" in card.header.value

    panel.chat("write d")
    card = wait_until(lambda: panel.pending_approvals, "a second approval card")[0]
    card.deny_button.click()
    response = panel.wait(timeout=120)
    assert response is not None and response.text.startswith("model saw: The user denied this tool call")
    assert not (session.working_dir / "d.txt").exists()
    row = next(iter(panel.turns[1].rows.values()))
    assert row.status == "error" and "denied" in card.header.value
    assert panel.pending_approvals == []


def test_stop_while_an_approval_waits_denies_it(local_session: MakeSession) -> None:
    model = S([S.reply(S.tool_use("bash_tool", command="touch never.txt", description="x")), "unused"])
    session = local_session(model)
    panel = ChatPanel(session, approvals="ask")
    panel.chat("go")
    card = wait_until(lambda: panel.pending_approvals, "an approval card")[0]
    panel.stop()
    panel.wait(timeout=120)
    assert not card.request.pending and card.request.approved is False
    assert card.approve_button.disabled
    assert not (session.working_dir / "never.txt").exists()
    assert tool_pairs_consistent(session.messages)


def test_errors_are_shown_and_kept(local_session: MakeSession) -> None:
    model = S(["the only reply"])
    panel = ChatPanel(local_session(model))
    panel.chat("one")
    panel.wait(timeout=120)
    panel.chat("two")  # the scripted model has no reply left: a ModelError
    assert panel.wait(timeout=120) is None
    (error,) = panel.errors
    assert isinstance(error, cj.ModelError)
    assert "ModelError" in panel.turns[1].status.value and "ran out of replies" in panel.turns[1].status.value
    assert not panel.busy and not panel.send_button.disabled


def test_footer_prices_a_priced_model_and_says_unknown_otherwise(local_session: MakeSession) -> None:
    model = Relay({"input_tokens": 1_000_000, "output_tokens": 100_000})
    priced = ChatPanel(
        local_session(model), prices={"fake-model": Price(input=3.0, output=15.0)}, model_id="fake-model"
    )
    priced.chat("hello")
    priced.wait(timeout=120)
    assert "this turn: 1,000,000 in / 100,000 out tokens, $4.50" in priced.footer.value
    assert "session: 1,000,000 in / 100,000 out tokens, $4.50" in priced.footer.value
    assert "estimated at fake-model list prices" in priced.footer.value

    unpriced = ChatPanel(local_session(Relay({"input_tokens": 10, "output_tokens": 5})))
    unpriced.chat("hello")
    unpriced.wait(timeout=120)
    assert "unknown" in unpriced.footer.value and "$" not in unpriced.footer.value
    assert "no price for this model" in unpriced.footer.value


def test_built_from_skills_with_backend_and_model_pickers() -> None:
    first, second = S(["from the first model"]), S(["from the second model"])
    panel = ChatPanel(skills=[], backend="local", models={"first": first, "second": second})
    try:
        assert panel.backend_picker is not None and panel.model_picker is not None
        assert panel.session is None
        panel.chat("hi")
        assert panel.wait(timeout=120) is not None
        session = panel.session
        assert session is not None and session.backend == "local" and session.model is first
        panel.model_picker.value = "second"
        assert session.model is second
        panel.chat("again")
        assert panel.wait(timeout=120) is not None
        assert panel.responses[-1].text == "from the second model"
        assert len(session.messages) == 4, "the history carries over a model change"
        panel.backend_picker.value = "docker"
        assert session.closed and panel.session is None
    finally:
        panel.close()


def test_wait_times_out_while_a_turn_runs(local_session: MakeSession) -> None:
    model = Gate()
    panel = ChatPanel(local_session(model))
    panel.chat("q")
    assert model.streamed.wait(20)
    with pytest.raises(TimeoutError, match="still running"):
        panel.wait(timeout=0.01)
    model.release.set()
    assert panel.wait(timeout=120) is not None


def test_stop_while_the_model_is_answering(local_session: MakeSession) -> None:
    model = Gate()
    session = local_session(model)
    panel = ChatPanel(session)
    panel.chat("question")
    assert model.streamed.wait(20)
    panel.stop()
    model.release.set()  # the model call ends on its own; its late text must not reach the panel
    assert panel.wait(timeout=120) is None
    turn = panel.turns[0]
    assert "Stopped by you" in turn.status.value and "forty-two" not in turn.answer.value
    assert [m["role"] for m in session.messages] == ["user"], "no half answer in the history"
    assert panel.errors == [] and not panel.busy


def test_a_closed_panel_no_longer_answers_approvals(local_session: MakeSession) -> None:
    model = S(["hello", S.reply(S.tool_use("bash_tool", command="touch x", description="x")), "ok"])
    session = local_session(model)
    panel = ChatPanel(session, approvals="ask")
    panel.chat("hi")
    panel.wait(timeout=120)
    panel.close()
    assert session.chat("go").text == "ok"  # asks nobody, so the call is denied instead of hanging
    result = session.messages[4]["content"][0]
    assert result["is_error"] is True and "no one was asked" in result["content"]
    assert not (session.working_dir / "x").exists()


class TwoStep(BaseModel):
    """A stand-in for a real model: a tool call (100 in / 10 out), then the answer (50 in / 5 out)."""

    def request(self, req: ModelRequest) -> dict[str, Any]:
        if not any(b.get("type") == "tool_result" for b in req.messages[-1]["content"]):
            call = S.tool_use("bash_tool", command="sleep 3; echo done", description="wait")
            return {
                "content": [call],
                "usage": {"input_tokens": 100, "output_tokens": 10},
                "stop_reason": "tool_use",
            }
        return {
            "content": [S.text("done")],
            "usage": {"input_tokens": 50, "output_tokens": 5},
            "stop_reason": "end_turn",
        }


def test_the_footer_never_counts_a_stand_in_models_tokens(local_session: MakeSession) -> None:
    session = local_session(Relay({"input_tokens": 100, "output_tokens": 10}))
    panel = ChatPanel(session, model_id="claude-sonnet-4-6")
    panel.chat("real")
    assert panel.wait(timeout=120) is not None
    assert "session: 100 in / 10 out tokens" in panel.footer.value
    session.model = S(["made up"])  # 10 in / 5 out tokens, invented
    panel.chat("scripted")
    assert panel.wait(timeout=120) is not None
    footer = panel.footer.value
    assert "scripted model, offline" in footer and "not real" in footer
    assert "real models earlier: 100 in / 10 out tokens" in footer and "110" not in footer
    session.model = Relay({"input_tokens": 50, "output_tokens": 5})
    panel.chat("real again")
    assert panel.wait(timeout=120) is not None
    assert "session: 150 in / 15 out tokens" in panel.footer.value, panel.footer.value
    # a bare function may call a real API: named, not called offline, and told how to count
    session.model = cj.FunctionModel(lambda messages: {"content": "hi", "usage": {"input_tokens": 9}})
    panel.chat("function")
    assert panel.wait(timeout=120) is not None
    footer = panel.footer.value
    assert ">function model</span>" in footer and "offline" not in footer and "real=True" in footer


def test_session_tokens_in_the_footer_grow_during_the_turn(local_session: MakeSession) -> None:
    panel = ChatPanel(local_session(TwoStep()))
    panel.chat("go")
    turn = panel.turns[0]
    wait_until(lambda: any(r.status == "running" for r in turn.rows.values()), "the running tool")
    assert panel.busy
    assert "session: 100 in / 10 out tokens" in panel.footer.value, panel.footer.value
    assert panel.wait(timeout=120) is not None
    assert "session: 150 in / 15 out tokens" in panel.footer.value
