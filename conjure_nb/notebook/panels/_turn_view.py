"""The widgets of one turn in the ChatPanel: the user's message, live activity, the answer, files.

A `TurnView` is fed the session's events (from whichever thread emits them) and keeps plain
state beside its widgets (`text`, `rows`, `files`), so tests and the panel read the same thing a
browser shows.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ...executors._approval import reveal
from ...tools.events import (
    Event,
    FileCreated,
    ModelRequestStart,
    ModelRequestStop,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from ..render._objects import result_table, summarize_input, tool_result_html
from ._render import display_data, escape, markdown_output, pre

if TYPE_CHECKING:  # pragma: no cover
    from ...executors._approval import ApprovalRequest
    from ...tools import CreatedFile, ToolResult
    from ...tools._response import Response

__all__ = ["ApprovalCard", "ToolRow", "TurnView"]

_STREAM_EVERY_S = 0.05  # at most ~20 updates a second while text streams
# plain dots, not emoji: a browser without an emoji font (Debian's chromium) draws those as boxes
_COLORS = {
    "running": "#d08c00",
    "waiting": "#d08c00",
    "ok": "#1a7f37",
    "error": "#b00020",
    "stopped": "#757575",
    "interrupted": "#ef6c00",
}
_TICK_S = 1.0  # how often a running row's elapsed time is redrawn


@dataclass
class ToolRow:
    """One tool call as the panel shows it: tool, input summary, status, duration, result."""

    tool_use_id: str
    tool: str
    input: dict[str, Any]
    status: str = "running"
    duration_ms: float | None = None
    result: ToolResult | None = None
    widget: w.HTML = field(default_factory=w.HTML)
    started: float = field(default_factory=time.monotonic)

    def render(self) -> None:
        dot = f'<span style="color:{_COLORS[self.status]}">●</span>'
        head = f"{dot} <code>{escape(self.tool)}</code> {escape(summarize_input(self.tool, self.input))}"
        status = "waiting for approval" if self.status == "waiting" else self.status
        if self.status == "error" and self.result is not None and self.result.exit_code not in (None, 0):
            status += f" (exit {self.result.exit_code})"
        if self.duration_ms is not None:
            took = f" · {self.duration_ms:,.0f} ms"
        elif self.status in ("running", "waiting"):
            took = f" · {time.monotonic() - self.started:,.0f} s"  # ticks while the tool runs
        else:
            took = ""
        body = f'<div class="conjure-tool-row conjure-{self.status}">{head} <b>{status}</b>{took}'
        self.widget.value = body + self._details() + "</div>"

    def _details(self) -> str:
        if self.result is None:
            return ""
        head = None if self.result.is_error else result_table(self.result)
        body = tool_result_html(self.result, max_rows=20, max_text=4000)
        if head is not None:  # tables are what people look for: open
            rows = f"{head.rows:,} rows × {head.cols:,} columns"
            return f"<details open><summary>output: a table, {rows}</summary>{body}</details>"
        size = len(self.result.content or "")
        return f"<details><summary>output ({size:,} characters)</summary>{body}</details>"


class ApprovalCard:
    """A pending tool call with its full input and Approve / Deny buttons."""

    def __init__(self, request: ApprovalRequest, on_answer: Any = None):
        self.request = request
        self._on_answer = on_answer
        self.header = w.HTML()
        self.approve_button = w.Button(description="Approve", button_style="success", icon="check")
        self.deny_button = w.Button(description="Deny", button_style="danger", icon="times")
        self.approve_button.on_click(lambda _b: self._answer(True))
        self.deny_button.on_click(lambda _b: self._answer(False))
        self.widget = w.VBox(
            [self.header, w.HBox([self.approve_button, self.deny_button])],
            layout=w.Layout(border="1px solid #e0a000", padding="4px", margin="4px 0"),
        )
        self.widget.add_class("conjure-approval")
        self.refresh()

    def _answer(self, approved: bool) -> None:
        if approved:
            self.request.approve()
        else:
            self.request.deny("the user clicked Deny")
        self.refresh()
        if self._on_answer is not None:
            self._on_answer(self.request)

    def refresh(self) -> None:
        req = self.request
        state = "waiting for you" if req.pending else ("approved" if req.approved else "denied")
        warning = (
            f"<div class='conjure-approval-warning'><b>{escape(req.warning)}</b></div>" if req.warning else ""
        )
        self.header.value = (
            f"<b>Approve this {escape(req.backend)} tool call?</b> <code>{escape(reveal(req.tool)[0])}</code> "
            f"— <i>{state}</i>{warning}{pre(req.shown_input, limit=20000)}"
        )
        for button in (self.approve_button, self.deny_button):
            button.disabled = not req.pending


class TurnView:
    """Everything one turn shows, updated live from its events."""

    def __init__(self, message: str, render_file: Any):
        self.message = message
        self.text = ""  # what the current model request has streamed so far
        self.rows: dict[str, ToolRow] = {}
        self.cards: list[ApprovalCard] = []
        self.files: list[CreatedFile] = []
        self.usage: dict[str, int] = {}
        self._render_file = render_file
        self._lock = threading.RLock()
        self._last_flush = 0.0
        self.over = False
        self.stopping = False
        self._ticking = False
        self.user = w.HTML(f'<div class="conjure-user"><b>You:</b> {escape(message)}</div>')
        self.activity = w.VBox()
        self.answer = w.HTML()
        self.reply = w.Output()
        self.file_box = w.VBox()
        self.status = w.HTML()
        self.badge = w.HTML()  # names a fake model under its answer
        self.widget = w.VBox(
            [self.user, self.activity, self.answer, self.badge, self.reply, self.file_box, self.status]
        )
        self.widget.add_class("conjure-turn")

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.over:
                return
            if isinstance(event, TextDelta):
                if self.stopping:  # a model call that outlives a Stop may still be writing
                    return
                self.text += event.text
                self._flush_text(force=False)
            elif isinstance(event, ModelRequestStart):
                self._freeze_text()
            elif isinstance(event, ModelRequestStop):
                for key, value in event.usage.items():
                    if isinstance(value, int):
                        self.usage[key] = self.usage.get(key, 0) + value
                if event.stop_reason == "tool_use":
                    self._freeze_text()  # written before its tool calls, so shown above their rows
                else:
                    self._flush_text(force=True)
            elif isinstance(event, ToolCallStarted):
                self._add_row(ToolRow(event.tool_use_id, event.tool, event.input))
            elif isinstance(event, ToolCallFinished):
                self._finish_row(event)
            elif isinstance(event, FileCreated):
                self.add_file(event.file)

    def ask(self, request: ApprovalRequest) -> ApprovalCard:
        card = ApprovalCard(request, on_answer=self._answered)
        with self._lock:
            row = self.rows.get(request.call.id)
            if row is not None and row.status == "running":
                row.status = "waiting"
                row.render()
            self.cards.append(card)
            self.activity.children = (*self.activity.children, card.widget)
        return card

    def _answered(self, request: ApprovalRequest) -> None:
        with self._lock:
            row = self.rows.get(request.call.id)
            if row is not None and row.status == "waiting":
                row.status = "running"
                row.render()

    def add_file(self, file: CreatedFile) -> None:
        with self._lock:
            self.files = [f for f in self.files if f.path != file.path or file.path is None] + [file]
            self.file_box.children = (*self.file_box.children, self._render_file(file))

    def finish(self, response: Response) -> None:
        """Replace the streamed text by the reply rendered as a `Response` renders itself."""
        with self._lock:
            self.over = True
            self.text = response.text
            self.answer.value = ""
            # files were shown as cards the moment they appeared; the reply renders without them
            self.reply.outputs = (display_data(dataclasses.replace(response, created_files=[])),)
            self._refresh_cards()

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self.over = True
            self._flush_text(force=True)
            self._refresh_cards()
            kind, message = type(error).__name__, str(error) or repr(error)
            self.status.value = f'<div class="conjure-error" style="color:#b00020"><b>{escape(kind)}</b>: {escape(message)}</div>'

    def stopped(self) -> None:
        with self._lock:
            self.over = True
            for row in self.rows.values():
                if row.status in ("running", "waiting"):
                    row.status = "stopped"
                    row.render()
            self._flush_text(force=True)
            self._refresh_cards()
            self.status.value = '<div class="conjure-stopped"><i>Stopped by you.</i></div>'

    def _add_row(self, row: ToolRow) -> None:
        self.rows[row.tool_use_id] = row
        row.render()
        self.activity.children = (*self.activity.children, row.widget)
        if not self._ticking:
            self._ticking = True
            threading.Thread(target=self._tick, name="conjure-turn-tick", daemon=True).start()

    def _tick(self) -> None:
        """Redraw running rows' elapsed time every second until none runs or the turn is over."""
        while True:
            time.sleep(_TICK_S)
            with self._lock:
                running = [r for r in self.rows.values() if r.status in ("running", "waiting")]
                if self.over or not running:
                    self._ticking = False
                    return
                for row in running:
                    row.render()

    def _finish_row(self, event: ToolCallFinished) -> None:
        row = self.rows.get(event.tool_use_id)
        if row is None:
            row = ToolRow(event.tool_use_id, event.tool, {})
            self._add_row(row)
        row.status = _finished_status(event, stopping=self.stopping)
        row.duration_ms = event.duration_ms
        row.result = event.result
        row.render()
        self._refresh_cards()

    def _refresh_cards(self) -> None:
        for card in self.cards:
            card.refresh()

    def _freeze_text(self) -> None:
        """Text written before tool calls moves into the activity list, in order."""
        if self.text.strip():
            note = w.Output()
            note.outputs = (markdown_output(self.text),)
            self.activity.children = (*self.activity.children, note)
        self.text = ""
        self.answer.value = ""

    def _flush_text(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < _STREAM_EVERY_S:
            return
        self._last_flush = now
        self.answer.value = (
            f'<div class="conjure-stream" style="white-space:pre-wrap">{escape(self.text)}</div>'
            if self.text
            else ""
        )


def _finished_status(event: ToolCallFinished, *, stopping: bool) -> str:
    """ok / error, or "stopped" for a call the person's Stop ended (not "error (exit -9)"), or
    "interrupted" when the result says so."""
    if not event.is_error:
        return "ok"
    if stopping:
        return "stopped"
    if event.result is not None and event.result.error_code == "interrupted":
        return "interrupted"
    return "error"
