"""One turn as every live view sees it: the `%%conjure` cell output and the ChatPanel alike.

`TurnState` folds what happens during a turn into plain data: the session's events, the approval
wrapper asking a person (`waiting`), the person's Stop (`stop`) or a kernel interrupt
(`interrupted`), and the end (`finish`, `fail`). The views only render it, so a tool call reads
"waiting for approval", "stopped" or "interrupted" in the same words in both, and once:

```python
state = TurnState(fake="scripted model, offline")
for event in events:
    state.apply(event)       # True when worth redrawing at once (a row, a file, a model request)
state.rows["toolu_1"].label  # "running", "waiting for approval", "error (exit 4)", "stopped", ...
state.rows["toolu_1"].took() # "3 s" while it runs (ticks), "1,204 ms" once it ended
```

It is not thread-safe by itself: a view holds its own lock around `apply` and its rendering.
`Ticker` redraws a view every second while a tool call runs, so the elapsed time ticks.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..models._base import fake_label as fake_model
from ..tools import CreatedFile, ToolCall, ToolResult
from ..tools._data import OfCall
from ..tools._render import fake_badge, result_status, status_label, summarize_input
from ..tools._usage import tokens_text
from ..tools.events import (
    Event,
    FileCreated,
    ModelRequestStart,
    ModelRequestStop,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools._response import Response

__all__ = [
    "COLORS",
    "ROW_TEXT",
    "TURN_TEXT",
    "RowStatus",
    "Ticker",
    "ToolRow",
    "TurnState",
    "TurnStatus",
    "fake_badge",
    "fake_model",
]

RowStatus = Literal["running", "waiting", "ok", "error", "stopped", "interrupted"]
TurnStatus = Literal["running", "done", "error", "stopped", "interrupted"]

ROW_TEXT: dict[str, str] = {
    "running": "running",
    "waiting": "waiting for approval",
    "ok": "ok",
    "error": "error",
    "stopped": "stopped",
    "interrupted": "interrupted",
}
"""What a tool call's status reads as, in every view."""

TURN_TEXT: dict[str, str] = {
    "running": "running…",
    "done": "done",
    "error": "failed",
    "stopped": "stopped",
    "interrupted": "interrupted",
}
"""What a turn's status reads as, in every view."""

COLORS: dict[str, str] = {
    "running": "#1565c0",
    "waiting": "#d08c00",
    "ok": "#2e7d32",
    "done": "#2e7d32",
    "error": "#d32f2f",
    "stopped": "#757575",
    "interrupted": "#ef6c00",
}
"""The colour of a status (row or turn), in every view."""

_OPEN = ("running", "waiting")


@dataclass(eq=False)
class ToolRow(OfCall):
    """One tool call of the turn: the call, its status, and its result once it ended."""

    call: ToolCall
    status: RowStatus = "running"
    result: ToolResult | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    @property
    def summary(self) -> str:
        """One line saying what the call does (its command, its path, or its input)."""
        return summarize_input(self.tool, self.input)

    @property
    def open(self) -> bool:
        """True while the call runs or waits for a person."""
        return self.status in _OPEN

    @property
    def exit_code(self) -> int | None:
        return None if self.result is None else self.result.exit_code

    @property
    def duration_ms(self) -> float | None:
        """How long the call ran, from its result; None while it runs or when it never returned."""
        return None if self.result is None else self.result.duration_ms

    @property
    def label(self) -> str:
        """The status in words: "waiting for approval", "error (exit 4)", "stopped", ..."""
        return (
            status_label(ROW_TEXT[self.status], self.exit_code)
            if self.status == "error"
            else ROW_TEXT[self.status]
        )

    def elapsed_s(self, now: float | None = None) -> float:
        end = self.ended if self.ended is not None else (time.monotonic() if now is None else now)
        return max(0.0, end - self.started)

    def took(self, now: float | None = None) -> str:
        """The duration: the result's milliseconds, else whole seconds so far (it ticks)."""
        if self.duration_ms is not None:
            return f"{self.duration_ms:,.0f} ms"
        return f"{self.elapsed_s(now):,.0f} s"

    def end(self, status: RowStatus, result: ToolResult | None = None) -> None:
        self.status = status
        if result is not None:
            self.result = result
        if self.ended is None:
            self.ended = time.monotonic()


