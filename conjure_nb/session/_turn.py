"""Chat turns: one at a time per session, each with its own choices, driven through the loop.

`Turns` is a collaborator the session holds. It keeps the one-turn-at-a-time rule, adds the
user's message, drives the tool loop (`_loop`) with the turn's model (telemetry around it), its
tool runner and its approval gate, and turns the loop's outcome into a `Response`. A
`TurnPlan` holds a call's own choices (`model=`, `max_iterations=`, `approve=`), checked before
the turn starts, so the session's own model, limit and policy are never touched by a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import telemetry
from .._errors import UsageError
from .._loop import ToolsOutcome, TurnConfig, TurnOutcome, drive_async, drive_sync, run_turn
from ..executors._approval import ApprovalPolicy, Decision
from ..executors._observed import ObservedExecutor
from ..models._base import Model, fake_label
from ..models._function import as_model
from ..models._observed import ObservedModel
from ..tools._data import ToolCall
from ..tools._response import Response
from ..tools.events import Event, TurnFinished
from ._running import Emit, ToolRunner
from ._state import SessionState

__all__ = ["ApproveArg", "TurnPlan", "Turns", "check_limit", "choose_model"]

ApproveArg = ApprovalPolicy | dict[str, Decision] | Decision | None
"""A call's approvals: a policy, a rules mapping (`{"bash_tool": "ask"}`) or one decision for all."""


def check_limit(max_iterations: int | None) -> None:
    if max_iterations is not None and max_iterations < 1:
        raise UsageError(f"max_iterations must be at least 1, not {max_iterations}")


def choose_model(own: Model | None, callback: object = None, model: Any = None) -> Model:
    """The model of a turn: the call's own `model=`, else the session's (`own`).

    Raises:
        UsageError: a callback in the original library's `chat(message, api_callback)` shape, or
            no model at all.
    """
    if callback is not None:
        raise UsageError(
            "chat() takes no callback: pass the model when you make the session, e.g. "
            "Session.new_local(skills, model=my_callback) (any callable(messages) -> dict works), "
            "and use on_event= for live events"
        )
    chosen: Model | None = as_model(model) if model is not None else own
    if chosen is None:
        raise UsageError(
            "this session has no model: pass model=... when you make it (Session.new_local(skills, "
            "model=cj.AnthropicModel()), or any callable(messages) -> dict), or to this call "
            "(s.chat(message, model=...)), or use run_tool to call tools directly"
        )
    return chosen


@dataclass
class TurnPlan:
    """One call's choices: its model, its request limit, and the approval gate its tools run
    through (None: the session's executor as it is)."""

    model: Model
    max_iterations: int
    gate: ObservedExecutor | None = None


def _add_user_message(messages: list[dict[str, Any]], message: str | list[dict[str, Any]]) -> None:
    """Append the user's message; after an unanswered user message (a failed turn) join the two."""
    content = [{"type": "text", "text": message}] if isinstance(message, str) else list(message)
    if messages and messages[-1]["role"] == "user":
        prev = messages[-1]["content"]
        prev_blocks = [{"type": "text", "text": prev}] if isinstance(prev, str) else list(prev)
        messages[-1] = {"role": "user", "content": prev_blocks + content}
    else:
        messages.append({"role": "user", "content": content})


