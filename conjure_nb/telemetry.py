"""Named events with attachable handlers, in the style of Erlang's `:telemetry`.

Events are tuples such as `("conjure", "execute", "stop")`. A handler is called as
`handler(event, measurements, metadata)`; durations in measurements are milliseconds. A handler
that raises is detached and logged: observability must never break the work it observes.

When `opentelemetry-api` is installed, `enable_opentelemetry()` attaches a bridge that turns
`*:stop` events into spans.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "Event",
    "Handler",
    "attach",
    "detach",
    "emit",
    "enable_opentelemetry",
    "handlers",
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


def attach(handler_id: str, events: Iterable[Event], handler: Handler) -> None:
    """Attach `handler` to `events` under `handler_id` (which must not be in use yet).

    Raises:
        UsageError: `handler` cannot be called as `handler(event, measurements, metadata)`; it is
            refused here rather than detached at the first event, far from the mistake.
    """
    _check_handler(handler_id, handler)
    evs = frozenset(tuple(e) for e in events)
    if not evs:
        raise ValueError("attach() needs at least one event")
    with _lock:
        if handler_id in _handlers:
            raise ValueError(f"telemetry handler {handler_id!r} is already attached; detach it first")
        _handlers[handler_id] = (evs, handler)
        _refresh()


def _check_handler(handler_id: str, handler: Any) -> None:
    from .errors import UsageError

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
