"""Named events with attachable handlers, in the style of Erlang's `:telemetry`.

Events are tuples such as `("conjure", "execute", "stop")`. A handler is called as
`handler(event, measurements, metadata)`; durations in measurements are milliseconds. A handler
that raises is detached and logged: observability must never break the work it observes.

When `opentelemetry-api` is installed, `enable_opentelemetry()` attaches a bridge that turns
`*:stop` events into spans.

`CATALOG` lists every event conjure_nb emits (docs/telemetry.md shows it as a table, beside the
Elixir library's names). Attaching to a name outside it warns with `TelemetryWarning`, since a
handler on a misspelt or Elixir-only name would otherwise wait forever in silence; pass
`custom=True` for names your own code emits.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CATALOG",
    "Event",
    "EventInfo",
    "Handler",
    "TelemetryWarning",
    "attach",
    "detach",
    "emit",
    "enable_opentelemetry",
    "handlers",
    "is_emitted",
    "span",
]

Event = tuple[str, ...]
Handler = Callable[[Event, dict[str, Any], dict[str, Any]], None]

log = logging.getLogger("conjure_nb.telemetry")
_lock = threading.Lock()
_handlers: dict[str, tuple[frozenset[Event], Handler]] = {}
# Emission is on hot paths; keep a snapshot so emit() does not take the lock.
_snapshot: tuple[tuple[str, frozenset[Event], Handler], ...] = ()


def _refresh() -> None:
    global _snapshot
    _snapshot = tuple((hid, evs, h) for hid, (evs, h) in _handlers.items())


class TelemetryWarning(UserWarning):
    """A handler was attached to an event name conjure_nb never emits."""


@dataclass(frozen=True)
class EventInfo:
    """One event conjure_nb emits; a segment in angle brackets (`<backend>`) stands for any value."""

    name: Event
    measurements: str
    metadata: str
    elixir: str
    """The Elixir library's name for the same event, or "" when it has none."""
    when: str


_RUN = "session, backend, tool, tool_use_id"
CATALOG: tuple[EventInfo, ...] = (
    EventInfo(("conjure", "chat", "start"), "-", "session, backend", "", "a chat/achat/astream turn begins"),
    EventInfo(
        ("conjure", "chat", "stop"), "iterations, token counts (input_tokens, ...)",
        "session, backend, stop_reason", "", "a turn ends with a Response",
    ),
    EventInfo(
        ("conjure", "conversation", "iteration"), "iteration", "session, backend",
        "[:conjure, :conversation, :iteration]", "before each model request of a turn (1, 2, ...)",
    ),
    EventInfo(
        ("conjure", "backend", "<backend>", "iteration"), "iteration", "session, backend",
        "[:conjure, :backend, :native, :iteration]; for anthropic [:conjure, :conversation, :anthropic, :iteration]",
        "the same, under the session's backend name",
    ),
    EventInfo(
        ("conjure", "model", "request"), "duration_ms, token counts", "session, backend, model, stop_reason, iteration",
        "", "a model request returned",
    ),
    EventInfo(
        ("conjure", "conversation", "tool_call"), "duration_ms", f"{_RUN}, success, error_code",
        "[:conjure, :conversation, :tool_call]", "a tool call of the session finished (errors included)",
    ),
    EventInfo(
        ("conjure", "backend", "<backend>", "tool_call"), "duration_ms", f"{_RUN}, success, error_code",
        "[:conjure, :backend, :native, :tool_call]", "the same, under the backend's name (hosted server calls too)",
    ),
    EventInfo(
        ("conjure", "execute", "start"), "system_time", f"{_RUN}, executor", "[:conjure, :execute, :start]",
        "the executor starts a tool call",
    ),
    EventInfo(
        ("conjure", "execute", "stop"), "duration_ms", f"{_RUN}, executor, is_error, exit_code",
        "[:conjure, :execute, :stop]", "the executor returned a result",
    ),
    EventInfo(
        ("conjure", "execute", "exception"), "duration_ms", f"{_RUN}, executor, error",
        "[:conjure, :execute, :exception]",
        "the executor raised (the model still gets an is_error result), or copying files out failed",
    ),
    EventInfo(
        ("conjure", "executor", "<op>", "start"), "system_time", f"{_RUN}, executor", "",
        "per tool: op is bash (bash_tool), view, create_file, str_replace, or a native tool's name",
    ),
    EventInfo(
        ("conjure", "executor", "<op>"), "duration_ms", f"{_RUN}, executor, status (ok, error or timeout), container_id",
        "[:conjure, :executor, :bash], ... :view, :create_file, :str_replace", "the per-tool call finished",
    ),
    EventInfo(
        ("conjure", "executor", "init"), "system_time", "session, backend, executor, container_id",
        "[:conjure, :executor, :init]", "the session's executor is set up",
    ),
    EventInfo(
        ("conjure", "executor", "cleanup"), "system_time", "session, backend, executor, container_id",
        "[:conjure, :executor, :cleanup]", "the session's executor is closed (once)",
    ),
    EventInfo(
        ("conjure", "files", "created"), "count", "session, backend, files", "",
        "tools created or changed files in the working dir",
    ),
    EventInfo(
        ("conjure", "fleet", "start"), "total (shards)", "run (an id)", "",
        "MonitoringAgent.analyze_many split its sources into shards",
    ),
    EventInfo(
        ("conjure", "fleet", "shard"), "done, failed, total", "run", "", "one shard of a fleet run finished",
    ),
    EventInfo(
        ("conjure", "registry", "reloaded"), "duration_ms, count, added, removed, changed, problems",
        "paths (and registered, after register)", "", "a Registry loaded or registered skills",
    ),
)  # fmt: skip

