"""The tool-use loop, written once as a generator of effects, with a sync and an async driver.

`run_turn` does no I/O: it yields `CallModel`, `RunTools` and `ReadReply` effects and receives their
results.
`drive_sync` and `drive_async` carry the effects out (httpx's `_auth.py` pattern), so the sync
entry point needs no event loop at all and works inside a running Jupyter cell. Telemetry is not
here: the session wraps the turn's model (`ObservedModel`) and its executor (`ObservedExecutor`).

Invariants the generator keeps, whatever happens: every `tool_use` block in the history gets its
`tool_result` (on max iterations, interruption and cancellation too), and messages are appended
to the session's own list as they happen, so nothing is lost when an exception escapes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from ._errors import MaxIterationsError, ModelError
from .hosted._blocks import has_server_results
from .models._base import ModelRequest
from .tools._data import ToolCall, ToolResult
from .tools.events import Event, ModelRequestStart, ModelRequestStop, TextDelta

__all__ = [
    "CallModel",
    "ReadReply",
    "RunTools",
    "ToolsOutcome",
    "TurnConfig",
    "TurnOutcome",
    "check_reply",
    "drive_async",
    "drive_sync",
    "run_turn",
]

Emit = Callable[[Event], None]

MAX_PAUSE_CONTINUATIONS = 10


@dataclass
class TurnConfig:
    """Everything about a turn's requests except the messages."""

    system: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int | None = None
    container: Any = None
    betas: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    max_iterations: int = 25
    max_pause_continuations: int = MAX_PAUSE_CONTINUATIONS
    usage_sink: dict[str, int] | None = None
    """Also add each reply's usage here as it arrives (the session's total survives errors)."""


@dataclass
class CallModel:
    request: ModelRequest
    iteration: int


@dataclass
class RunTools:
    calls: list[ToolCall]


@dataclass
class ReadReply:
    """A reply says tools ran on the model's side (hosted server tools): the session records them.

    The executor reads the calls and the files they made from `content` and returns them; the
    session writes them into its tool log and created files as they arrive (so a turn that fails
    later keeps them) and sends their live events. Nothing comes back into the turn.
    """

    content: list[dict[str, Any]]


@dataclass
class ToolsOutcome:
    """Results in call order; `interrupt` is re-raised once the results are in the history."""

    results: list[ToolResult]
    interrupt: BaseException | None = None


@dataclass
class TurnOutcome:
    stop_reason: str | None
    text: str
    added: list[dict[str, Any]]
    iterations: int
    usage: dict[str, int]
    container: Any = None


def add_usage(total: dict[str, int], usage: dict[str, Any] | None) -> None:
    if not isinstance(usage, dict):
        return
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value


def _tool_calls(content: list[dict[str, Any]]) -> list[ToolCall]:
    calls = []
    for block in content:
        if block.get("type") == "tool_use":
            inp = block.get("input")
            calls.append(
                ToolCall(
                    str(block.get("id")),
                    str(block.get("name")),
                    inp if isinstance(inp, dict) else {"__invalid__": inp},
                )
            )
    return calls


_BLOCK_FIELDS: dict[str, tuple[tuple[str, type], ...]] = {
    "text": (("text", str),),
    "tool_use": (("id", str), ("name", str)),
}


