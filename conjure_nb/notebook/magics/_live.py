"""The live view of a `%%conjure` cell: one display, updated in place while the turn runs.

```python
view = LiveTurn()                               # shows an empty "running" output now
response = session.chat(message, on_event=view.on_event)
view.close()                                    # the cell's Out[n] shows the answer from here
```

The state is the shared `TurnState` (`notebook/_turn.py`), the one the ChatPanel renders too, so
a call reads "waiting for approval", "stopped" or "interrupted" in the same words in both. This
module only renders it to HTML and pushes it to a *sink*: by default an IPython display handle
updated in place (`update_display`, so no custom JavaScript is needed anywhere), or any
`sink(bundle, metadata)` callable. Events may arrive from tool threads; `LiveTurn` serialises them,
throttles text deltas to at most one refresh per `interval` seconds (tool rows refresh at once),
and redraws every second while a tool call runs, so its elapsed time ticks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ...display._html import esc, frame, note, rows_table
from ...display._text import markdown_html
from ...tools.events import Event, ToolCallStarted
from .._turn import COLORS, Ticker, ToolRow, TurnState, fake_badge

__all__ = ["DisplaySink", "LiveTurn", "Sink", "live_html"]

Sink = Callable[[dict[str, str], dict[str, Any]], None]


def status_html(status: str, label: str) -> str:
    """A status in its colour (the words and colours of `notebook/_turn.py`)."""
    return f'<span style="color:{COLORS.get(status, "inherit")};font-weight:600">{esc(label)}</span>'


def rows_html(rows: list[ToolRow]) -> str:
    """The tool calls as a table: tool, input, status in words, and the time (ticking while open)."""
    now = time.monotonic()
    cells = [
        [
            str(i),
            f"<code>{esc(row.tool)}</code>",
            f"<code>{esc(row.summary)}</code>",
            status_html(row.status, row.label),
            esc(row.took(now)),
        ]
        for i, row in enumerate(rows, 1)
    ]
    return rows_table(["#", "tool", "input", "status", "time"], cells) if cells else ""


def live_html(state: TurnState, title: str = "") -> str:
    """The in-progress view: the text so far, the tool rows, the files, and a status line.

    A turn that ended badly says so once: its rows say "interrupted" / "stopped", and the cell's
    error says why; the status line then only keeps the facts (requests, time, session).
    """
    parts = []
    if state.text:
        parts.append(markdown_html(state.text))
    if state.rows:
        parts.append(rows_html(list(state.rows.values())))
    if state.files:
        parts.append(note("files: " + ", ".join(f.filename for f in state.files)))
    facts = [f"model request {state.iteration}"] if state.iteration else []
    facts.append(f"{state.elapsed_s():.1f} s")
    if title:
        facts.append(title)
    if state.tokens():
        facts.append(state.tokens())
    head = [status_html(state.status, state.label)] if not state.over or not state.rows else []
    if state.fake:
        head.append(fake_badge(state.fake))
    line = " · ".join(esc(f) for f in facts)
    parts.append(f'<div class="conjure-live-status">{" ".join(head)}{" · " if head else ""}{line}</div>')
    return frame("".join(parts))


def live_text(state: TurnState) -> str:
    lines = [state.text] if state.text else []
    lines += [f"[{row.label}] {row.tool}: {row.summary}" for row in state.rows.values()]
    if not state.over or not state.rows:
        lines.append(state.label)
    return "\n".join(lines)


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
        fake: what a fake model is ("scripted model, offline"): shown as a badge, and no tokens.
        tick: seconds between redraws while a tool call runs (its elapsed time ticks).
    """

    def __init__(
        self,
        sink: Sink | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        title: str = "",
        interval: float = 0.1,
        show_now: bool = True,
        fake: str | None = None,
        tick: float = 1.0,
    ):
        self.sink: Sink = sink or DisplaySink()
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.title = title
        self.interval = interval
        self.state = TurnState(fake=fake)
        self._lock = threading.RLock()
        self._last_push = 0.0
        self._ticker = Ticker(self._ticking, self._tick, tick)
        if show_now:
            self.refresh()

    def on_event(self, event: Event) -> None:
        """Fold in an event and refresh the display (throttled for text). Safe from any thread."""
        with self._lock:
            if self.state.over:
                return
            structural = self.state.apply(event)
            if structural or time.monotonic() - self._last_push >= self.interval:
                self.refresh()
        if isinstance(event, ToolCallStarted):
            self._ticker.start()

    def waiting(self, tool_use_id: str) -> None:
        """A person is asked to approve the call: its row says "waiting for approval"."""
        with self._lock:
            if self.state.waiting(tool_use_id):
                self.refresh()

    def answered(self, tool_use_id: str) -> None:
        with self._lock:
            if self.state.answered(tool_use_id):
                self.refresh()

    def _ticking(self) -> bool:
        with self._lock:
            return self.state.ticking

    def _tick(self) -> None:
        with self._lock:
            if self.state.ticking:
                self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self._last_push = time.monotonic()
            html = live_html(self.state, self.title)
            self.sink({"text/html": html, "text/plain": live_text(self.state)}, self.metadata)

    def fail(self, error: BaseException | str) -> None:
        """The turn failed: open rows end as errors; the cell's own error says why."""
        self._end(lambda: self.state.fail(error))

    def interrupt(self) -> None:
        """A kernel interrupt: open rows say "interrupted"; the cell's own error says the rest."""
        self._end(self.state.interrupted)

    def close(self, metadata: dict[str, Any] | None = None) -> None:
        """The turn is over and the cell's Out[n] shows its result: the live view empties."""
        with self._lock:
            self.state.finish()
            if metadata is not None:
                self.metadata = metadata
            self.sink({"text/plain": ""}, self.metadata)
        self._ticker.stop()

    def _end(self, how: Callable[[], None]) -> None:
        with self._lock:
            how()
            self.refresh()
        self._ticker.stop()
