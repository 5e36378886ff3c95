"""Live rendering of a turn: consume a session's events, keep one display up to date.

This is the plumbing the `%%conjure` magics stream through, and the widget panels reuse it:

```python
view = LiveTurn()                               # shows an empty "running" output now
response = session.chat(message, on_event=view.on_event)
view.finish(response)                           # the final rendering replaces the live one
```

`TurnState` is the pure part (events in, state out, no I/O); `LiveTurn` renders the state to HTML
and pushes it to a *sink*: by default an IPython display handle updated in place (`update_display`,
so no custom JavaScript is needed anywhere), or any `sink(bundle, metadata)` callable, e.g. one that
sets an ipywidgets HTML value. Events may arrive from tool threads; `LiveTurn` serialises them and
throttles text deltas to at most one refresh per `interval` seconds (tool rows refresh at once).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...display._html import badge, error_box, esc, frame, note
from ...display._text import markdown_html
from ...tools import CreatedFile
from ...tools.events import (
    Event,
    FileCreated,
    ModelRequestStart,
    ModelRequestStop,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from ..render import to_html
from ..render._objects import TraceRow, summarize_input, trace_html

__all__ = ["DisplaySink", "LiveTurn", "Sink", "TurnState"]

Sink = Callable[[dict[str, str], dict[str, Any]], None]


@dataclass
class TurnState:
    """What a turn has shown so far, built from its events (no I/O, not thread-safe by itself).

    Attributes:
        texts: the assistant's text, one entry per model request that wrote any.
        rows: one row per tool call, keyed by tool_use_id, in the order they started.
        files: files created so far.
        status: running | done | error | interrupted.
        iteration: the current model request (1-based; 0 before the first).
        error: the failure's message when status is error or interrupted.
        result: what `finish` was given (a Response, a ToolResult, ...).
    """

    texts: list[str] = field(default_factory=list)
    rows: dict[str, TraceRow] = field(default_factory=dict)
    files: list[CreatedFile] = field(default_factory=list)
    status: str = "running"
    iteration: int = 0
    error: str | None = None
    result: Any = None
    started: float = field(default_factory=time.perf_counter)

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when the change is structural (worth showing at once)."""
        if isinstance(event, TextDelta):
            if not self.texts:
                self.texts.append("")
            self.texts[-1] += event.text
            return False
        if isinstance(event, ModelRequestStart):
            self.iteration = event.iteration
            if self.texts and self.texts[-1]:
                self.texts.append("")
        elif isinstance(event, ToolCallStarted):
            self.rows[event.tool_use_id] = TraceRow(
                event.tool, summarize_input(event.tool, event.input), "running"
            )
        elif isinstance(event, ToolCallFinished):
            row = self.rows.setdefault(event.tool_use_id, TraceRow(event.tool, "", "running"))
            row.status = "interrupted" if event.result.error_code == "interrupted" else (
                "error" if event.is_error else "ok"
            )  # fmt: skip
            row.duration_ms = event.duration_ms
            row.exit_code = event.result.exit_code
        elif isinstance(event, FileCreated):
            self.files = [f for f in self.files if f.path != event.file.path] + [event.file]
        elif isinstance(event, TurnFinished):
            self.result = event.response
        elif not isinstance(event, ModelRequestStop):
            return False
        return True

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in self.texts if t)

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


def live_html(state: TurnState, title: str = "") -> str:
    """The in-progress view: the text so far, the tool rows, the files, and a status line."""
    parts = []
    if state.text:
        parts.append(markdown_html(state.text))
    if state.rows:
        parts.append(trace_html(state.rows.values()))
    if state.files:
        parts.append(note("files: " + ", ".join(f.filename for f in state.files)))
    where = f" · model request {state.iteration}" if state.iteration else ""
    label = {"running": "running…", "interrupted": "interrupted", "error": "failed"}.get(
        state.status, state.status
    )
    status = f"<div>{badge(label)}{esc(where)} · {state.elapsed_s:.1f} s{' · ' + esc(title) if title else ''}</div>"
    if state.status in ("error", "interrupted") and state.error:
        status = error_box(label, f"<div>{esc(state.error)}</div>") + status
    return frame("".join(parts) + status)


class DisplaySink:
    """Shows the first bundle with `display(..., display_id=True)` and updates it in place after."""

    def __init__(self) -> None:
        self.handle: Any = None

    def __call__(self, bundle: dict[str, str], metadata: dict[str, Any]) -> None:
        if self.handle is None:
            from IPython.display import display

            self.handle = display(bundle, raw=True, metadata=metadata, display_id=True)
        else:
            self.handle.update(bundle, raw=True, metadata=metadata)


class LiveTurn:
    """Render a turn live into a sink; `on_event` is the session's `on_event=` callback.

    Args:
        sink: where bundles go (default: a new display in the current cell).
        metadata: output metadata sent with every bundle (the magics put `{"conjure_nb": ...}` here).
        title: a short label on the status line (the session name, say).
        interval: the least time between two refreshes caused by text deltas, in seconds.
        show_now: push the empty "running" view at once, so the cell shows activity immediately.
    """

    def __init__(
        self,
        sink: Sink | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        title: str = "",
        interval: float = 0.1,
        show_now: bool = True,
    ):
        self.sink: Sink = sink or DisplaySink()
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.title = title
        self.interval = interval
        self.state = TurnState()
        self._lock = threading.RLock()
        self._last_push = 0.0
        self._dirty = False
        if show_now:
            self.refresh()

    def on_event(self, event: Event) -> None:
        """Fold in an event and refresh the display (throttled for text). Safe from any thread."""
        with self._lock:
            if self.state.status != "running":
                return
            structural = self.state.apply(event)
            self._dirty = True
            if structural or time.perf_counter() - self._last_push >= self.interval:
                self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._push(live_html(self.state, self.title))

    def _push(self, html: str, plain: str | None = None) -> None:
        self._last_push = time.perf_counter()
        self._dirty = False
        self.sink({"text/html": html, "text/plain": plain or self.plain()}, self.metadata)

    def plain(self) -> str:
        state = self.state
        lines = [state.text] if state.text else []
        lines += [f"[{r.status}] {r.tool}: {r.summary}" for r in state.rows.values()]
        lines.append(state.status if not state.error else f"{state.status}: {state.error}")
        return "\n".join(lines)

    def finish(self, result: Any, html: str | None = None) -> None:
        """Replace the live view with the final rendering of `result` (or the `html` given)."""
        with self._lock:
            self.state.status = "done"
            self.state.result = result
            self._push(html if html is not None else to_html(result), repr(result))

    def fail(self, error: BaseException | str, status: str = "error") -> None:
        """Show the failure in place of the live view; what streamed so far stays visible."""
        with self._lock:
            self.state.status = status
            self.state.error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            self._push(live_html(self.state, self.title))

    def interrupt(self, message: str = "interrupted by the user; the history so far is kept") -> None:
        self.fail(message, status="interrupted")
