"""The widgets of one turn in the ChatPanel: the user's message, live activity, the answer, files.

A `TurnView` is fed the session's events (from whichever thread emits them) and folds them into the
shared `TurnState` (`notebook/_turn.py`), the same state the `%%conjure` live view renders, so a
call reads "waiting for approval", "stopped" or "interrupted" in the same words in both. The view
keeps that state (`turn.state`) beside its widgets, so tests and the panel read what a browser shows.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ...executors._approval import reveal
from ...tools._render import result_table, tool_result_html
from ...tools.events import Event, FileCreated, ModelRequestStart, ModelRequestStop, TextDelta
from .._turn import COLORS, Ticker, ToolRow, TurnState
from ._render import display_data, escape, markdown_output, pre

if TYPE_CHECKING:  # pragma: no cover
    from ...executors._approval import ApprovalRequest
    from ...tools import CreatedFile
    from ...tools._response import Response

__all__ = ["ApprovalCard", "RowView", "TurnView"]

_STREAM_EVERY_S = 0.05  # at most ~20 updates a second while text streams
_TICK_S = 1.0  # how often a running row's elapsed time is redrawn


class RowView:
    """One tool call as the panel shows it: a widget drawn from the call's shared `ToolRow`."""

    def __init__(self, row: ToolRow):
        self.row = row
        self.widget = w.HTML()

    @property
    def tool(self) -> str:
        return self.row.tool

    @property
    def status(self) -> str:
        return self.row.status

    def render(self) -> None:
        row = self.row
        # plain dots, not emoji: a browser without an emoji font (Debian's chromium) draws those as boxes
        dot = f'<span style="color:{COLORS[row.status]}">●</span>'
        head = f"{dot} <code>{escape(row.tool)}</code> {escape(row.summary)}"
        body = f'<div class="conjure-tool-row conjure-{row.status}">{head} <b>{escape(row.label)}</b>'
        self.widget.value = body + f" · {escape(row.took())}" + self._details() + "</div>"

    def _details(self) -> str:
        result = self.row.result
        if result is None:
            return ""
        head = None if result.is_error else result_table(result)
        body = tool_result_html(result, max_rows=20, max_text=4000)
        if head is not None:  # tables are what people look for: open
            rows = f"{head.rows:,} rows × {head.cols:,} columns"
            return f"<details open><summary>output: a table, {rows}</summary>{body}</details>"
        size = len(result.content or "")
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
    """Everything one turn shows, updated live from its events (state in `self.state`)."""

    def __init__(self, message: str, render_file: Any, *, fake: str | None = None):
        self.message = message
        self.state = TurnState(fake=fake)
        self.rows: dict[str, RowView] = {}
        self.cards: list[ApprovalCard] = []
        self._render_file = render_file
        self._lock = threading.RLock()
        self._last_flush = 0.0
        self._frozen = 0  # text segments (one per model request) already moved into the activity
        self._ticker = Ticker(self._ticking, self._tick, _TICK_S)
        self.user = w.HTML(f'<div class="conjure-user"><b>You:</b> {escape(message)}</div>')
        self.activity = w.VBox()
        self.answer = w.HTML()
        self.reply = w.Output()
        self.file_box = w.VBox()
        self.status = w.HTML()
        self.widget = w.VBox([self.user, self.activity, self.answer, self.reply, self.file_box, self.status])
        self.widget.add_class("conjure-turn")

    # -- what the panel and the tests read -----------------------------------------------------

    @property
    def over(self) -> bool:
        return self.state.over

    @property
    def text(self) -> str:
        """What the current model request has streamed so far (the final answer once it is over)."""
        if self.state.response is not None:
            return self.state.response.text
        return self._streaming()

    def _streaming(self) -> str:
        texts = self.state.texts
        return texts[-1] if len(texts) > self._frozen else ""

    @property
    def usage(self) -> dict[str, int]:
        return self.state.usage

    @property
    def files(self) -> list[CreatedFile]:
        return self.state.files

    # -- events --------------------------------------------------------------------------------

    def handle(self, event: Event) -> None:
        with self._lock:
            if self.state.over:
                return
            if isinstance(event, ModelRequestStart):
                self._freeze_text()
            self.state.apply(event)
            if isinstance(event, TextDelta):
                self._flush_text(force=False)
            elif isinstance(event, ModelRequestStop):
                if event.stop_reason == "tool_use":
                    self._freeze_text()  # written before its tool calls, so shown above their rows
                else:
                    self._flush_text(force=True)
            elif isinstance(event, FileCreated):
                self.file_box.children = (*self.file_box.children, self._render_file(event.file))
            self._sync_rows()

    def ask(self, request: ApprovalRequest) -> ApprovalCard:
        card = ApprovalCard(request, on_answer=self._answered)
        with self._lock:
            if self.state.waiting(request.call.id):
                self.rows[request.call.id].render()
            self.cards.append(card)
            self.activity.children = (*self.activity.children, card.widget)
        return card

    def _answered(self, request: ApprovalRequest) -> None:
        with self._lock:
            if self.state.answered(request.call.id):
                self.rows[request.call.id].render()

    # -- the end -------------------------------------------------------------------------------

    def stop(self) -> None:
        """The person pressed Stop: calls that end from now on read "stopped"."""
        with self._lock:
            self.state.stop()

    def finish(self, response: Response) -> None:
        """Replace the streamed text by the reply rendered as a `Response` renders itself."""
        with self._lock:
            self.state.finish(response)
            self.answer.value = ""
            # files were shown as cards the moment they appeared; the reply renders without them
            self.reply.outputs = (display_data(dataclasses.replace(response, created_files=[])),)
            self._settle()

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self.state.fail(error)
            self._flush_text(force=True)
            self._settle()
            kind, message = type(error).__name__, str(error) or repr(error)
            self.status.value = f'<div class="conjure-error" style="color:#b00020"><b>{escape(kind)}</b>: {escape(message)}</div>'

    def stopped(self) -> None:
        with self._lock:
            self.state.stopped()
            self._flush_text(force=True)
            self._settle()
            self.status.value = '<div class="conjure-stopped"><i>Stopped by you.</i></div>'

    def _settle(self) -> None:
        self._ticker.stop()
        for view in self.rows.values():
            view.render()
        for card in self.cards:
            card.refresh()

    # -- rows, text ----------------------------------------------------------------------------

    def _sync_rows(self) -> None:
        """A widget for each new call, and every row redrawn whose state may have changed."""
        for key, row in self.state.rows.items():
            view = self.rows.get(key)
            if view is None:
                view = self.rows[key] = RowView(row)
                self.activity.children = (*self.activity.children, view.widget)
                self._ticker.start()
            view.render()
        for card in self.cards:
            card.refresh()

    def _ticking(self) -> bool:
        with self._lock:
            return self.state.ticking

    def _tick(self) -> None:
        """Redraw the open rows, so their elapsed time ticks while they run."""
        with self._lock:
            for view in self.rows.values():
                if view.row.open and not self.state.over:
                    view.render()

    def _freeze_text(self) -> None:
        """Text written before tool calls moves into the activity list, in order."""
        text = self._streaming()
        if text.strip():
            note = w.Output()
            note.outputs = (markdown_output(text),)
            self.activity.children = (*self.activity.children, note)
        self._frozen = len(self.state.texts)
        self.answer.value = ""

    def _flush_text(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < _STREAM_EVERY_S:
            return
        self._last_flush = now
        text = self._streaming()
        self.answer.value = (
            f'<div class="conjure-stream" style="white-space:pre-wrap">{escape(text)}</div>' if text else ""
        )