@dataclass(eq=False)
class TurnState:
    """What one turn has shown so far (plain data; see the module docstring).

    Attributes:
        texts: the assistant's text, one entry per model request (narration before tool calls,
            then the answer).
        rows: one row per tool call, by tool_use id, in the order the calls started.
        files: files created so far.
        usage: tokens reported by the turn's model requests so far.
        fake: what a fake model is ("scripted model, offline"), or None for a real one: views
            show it as a badge and show no usage or cost, which such a model makes up.
        iteration: the current model request (1-based; 0 before the first).
        status: running, then done, error, stopped (the person's Stop) or interrupted (a kernel
            interrupt).
        error: the failure's message when status is error.
        response: the turn's `Response` once it finished.
        stopping: the person asked to stop: calls that end from now on are "stopped", and text
            still streaming from a model call that outlives the Stop is dropped.
    """

    texts: list[str] = field(default_factory=list)
    rows: dict[str, ToolRow] = field(default_factory=dict)
    files: list[CreatedFile] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    fake: str | None = None
    iteration: int = 0
    status: TurnStatus = "running"
    error: str | None = None
    response: Response | None = None
    stopping: bool = False
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    # -- events --------------------------------------------------------------------------------

    def apply(self, event: Event) -> bool:
        """Fold one event in; True when the change is worth showing at once (not a text delta).

        Events after the turn is over change nothing (a tool thread may still be reporting).
        """
        if self.over:
            return False
        if isinstance(event, TextDelta):
            if not self.stopping:
                if not self.texts:
                    self.texts.append("")
                self.texts[-1] += event.text
            return False
        if isinstance(event, ModelRequestStart):
            self.iteration = event.iteration
            self.texts.append("")
        elif isinstance(event, ModelRequestStop):
            for key, value in event.usage.items():
                if isinstance(value, int):
                    self.usage[key] = self.usage.get(key, 0) + value
        elif isinstance(event, ToolCallStarted):
            self.rows[event.tool_use_id] = ToolRow(event.call)
        elif isinstance(event, ToolCallFinished):
            self._finished(event)
        elif isinstance(event, FileCreated):
            self.files = [f for f in self.files if f.path != event.file.path or f.path is None]
            self.files.append(event.file)
        elif isinstance(event, TurnFinished):
            self.response = event.response
        else:
            return False
        return True

    def _finished(self, event: ToolCallFinished) -> None:
        row = self.rows.get(event.tool_use_id)
        if row is None:
            row = self.rows[event.tool_use_id] = ToolRow(event.call)
        row.end(self._finished_status(event.result), event.result)

    def _finished_status(self, result: ToolResult) -> RowStatus:
        """ok / error / interrupted as the result says (`result_status`, the words a finished
        trace uses too), except "stopped" for a call the person's Stop ended (not "error (exit -9)")."""
        if result.is_error and self.stopping:
            return "stopped"
        status = result_status(result)
        return "interrupted" if status == "interrupted" else "error" if status == "error" else "ok"

    # -- approvals -----------------------------------------------------------------------------

    def waiting(self, tool_use_id: str) -> bool:
        """A person is being asked to approve the call; True when its row changed."""
        row = self.rows.get(tool_use_id)
        if row is None or row.status != "running" or self.over:
            return False
        row.status = "waiting"
        return True

    def answered(self, tool_use_id: str) -> bool:
        """The person answered: the call runs (or its denial is reported by its result)."""
        row = self.rows.get(tool_use_id)
        if row is None or row.status != "waiting" or self.over:
            return False
        row.status = "running"
        return True

    # -- the end -------------------------------------------------------------------------------

    def stop(self) -> None:
        """The person pressed Stop: from now on ending calls are "stopped"."""
        self.stopping = True

    def finish(self, response: Response | None = None) -> None:
        """The turn ended with an answer (or a tool run ended, with no response)."""
        if response is not None:
            self.response = response
        self._end("done")

    def fail(self, error: BaseException | str) -> None:
        """The turn failed; calls still open end as "error"."""
        if self.over:
            return
        self.error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._end("error")

    def stopped(self) -> None:
        """The turn ended by the person's Stop; calls still open end as "stopped"."""
        self._end("stopped")

    def interrupted(self) -> None:
        """The kernel was interrupted; calls still open end as "interrupted"."""
        self._end("interrupted")

    def _end(self, status: TurnStatus) -> None:
        if self.over:
            return
        ending: RowStatus = "stopped" if status == "stopped" else "interrupted"
        if status not in ("stopped", "interrupted"):
            ending = "error"
        for row in self.rows.values():
            if row.open:
                row.end(ending)
        self.status = status
        self.ended = time.monotonic()

    # -- reading -------------------------------------------------------------------------------

    @property
    def over(self) -> bool:
        return self.status != "running"

    @property
    def text(self) -> str:
        """Everything the assistant wrote so far, requests apart by a blank line."""
        return "\n\n".join(t for t in self.texts if t)

    @property
    def current_text(self) -> str:
        """What the current model request has written so far."""
        return self.texts[-1] if self.texts else ""

    @property
    def ticking(self) -> bool:
        """True while a tool call runs or waits: its elapsed time changes every second."""
        return not self.over and any(row.open for row in self.rows.values())

    @property
    def label(self) -> str:
        """The turn's status in words ("running…", "stopped", ...)."""
        return TURN_TEXT[self.status]

    def elapsed_s(self) -> float:
        end = self.ended if self.ended is not None else time.monotonic()
        return max(0.0, end - self.started)

    def tokens(self) -> str:
        """The turn's tokens so far, in one phrase; "" for a fake model or before any usage."""
        if self.fake is not None or not self.usage:
            return ""
        return tokens_text(self.usage)


class Ticker:
    """Call `redraw()` every `interval` seconds while `ticking()` holds, in one daemon thread.

    `start()` is cheap to call on every tool call: a second thread is never started while one
    runs. The thread keeps the context it was started in (ipykernel keeps a cell's output target
    in a context variable), so a redraw lands in the cell that started it.
    """

    def __init__(self, ticking: Callable[[], bool], redraw: Callable[[], None], interval: float = 1.0):
        self._ticking = ticking
        self._redraw = redraw
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            context = contextvars.copy_context()
            self._halt.clear()
            self._thread = threading.Thread(
                target=context.run, args=(self._run,), name="conjure-turn-tick", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop ticking now (the turn ended); returns without waiting for a redraw to finish."""
        self._halt.set()

    def _run(self) -> None:
        while not self._halt.wait(self.interval):
            if not self._ticking():
                return
            self._redraw()
