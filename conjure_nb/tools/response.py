"""`Response`: what one chat turn produced, rendered for notebooks answer-first."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .data import CreatedFile, ToolCallRecord

__all__ = ["Response"]


@dataclass
class Response:
    """The outcome of `Session.chat`.

    Attributes:
        text: the text of the turn's final assistant message (pause_turn continuations included).
        stop_reason: why the model stopped (end_turn, max_tokens, refusal, stop_sequence, ...).
        usage: tokens used by this turn, summed over its model requests.
        tool_calls: one record per tool call of this turn, with timings.
        created_files: files created or changed during this turn.
        messages: every message this turn added to the history, the user's message first.
        iterations: how many model requests the turn made.
    """

    text: str
    stop_reason: str | None
    usage: dict[str, int] = field(default_factory=dict)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    created_files: list[CreatedFile] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    iterations: int = 0

    @property
    def truncated(self) -> bool:
        """True when the model ran out of max_tokens; `text` holds what it wrote so far."""
        return self.stop_reason == "max_tokens"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        head = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return (
            f"<Response stop_reason={self.stop_reason} tools={len(self.tool_calls)} "
            f"files={len(self.created_files)} {json.dumps(head)}>"
        )

    def _repr_markdown_(self) -> str:
        parts = [self.text or "*(no text)*"]
        if self.stop_reason not in (None, "end_turn", "tool_use"):
            parts.append(f"\n> stopped: `{self.stop_reason}`")
        if self.created_files:
            files = ", ".join(f"`{f.filename}` ({_size(f.size)})" for f in self.created_files)
            parts.append(f"\n**Files:** {files}")
        details = []
        if self.tool_calls:
            rows = ["| # | tool | input | result | ms |", "|---|---|---|---|---|"]
            for i, call in enumerate(self.tool_calls, 1):
                status = "error" if call.is_error else "ok"
                if call.exit_code not in (None, 0):
                    status += f" (exit {call.exit_code})"
                rows.append(
                    f"| {i} | `{call.tool}` | {_brief(call.input)} | {status} | {call.duration_ms:.0f} |"
                )
            details.append("\n".join(rows))
        if self.usage:
            details.append("Tokens: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.usage.items())))
        if details:
            summary = f"{len(self.tool_calls)} tool call(s), {self.iterations} model request(s)"
            parts.append(
                f"\n<details><summary>{summary}</summary>\n\n" + "\n\n".join(details) + "\n\n</details>"
            )
        return "\n".join(parts)


def _brief(inp: dict[str, Any]) -> str:
    text = inp.get("command") or inp.get("path") or json.dumps(inp, ensure_ascii=False)
    text = str(text).replace("\n", " ")
    text = text if len(text) <= 60 else text[:57] + "..."
    return "`" + html.escape(text).replace("|", "\\|").replace("`", "'") + "`"


def _size(n: int | None) -> str:
    if n is None:
        return "hosted"
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