class Turns:
    """Runs a session's chat turns, one at a time.

    Args:
        session_id: for error messages and telemetry.
        state: the history the turns add to (and usage, container).
        tools: the session's tool runner.
        alive: the session's finalizer: a closed session takes no turns.
    """

    def __init__(
        self, session_id: str, state: SessionState, tools: ToolRunner, alive: weakref.finalize[Any, Any]
    ):
        self.session_id = session_id
        self.state = state
        self.tools = tools
        self._alive = alive
        self._lock = threading.Lock()  # held for the whole of a chat/achat/astream/run_tool

    # -- one at a time --------------------------------------------------------------------------

    def check_open(self) -> None:
        if not self._alive.alive:
            raise UsageError(
                f"session {self.session_id} is closed; make a new session (Session.new_*), or keep "
                "this one open (a `with` block closes it at the end)"
            )

    def check_free(self) -> None:
        """Refuse at once when the session is closed or a turn is running."""
        self.check_open()
        if self._lock.locked():
            raise self._busy()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the session's turn for a chat or a direct tool call; a second one is refused at once.

        Two turns interleaving on one history would break it (two user messages in a row, results
        after the wrong tool_use), so the caller gets an error instead and nothing changes.
        """
        self.check_open()
        if not self._lock.acquire(blocking=False):
            raise self._busy()
        try:
            yield
        finally:
            self._lock.release()

    def _busy(self) -> UsageError:
        return UsageError(
            f"a turn is already running on this session ({self.session_id}); wait for it to finish "
            "(await it, or let the cell end) before sending another, or use a second session "
            "to work in parallel"
        )

    # -- a turn -----------------------------------------------------------------------------------

    def _labels(self) -> dict[str, Any]:
        return {"session": self.session_id, "backend": self.tools.backend}

    def _begin(self, message: str | list[dict[str, Any]]) -> tuple[int, int]:
        _add_user_message(self.state.messages, message)
        telemetry.emit(("conjure", "chat", "start"), {}, self._labels())
        return len(self.state.created_files), len(self.state.tool_log)

    def _finish(
        self, outcome: TurnOutcome, marks: tuple[int, int], emit: Emit | None, model: Model
    ) -> Response:
        state = self.state
        state.container = outcome.container
        response = Response(
            outcome.text,
            outcome.stop_reason,
            outcome.usage,
            state.tool_log[marks[1] :],
            state.created_files[marks[0] :],
            [state.messages[-len(outcome.added) - 1], *outcome.added],  # the user's message too
            outcome.iterations,
            fake_model=fake_label(model),  # a stand-in model says so: its token counts are made up
        )
        telemetry.emit(
            ("conjure", "chat", "stop"),
            {"iterations": outcome.iterations, **outcome.usage},
            {**self._labels(), "stop_reason": outcome.stop_reason, "fake_model": response.fake_model},
        )
        if emit is not None:
            emit(TurnFinished(response))
        return response

    def run(
        self, message: str | list[dict[str, Any]], cfg: TurnConfig, plan: TurnPlan, emit: Emit | None
    ) -> Response:
        """One turn, blocking (the session holds the turn)."""
        marks = self._begin(message)
        with self._invented(plan.model):
            outcome = drive_sync(
                run_turn(self.state.messages, cfg),
                ObservedModel(plan.model, self._labels()),
                lambda calls: self.tools.run(calls, emit, plan.gate),
                lambda content: self.tools.read_reply(content, emit),
                emit,
            )
        return self._finish(outcome, marks, emit, plan.model)

    @contextlib.contextmanager
    def _invented(self, model: Model) -> Iterator[None]:
        """A stand-in model's token counts also go to `invented_usage` (kept when the turn fails),
        so no view shows them as usage or cost."""
        if fake_label(model) is None:
            yield
            return
        before = dict(self.state.usage)
        try:
            yield
        finally:
            invented = self.state.invented_usage
            for key, value in self.state.usage.items():
                added = value - before.get(key, 0)
                if added > 0:
                    invented[key] = invented.get(key, 0) + added

    async def arun(
        self, message: str | list[dict[str, Any]], cfg: TurnConfig, plan: TurnPlan, emit: Emit | None
    ) -> Response:
        """One turn, awaited; tools run in threads so the event loop stays free."""
        marks = self._begin(message)

        async def run_tools(calls: list[ToolCall]) -> ToolsOutcome:
            try:
                return await asyncio.to_thread(self.tools.run, calls, emit, plan.gate)
            except asyncio.CancelledError:
                self.tools.cancel(plan.gate)
                raise

        async def read_reply(content: list[dict[str, Any]]) -> None:
            await asyncio.to_thread(self.tools.read_reply, content, emit)

        with self._invented(plan.model):
            outcome = await drive_async(
                run_turn(self.state.messages, cfg),
                ObservedModel(plan.model, self._labels()),
                run_tools,
                read_reply,
                emit,
            )
        return self._finish(outcome, marks, emit, plan.model)


async def stream(start: Callable[[Emit], Awaitable[Response]]) -> AsyncIterator[Event]:
    """The events of a turn as an async iterator, ending with `TurnFinished`.

    `start(emit)` runs the turn (an `achat` with `on_event=emit`) as a task, so events arrive
    while it works; leaving the iteration early cancels it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event | BaseException] = asyncio.Queue()

    def emit(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def failed(task: asyncio.Future[Response]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            queue.put_nowait(error)

    task = asyncio.ensure_future(start(emit))
    task.add_done_callback(failed)
    try:
        while True:
            item = await queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, TurnFinished):
                await task  # done by now; after this the session takes a new turn
                break
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