def check_reply(reply: Any) -> list[dict[str, Any]]:
    """The reply's content blocks, or a ModelError saying what is malformed about them.

    A reply is data from outside (a server, a proxy, a user's callable); a content list holding
    None or a string, or a text block whose text is null, must not end a turn with an
    AttributeError, nor enter the history where the next request would carry it.
    """
    if not isinstance(reply, dict):
        raise ModelError(f"the model's reply is a {type(reply).__name__}, not a Messages-API response dict")
    content = reply.get("content")
    if content is None:
        return []
    if not isinstance(content, list):
        raise ModelError(f"the model's reply has content of type {type(content).__name__}; expected a list")
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise ModelError(
                f"the model's reply is malformed: content[{i}] is {_brief(block)}, not a content block "
                "with a 'type'; the history is unchanged, so the turn can be retried"
            )
        for name, kind in _BLOCK_FIELDS.get(block["type"], ()):
            if not isinstance(block.get(name), kind):
                raise ModelError(
                    f"the model's reply is malformed: content[{i}] is a {block['type']} block whose "
                    f"{name!r} is {_brief(block.get(name))}; the history is unchanged, so the turn can "
                    "be retried"
                )
    return content


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _results_message(results: list[ToolResult]) -> dict[str, Any]:
    return {"role": "user", "content": [r.to_block() for r in results]}


def _placeholder(call: ToolCall, why: str) -> ToolResult:
    return ToolResult(
        f"Tool call not completed: {why}.",
        is_error=True,
        exit_code=None,
        tool_use_id=call.id,
        error_code="not_run",
    )


def run_turn(
    messages: list[dict[str, Any]], cfg: TurnConfig
) -> Generator[CallModel | RunTools | ReadReply, Any, TurnOutcome]:
    """One chat turn over `messages` (which already end with the user's message)."""
    start = len(messages)
    usage: dict[str, int] = {}
    texts: list[str] = []
    container = cfg.container
    pauses = 0
    iteration = 0
    while True:
        iteration += 1
        req = ModelRequest(
            list(messages),
            system=cfg.system,
            tools=cfg.tools,
            max_tokens=cfg.max_tokens,
            container=container,
            betas=cfg.betas,
            options=cfg.options,
        )
        reply = yield CallModel(req, iteration)
        if isinstance(reply, dict):
            add_usage(usage, reply.get("usage"))
            if cfg.usage_sink is not None:
                add_usage(cfg.usage_sink, reply.get("usage"))
        content = check_reply(reply)  # before the history changes: a bad reply leaves it as it was
        messages.append({"role": "assistant", "content": content})
        container = _next_container(container, reply)
        texts.append("".join(b.get("text", "") for b in content if b.get("type") == "text"))
        stop = reply.get("stop_reason")
        calls = _tool_calls(content) if stop == "tool_use" else []
        yield from _read_reply(messages, content, calls)
        if stop == "pause_turn":
            if pauses < cfg.max_pause_continuations and iteration < cfg.max_iterations:
                pauses += 1
                continue
            raise _paused_too_often(pauses + 1, iteration, cfg, messages)
        if not calls:
            return TurnOutcome(stop, _paragraphs(texts), messages[start:], iteration, usage, container)
        if iteration >= cfg.max_iterations:
            why = f"max_iterations ({cfg.max_iterations}) was reached before it could run"
            messages.append(_results_message([_placeholder(c, why) for c in calls]))
            raise MaxIterationsError(
                f"the turn made {iteration} model requests (max_iterations={cfg.max_iterations}) "
                "without finishing; the transcript is on the error and on the session",
                messages=list(messages),
                iterations=iteration,
            )
        try:
            outcome: ToolsOutcome = yield RunTools(calls)
        except BaseException:
            messages.append(_results_message([_placeholder(c, "the turn was cancelled") for c in calls]))
            raise
        messages.append(_results_message(outcome.results))
        if outcome.interrupt is not None:
            raise outcome.interrupt
        texts = []


def _read_reply(
    messages: list[dict[str, Any]], content: list[dict[str, Any]], calls: list[ToolCall]
) -> Generator[ReadReply, Any, None]:
    """Hand a reply with server tool results to the session; if that fails, answer the reply's
    tool calls first, so the history stays consistent."""
    if not has_server_results(content):
        return
    try:
        yield ReadReply(content)
    except BaseException:
        if calls:
            messages.append(_results_message([_placeholder(c, "the turn was stopped") for c in calls]))
        raise


