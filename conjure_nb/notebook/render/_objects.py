"""HTML renderings of conjure_nb's objects: tool results, chat responses, sessions, JSON values.

Each renderer returns an HTML fragment; `bundle` wraps one in a MIME bundle with a plain-text
fallback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...display._html import badge, details, error_box, esc, frame, note, pre, rows_table
from ...display._limits import limits
from ...display._tables import TableHead, parse_table, table_head_html
from ...display._text import markdown_html
from ...tools import ToolCallRecord, ToolResult
from ...tools._response import Response
from ._file_previews import FileOptions, files_html

__all__ = [
    "TraceRow",
    "response_html",
    "summarize_input",
    "tool_result_html",
    "trace_html",
    "usage_text",
]


def summarize_input(tool: str, input: dict[str, Any], limit: int = 80) -> str:
    """One line saying what a tool call does: its command, its path, or its input as JSON."""
    text = input.get("command") or input.get("path") or json.dumps(input, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class TraceRow:
    """One tool call as the trace table shows it (live or finished)."""

    tool: str
    summary: str
    status: str  # running | ok | error | interrupted
    duration_ms: float | None = None
    exit_code: int | None = None

    @classmethod
    def from_record(cls, rec: ToolCallRecord) -> TraceRow:
        status = "interrupted" if rec.error_code == "interrupted" else "error" if rec.is_error else "ok"
        return cls(rec.tool, summarize_input(rec.tool, rec.input), status, rec.duration_ms, rec.exit_code)


def trace_html(rows: Iterable[TraceRow]) -> str:
    cells = []
    for i, row in enumerate(rows, 1):
        status = badge(row.status)
        if row.exit_code not in (None, 0):
            status += f" <small>(exit {row.exit_code})</small>"
        ms = "…" if row.duration_ms is None else f"{row.duration_ms:,.0f} ms"
        cells.append(
            [str(i), f"<code>{esc(row.tool)}</code>", f"<code>{esc(row.summary)}</code>", status, ms]
        )
    return rows_table(["#", "tool", "input", "status", "duration"], cells) if cells else ""


def _pretty(text: str) -> str:
    """A JSON object or array indented so it reads as a structure; any other text as it is."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and len(stripped) < 2_000_000:
        try:
            return json.dumps(json.loads(stripped), indent=1, ensure_ascii=False)
        except ValueError:
            return text
    return text


def usage_text(usage: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(usage.items()) if isinstance(v, int))


def tool_result_html(result: ToolResult, title: str = "", max_rows: int = 50, max_text: int = 5000) -> str:
    """A tool result: a status line, then the output as a table when it is one, else as text."""
    status = "error" if result.is_error else "ok"
    if result.error_code == "interrupted":
        status = "interrupted"
    parts = [badge(status)]
    if result.exit_code is not None:
        parts.append(f"exit {result.exit_code}")
    parts.append(f"{result.duration_ms:,.0f} ms")
    line = f"<div>{esc(title) + ' · ' if title else ''}{' · '.join(parts)}</div>"
    head = None if result.is_error else result_table(result, max_rows)
    if head is not None:
        body = table_head_html(head, max_rows) + note(
            f"DataFrame: {head.rows:,} rows x {head.cols:,} columns (.dataframe)"
        )
    else:
        body = pre(_pretty(result.content) or "(no output)", max_text)
    if result.is_error:
        return frame(error_box(f"tool failed{': ' + title if title else ''}", line + body))
    return frame(line + body)


def result_table(result: ToolResult, max_rows: int = 20) -> TableHead | None:
    """The head of a tool result's table output (the spilled file read whole, beneath the working
    dir), within the display caps; None when it is not a table or is too big to parse."""
    text = result.full_text(limits.max_table_input_bytes + 1)
    if text is None or len(text) > limits.max_table_input_bytes:
        return None
    return parse_table(text, max_rows, limits.max_table_cols)


def response_html(response: Response, file_opts: FileOptions | None = None) -> str:
    """Answer first; then the files the turn created, shown inline; the trace and usage folded."""
    parts = [markdown_html(response.text) if response.text else note("(no text)")]
    if response.stop_reason not in (None, "end_turn", "tool_use"):
        parts.append(note(f"stopped: {response.stop_reason}"))
    if response.created_files:
        parts.append(files_html(response.created_files, file_opts))
    folded = _narration(response) + trace_html(TraceRow.from_record(r) for r in response.tool_calls)
    if response.usage:
        folded += f"<div>Tokens: {esc(usage_text(response.usage))}</div>"
    if folded:
        summary = f"{len(response.tool_calls)} tool call(s), {response.iterations} model request(s)"
        parts.append(details(summary, folded))
    return frame("".join(parts))


def _narration(response: Response) -> str:
    """What the model wrote on the way (before its tool calls), which the final answer leaves out."""
    said = []
    for message in response.messages[1:-1]:
        if message.get("role") != "assistant" or isinstance(message.get("content"), str):
            continue
        said += [b["text"] for b in message["content"] if b.get("type") == "text" and b.get("text")]
    return "".join(f"<blockquote>{markdown_html(t)}</blockquote>" for t in said)


def json_html(value: Any, max_rows: int = 50) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    head = (
        parse_table(text, max_rows, limits.max_table_cols)
        if len(text) <= limits.max_table_input_bytes
        else None
    )
    if head is not None:
        return frame(table_head_html(head, max_rows))
    return frame(pre(json.dumps(value, indent=2, ensure_ascii=False, default=str), limits.max_json_chars))
