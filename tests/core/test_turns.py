"""One turn at a time per session: a second chat/achat/astream/run_tool is refused and changes nothing."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel
BUSY = "a turn is already running on this session"


class Gate:
    """A model that blocks in its first request until released, so a turn is running for sure."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.requests = 0

    def __call__(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests += 1
        self.entered.set()
        assert self.release.wait(30), "the test never released the model"
        return {"content": [{"type": "text", "text": f"answer {self.requests}"}]}


@pytest.fixture
def running() -> Iterator[tuple[cj.Session, Gate, threading.Thread, list[Any]]]:
    """A session whose first turn is in progress in another thread."""
    gate = Gate()
    out: list[Any] = []
    with cj.Session.new_local(model=gate) as s:
        worker = threading.Thread(target=lambda: out.append(s.chat("first")))
        worker.start()
        assert gate.entered.wait(30)
        try:
            yield s, gate, worker, out
        finally:
            gate.release.set()
            worker.join(30)


def test_gathered_achats_refuse_the_second_and_keep_the_history_valid() -> None:
    model = S(["one", "two"])

    async def main(s: cj.Session) -> list[Any]:
        return await asyncio.gather(s.achat("one"), s.achat("two"), return_exceptions=True)

    with cj.Session.new_local(model=model) as s:
        first, second = asyncio.run(main(s))
        assert isinstance(first, cj.Response) and first.text == "one"
        assert isinstance(second, cj.UsageError) and BUSY in str(second)
        assert [m["role"] for m in s.messages] == ["user", "assistant"]
        assert s.messages[0]["content"] == [{"type": "text", "text": "one"}]
        assert model.remaining == 1  # the refused turn never reached the model
        assert s.chat("again").text == "two"  # and the session takes the next turn normally


def test_every_entry_point_is_refused_from_another_thread_while_a_turn_runs(
    running: tuple[cj.Session, Gate, threading.Thread, list[Any]],
) -> None:
    s, gate, worker, out = running
    before = (copy.deepcopy(s.messages), list(s.tool_log), dict(s.usage))

    async def stream() -> None:
        async for _ in s.astream("third"):
            pass

    attempts = [
        lambda: s.chat("second"),
        lambda: asyncio.run(s.achat("second")),
        lambda: asyncio.run(stream()),
        lambda: s.run_tool("bash_tool", command="touch made.txt", description="d"),
    ]
    for attempt in attempts:
        with pytest.raises(cj.UsageError, match=BUSY):
            attempt()
    assert (s.messages, s.tool_log, s.usage) == before
    assert not (s.working_dir / "made.txt").exists()
    gate.release.set()
    worker.join(30)
    assert out and out[0].text == "answer 1"  # the running turn was unaffected
    assert gate.requests == 1
    assert [m["role"] for m in s.messages] == ["user", "assistant"]


def test_a_turn_started_from_inside_the_running_turn_is_refused() -> None:
    seen: list[BaseException] = []

    def model(messages: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            session.chat("nested")
        except cj.UsageError as exc:
            seen.append(exc)
        return {"content": [{"type": "text", "text": "done"}]}

    with cj.Session.new_local(model=model) as session:
        assert session.chat("outer").text == "done"
    assert len(seen) == 1 and BUSY in str(seen[0])


def test_the_turn_is_given_back_after_a_failure_and_after_a_stream() -> None:
    def down(messages: list[dict[str, Any]]) -> dict[str, Any]:
        raise cj.ModelError("down")

    with cj.Session.new_local(model=down) as s:
        with pytest.raises(cj.ModelError):
            s.chat("one")
        s.model = S(["streamed", "after"])

        async def main() -> str:
            async for ev in s.astream("two"):
                if isinstance(ev, cj.events.TurnFinished):
                    break
            return (await s.achat("three")).text

        assert asyncio.run(main()) == "after"
        result = s.run_tool("bash_tool", command="echo ok", description="d")
        assert result.content.strip() == "ok"


def test_per_call_model_and_limit_leave_the_session_as_it_was() -> None:
    own = cj.ScriptedModel(["mine"])
    loop = [
        cj.ScriptedModel.reply(cj.ScriptedModel.tool_use("bash_tool", command="true", description="x"))
    ] * 3
    with cj.Session.new_local(model=own, max_iterations=5) as s:
        assert s.chat("a", model=lambda messages: {"content": [{"type": "text", "text": "fn"}]}).text == "fn"
        with pytest.raises(cj.MaxIterationsError):
            s.chat("b", model=cj.ScriptedModel(loop), max_iterations=2)
        assert s.model is own and s.max_iterations == 5
        assert s.chat("c").text == "mine"
        with pytest.raises(cj.UsageError, match="at least 1"):
            s.chat("d", max_iterations=0)
    with cj.Session.new_local() as s:  # no model of its own: one for the call is enough
        assert s.chat("e", model=cj.ScriptedModel(["lent"])).text == "lent"
