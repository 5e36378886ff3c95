"""`Response`: what one chat turn produced, rendered for notebooks answer-first."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..display._text import escape, markdown_html
from ._data import CreatedFile, ToolCallRecord

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
        """The response as plain data (nested dicts and lists), ready for `json.dumps`."""
        return asdict(self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        head = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return (
            f"<Response stop_reason={self.stop_reason} tools={len(self.tool_calls)} "
            f"files={len(self.created_files)} {json.dumps(head)}>"
        )

    def _repr_html_(self) -> str:
        """The answer (Markdown, sanitized), files by name, the tool calls and tokens folded.

        Everything here is untrusted (the model's text, tool inputs, file names): it goes through
        the display layer, never into `text/markdown` (a notebook renders that with its raw HTML).
        `%load_ext conjure_nb` shows a richer rendering (files previewed inline) built the same way.
        """
        parts = [markdown_html(self.text) if self.text else "<p><i>(no text)</i></p>"]
        if self.stop_reason not in (None, "end_turn", "tool_use"):
            parts.append(f"<p>stopped: <code>{escape(self.stop_reason)}</code></p>")
        if self.created_files:
            files = ", ".join(
                f"<code>{escape(f.filename)}</code> ({_size(f.size)})" for f in self.created_files
            )
            parts.append(f"<p><b>Files:</b> {files}</p>")
        folded = ""
        if self.tool_calls:
            rows = "".join(
                f"<tr><td>{i}</td><td><code>{escape(c.tool)}</code></td><td><code>{escape(_brief(c.input))}</code>"
                f"</td><td>{_status(c)}</td><td>{c.duration_ms:.0f}</td></tr>"
                for i, c in enumerate(self.tool_calls, 1)
            )
            head = "<tr><th>#</th><th>tool</th><th>input</th><th>result</th><th>ms</th></tr>"
            folded += f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>"
        if self.usage:
            tokens = ", ".join(f"{k} {v:,}" for k, v in sorted(self.usage.items()))
            folded += f"<p>Tokens: {escape(tokens)}</p>"
        if folded:
            summary = f"{len(self.tool_calls)} tool call(s), {self.iterations} model request(s)"
            parts.append(f"<details><summary>{summary}</summary>{folded}</details>")
        return "".join(parts)


def _status(call: ToolCallRecord) -> str:
    status = "error" if call.is_error else "ok"
    return status + (f" (exit {call.exit_code})" if call.exit_code not in (None, 0) else "")


def _brief(inp: dict[str, Any]) -> str:
    text = inp.get("command") or inp.get("path") or json.dumps(inp, ensure_ascii=False)
    text = str(text).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _size(n: int | None) -> str:
    if n is None:
        return "hosted"
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