def _paused_too_often(
    pauses: int, iteration: int, cfg: TurnConfig, messages: list[dict[str, Any]]
) -> MaxIterationsError:
    return MaxIterationsError(
        f"the model paused its turn (pause_turn) {pauses} times (continuations are capped at "
        f"{cfg.max_pause_continuations}, requests at max_iterations={cfg.max_iterations}); the "
        "transcript is on the error and on the session: send a new message to let it go on",
        messages=list(messages),
        iterations=iteration,
    )


def _paragraphs(texts: list[str]) -> str:
    """The text of the final message: one reply's text as is, continuations as paragraphs.

    A pause_turn splits one answer over several replies; each usually ends mid-thought with a
    space or a newline, so they are joined with one blank line, as separate paragraphs.
    """
    parts = [t for t in texts if t.strip()]
    if len(parts) <= 1:
        return parts[0] if parts else ""
    return "\n\n".join(t.strip() for t in parts)


def _next_container(current: Any, reply: dict[str, Any]) -> Any:
    """Reuse a hosted container across the turn's requests once the API has named it."""
    got = reply.get("container")
    if not isinstance(got, dict) or not got.get("id"):
        return current
    if isinstance(current, dict):
        return {**current, "id": got["id"]}
    return got["id"]


def _before_request(effect: CallModel, emit: Emit | None) -> float:
    if emit is not None:
        emit(ModelRequestStart(effect.iteration))
        effect.request.on_text = lambda text: emit(TextDelta(text))
        effect.request.on_event = emit
    return time.perf_counter()


def _after_request(effect: CallModel, reply: Any, t0: float, emit: Emit | None) -> None:
    if emit is None:
        return
    reply = reply if isinstance(reply, dict) else {}
    usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
    ms = (time.perf_counter() - t0) * 1000
    emit(ModelRequestStop(effect.iteration, reply.get("stop_reason"), dict(usage), ms))


def drive_sync(
    gen: Generator[CallModel | RunTools | ReadReply, Any, TurnOutcome],
    model: Any,
    run_tools: Callable[[list[ToolCall]], ToolsOutcome],
    read_reply: Callable[[list[dict[str, Any]]], None],
    emit: Emit | None,
) -> TurnOutcome:
    """Carry out the effects with blocking calls; no event loop involved."""
    value: Any = None
    while True:
        try:
            effect = gen.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        if isinstance(effect, CallModel):
            t0 = _before_request(effect, emit)
            value = model.request(effect.request)
            _after_request(effect, value, t0, emit)
        elif isinstance(effect, ReadReply):
            value = None
            try:
                read_reply(effect.content)
            except BaseException as exc:
                gen.throw(exc)  # the turn answers its pending tool calls, then the error goes on
                raise
        else:
            value = run_tools(effect.calls)


async def drive_async(
    gen: Generator[CallModel | RunTools | ReadReply, Any, TurnOutcome],
    model: Any,
    run_tools: Callable[[list[ToolCall]], Awaitable[ToolsOutcome]],
    read_reply: Callable[[list[dict[str, Any]]], Awaitable[None]],
    emit: Emit | None,
) -> TurnOutcome:
    """Carry out the effects with awaits; tools run in threads, the loop stays responsive."""
    value: Any = None
    throw: BaseException | None = None
    while True:
        try:
            effect = gen.throw(throw) if throw is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        throw = None
        if isinstance(effect, CallModel):
            t0 = _before_request(effect, emit)
            arequest = getattr(model, "arequest", None)
            value = await (
                arequest(effect.request) if arequest else asyncio.to_thread(model.request, effect.request)
            )
            _after_request(effect, value, t0, emit)
        elif isinstance(effect, ReadReply):
            value = None
            try:
                await read_reply(effect.content)
            except BaseException as exc:
                throw = exc
        else:
            try:
                value = await run_tools(effect.calls)
            except asyncio.CancelledError as exc:
                throw = exc