ELIXIR_ONLY: dict[Event, Event] = {
    ("conjure", "conversation", "anthropic", "iteration"): ("conjure", "backend", "anthropic", "iteration"),
    ("conjure", "skill", "reloaded"): ("conjure", "registry", "reloaded"),
}
"""Elixir names conjure_nb does not emit, and the name to attach to instead."""


def is_emitted(event: Event) -> bool:
    """Whether conjure_nb emits `event` (a `<placeholder>` segment of `CATALOG` matches any value)."""
    event = tuple(event)
    return any(
        len(info.name) == len(event)
        and all(want.startswith("<") or want == got for want, got in zip(info.name, event))
        for info in CATALOG
    )


def _warn_unknown(events: frozenset[Event]) -> None:
    unknown = sorted(e for e in events if not is_emitted(e))
    if not unknown:
        return
    hints = [f"{e} is {ELIXIR_ONLY[e]} here" for e in unknown if e in ELIXIR_ONLY]
    names = ", ".join(str(info.name) for info in CATALOG)
    warnings.warn(
        f"conjure_nb never emits {', '.join(map(str, unknown))}, so this handler would never run"
        + (f" ({'; '.join(hints)})" if hints else "")
        + f". It emits: {names}. Pass custom=True to attach to events your own code emits.",
        TelemetryWarning,
        stacklevel=3,
    )


def attach(handler_id: str, events: Iterable[Event], handler: Handler, *, custom: bool = False) -> None:
    """Attach `handler` to `events` under `handler_id` (which must not be in use yet).

    Args:
        handler_id: a name for `detach()`.
        events: event tuples such as `("conjure", "execute", "stop")` (lists work too).
        handler: called as `handler(event, measurements, metadata)`.
        custom: the events include names your own code emits with `emit()`; without it, a name
            conjure_nb never emits warns (see `CATALOG`).

    Raises:
        UsageError: `handler` cannot be called as `handler(event, measurements, metadata)`; it is
            refused here rather than detached at the first event, far from the mistake.

    Warns:
        TelemetryWarning: an event is not one conjure_nb emits (and `custom` is False); the
            message lists the names it does emit.
    """
    _check_handler(handler_id, handler)
    evs = frozenset(tuple(e) for e in events)
    if not evs:
        raise ValueError("attach() needs at least one event")
    if not custom:
        _warn_unknown(evs)
    with _lock:
        if handler_id in _handlers:
            raise ValueError(f"telemetry handler {handler_id!r} is already attached; detach it first")
        _handlers[handler_id] = (evs, handler)
        _refresh()


