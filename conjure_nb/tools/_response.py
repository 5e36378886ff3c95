"""`Response`: what one chat turn produced; it renders itself in notebooks, answer first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from ..display._mime import Formats, Rendered
from ._data import CreatedFile, ToolCallRecord
from ._render import answer_html, response_html

__all__ = ["Response"]


@dataclass
class Response(Rendered):
    """The outcome of `Session.chat`.

    Attributes:
        text: the text of the turn's final assistant message (pause_turn continuations included).
        stop_reason: why the model stopped (end_turn, max_tokens, refusal, stop_sequence, ...).
        usage: tokens used by this turn, summed over its model requests.
        tool_calls: one record per tool call of this turn, with timings.
        created_files: files created or changed during this turn.
        messages: every message this turn added to the history, the user's message first.
        iterations: how many model requests the turn made.
        fake_model: what answered when it was a stand-in, not a real model ("scripted model,
            offline" for a `ScriptedModel`, "function model" for a `FunctionModel`: see `fake_label`);
            None for a real one. The rendering names it with a badge and leaves out `usage`,
            whose counts such a model makes up.
    """

    text: str
    stop_reason: str | None
    usage: dict[str, int] = field(default_factory=dict)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    created_files: list[CreatedFile] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    iterations: int = 0
    fake_model: str | None = None

    @property
    def truncated(self) -> bool:
        """True when the model ran out of max_tokens; `text` holds what it wrote so far."""
        return self.stop_reason == "max_tokens"

    def to_dict(self) -> dict[str, Any]:
        """The response as plain data (nested dicts and lists), ready for `json.dumps`."""
        return asdict(self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        head = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        by = f" ({self.fake_model})" if self.fake_model else ""  # a stand-in is named in plain text too
        return (
            f"<Response stop_reason={self.stop_reason} tools={len(self.tool_calls)} "
            f"files={len(self.created_files)} {json.dumps(head)}{by}>"
        )

    formats: ClassVar[Formats] = {
        "markdown": {"text/html": lambda r: response_html(r), "text/plain": repr},
        "text": {"text/plain": lambda r: _plain(r)},
        "json": {"application/json": lambda r: _json(r), "text/plain": lambda r: _json_text(r)},
        "html": {"text/html": lambda r: answer_html(r), "text/plain": lambda r: _plain(r)},
    }
    """How a Response displays, by format (`%%conjure chat -f NAME`); markdown is the default:
    the answer (sanitized HTML, never `text/markdown`, which a notebook renders with its raw
    HTML), the created files inline, the trace and usage folded."""


def _json_text(response: Response) -> str:
    return json.dumps(response.to_dict(), indent=2, default=str)


def _json(response: Response) -> Any:
    return json.loads(_json_text(response))


def _plain(response: Response) -> str:
    """The answer as plain text, with a stand-in model named on a line of its own."""
    return f"{response.text}\n\n[{response.fake_model}]" if response.fake_model else response.text