def _check_handler(handler_id: str, handler: Any) -> None:
    from ._errors import UsageError

    if not callable(handler):
        raise UsageError(f"telemetry handler {handler_id!r} is {handler!r}, which is not callable")
    try:
        inspect.signature(handler).bind(("conjure",), {}, {})
    except ValueError:  # no signature to inspect (some builtins): trust it
        return
    except TypeError as exc:
        raise UsageError(
            f"telemetry handler {handler_id!r} cannot be called as handler(event, measurements, "
            f"metadata): {exc}; give it those three parameters"
        ) from None


def detach(handler_id: str) -> bool:
    """Detach a handler; returns False when there was none under that id."""
    with _lock:
        found = _handlers.pop(handler_id, None) is not None
        _refresh()
    return found


def handlers() -> dict[str, list[Event]]:
    """The attached handler ids and the events each listens to."""
    return {hid: sorted(evs) for hid, evs, _ in _snapshot}


def emit(
    event: Event,
    measurements: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Call every handler attached to `event`. Never raises."""
    if not _snapshot:
        return
    event = tuple(event)
    for hid, evs, handler in _snapshot:
        if event not in evs:
            continue
        try:
            handler(event, dict(measurements or {}), dict(metadata or {}))
        except Exception:
            log.exception("telemetry handler %r raised on %s; detaching it", hid, event)
            detach(hid)


@contextmanager
def span(prefix: Event, metadata: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Emit `prefix + ("start",)`, then `("stop",)` or `("exception",)` with `duration_ms`.

    The yielded dict is merged into the stop event's metadata, so the body can add results.
    """
    meta = dict(metadata or {})
    extra: dict[str, Any] = {}
    emit((*prefix, "start"), {"system_time": time.time()}, meta)
    t0 = time.perf_counter()
    try:
        yield extra
    except BaseException as exc:
        ms = (time.perf_counter() - t0) * 1000
        emit((*prefix, "exception"), {"duration_ms": ms}, {**meta, **extra, "error": repr(exc)})
        raise
    ms = (time.perf_counter() - t0) * 1000
    emit((*prefix, "stop"), {"duration_ms": ms}, {**meta, **extra})


OTEL_EVENTS: tuple[Event, ...] = (
    ("conjure", "chat", "stop"),
    ("conjure", "model", "request"),
    ("conjure", "execute", "stop"),
    ("conjure", "execute", "exception"),
    ("conjure", "registry", "reloaded"),
)


def enable_opentelemetry(handler_id: str = "conjure-otel", *, tracer_provider: Any = None) -> None:
    """Bridge conjure events to OpenTelemetry spans (needs the `otel` extra).

    Each `OTEL_EVENTS` event becomes one span named like `conjure.execute.stop`, ending now and
    starting `duration_ms` earlier, with scalar measurements and metadata as `conjure.*`
    attributes; `*.exception` spans get an error status.

    Args:
        handler_id: the telemetry handler id, for `detach()`.
        tracer_provider: where spans go; the global OpenTelemetry provider by default.
    """
    try:
        from opentelemetry import trace
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "OpenTelemetry support needs opentelemetry-api: pip install 'conjure-nb[otel]'"
        ) from exc
    tracer = trace.get_tracer("conjure_nb", tracer_provider=tracer_provider)

    def bridge(event: Event, measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        end = time.time_ns()
        start = end - int(float(measurements.get("duration_ms", 0.0)) * 1e6)
        sp = tracer.start_span(".".join(event), start_time=start)
        for key, value in {**metadata, **measurements}.items():
            if isinstance(value, (str, bool, int, float)):
                sp.set_attribute(f"conjure.{key}", value)
        if event[-1] == "exception":
            sp.set_status(trace.Status(trace.StatusCode.ERROR))
        sp.end(end_time=end)

    attach(handler_id, OTEL_EVENTS, bridge)
