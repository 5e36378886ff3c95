"""How a tool result and a turn's response show in a notebook: the renderers their tables name.

`ToolResult.formats` and `Response.formats` (see `display._mime`) point here, and `cj.show` calls
the same functions, so each object has one rendering. A response shows its answer first, then the
files its turn created (previewed inline), then the tool trace and token usage folded below. Every
string here comes from a model, a tool or a file: it reaches the HTML escaped, or as Markdown made
sanitized HTML, through `display`; nothing is concatenated into markup raw.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..display._html import badge, details, error_box, esc, frame, note, pre, rows_table
from ..display._jsontree import NOT_JSON, json_tree_html, loads_json
from ..display._limits import limits
from ..display._mime import shown
from ..display._tables import TableHead, parse_table, table_from_json, table_head_html
from ..display._text import markdown_html
from ._file_previews import FileOptions, files_html

if TYPE_CHECKING:  # pragma: no cover
    from ._data import ToolCallRecord, ToolResult
    from ._response import Response

__all__ = [
    "answer_html",
    "capped",
    "fake_badge",
    "response_html",
    "result_status",
    "result_table",
    "run_html",
    "status_label",
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


def result_status(result: ToolResult | ToolCallRecord) -> str:
    """ok, error, or interrupted (a call a kernel interrupt ended), from a result or its record."""
    if result.error_code == "interrupted":
        return "interrupted"
    return "error" if result.is_error else "ok"


def status_label(status: str, exit_code: int | None) -> str:
    """A status in words, as every view says it: "error (exit 4)" names a failed command's code."""
    return f"{status} (exit {exit_code})" if status == "error" and exit_code not in (None, 0) else status


def fake_badge(label: str | None) -> str:
    """A visible badge naming a stand-in model ("scripted model, offline"), or "" for a real one."""
    if not label:
        return ""
    return (
        '<span class="conjure-fake-model" style="display:inline-block;padding:0 6px;border-radius:8px;'
        f'font-size:11px;background:rgba(239,108,0,0.15);color:#ef6c00">{esc(label)}</span>'
    )


def usage_text(usage: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(usage.items()) if isinstance(v, int))


def capped(html: str) -> str:
    """`html`, or one line saying it is over `limits.max_html_chars` (the object stays intact)."""
    if len(html) <= limits.max_html_chars:
        return html
    return frame(
        note(
            f"this output is {len(html):,} characters of HTML, more than limits.max_html_chars="
            f"{limits.max_html_chars:,}; not shown (the object itself is intact: show less of it, "
            "or raise the limit)"
        )
    )


def trace_html(records: Iterable[ToolCallRecord]) -> str:
    """The tool calls of a turn: tool, input, status in words, duration."""
    cells = []
    for i, rec in enumerate(records, 1):
        status = result_status(rec)
        cells.append(
            [
                str(i),
                f"<code>{esc(rec.tool)}</code>",
                f"<code>{esc(summarize_input(rec.tool, rec.input))}</code>",
                badge(status) + _exit_note(status, rec.exit_code),
                f"{rec.duration_ms:,.0f} ms",
            ]
        )
    return rows_table(["#", "tool", "input", "status", "duration"], cells) if cells else ""


def _exit_note(status: str, exit_code: int | None) -> str:
    return f" <small>(exit {exit_code})</small>" if status_label(status, exit_code) != status else ""


def tool_result_html(result: ToolResult, title: str = "", max_rows: int = 50, max_text: int = 5000) -> str:
    """A tool result: a status line, then the output as a table when it is one, else as text."""
    parts = [badge(result_status(result))]
    if result.exit_code is not None:
        parts.append(f"exit {result.exit_code}")
    parts.append(f"{result.duration_ms:,.0f} ms")
    line = f"<div>{esc(title) + ' · ' if title else ''}{' · '.join(parts)}</div>"
    body = "" if result.is_error else _output_html(result, max_rows)
    body = body or pre(result.content or "(no output)", max_text)
    if result.is_error:
        return frame(error_box(f"tool failed{': ' + title if title else ''}", line + body))
    return frame(line + body)


def _output_html(result: ToolResult, max_rows: int) -> str:
    """The output as a table when it is one (what `.dataframe` holds), as a JSON tree when it is
    other JSON, else '' (the caller shows the text). The spilled file is read whole, within caps."""
    text = result.full_text(limits.max_table_input_bytes + 1)
    if text is None or len(text) > limits.max_table_input_bytes:
        return ""
    data = loads_json(text)
    if data is NOT_JSON:
        head = parse_table(text, max_rows, limits.max_table_cols)
        return "" if head is None else _dataframe_html(head, max_rows)
    head = table_from_json(data, max_rows, limits.max_table_cols)
    if head is None:
        return json_tree_html(data, max_rows=max_rows)
    out = _dataframe_html(head, max_rows)
    if isinstance(data, dict) and not all(isinstance(v, list) for v in data.values()):
        out += details("the whole JSON", json_tree_html(data, open_levels=1, max_rows=max_rows))
    return out


def _dataframe_html(head: TableHead, max_rows: int) -> str:
    return table_head_html(head, max_rows) + note(
        f"DataFrame: {head.rows:,} rows x {head.cols:,} columns (.dataframe)"
    )


def run_html(result: ToolResult) -> str:
    """A result as its object shows it: with the directory a `%%conjure run` command ran in."""
    facts = shown(result).facts
    where = ""
    if facts.get("ran_in"):
        where = (
            '<div class="conjure-ran-in" style="opacity:0.75;font-size:12px">ran in '
            f"<code>{esc(facts['ran_in'])}</code> ({esc(facts.get('backend', ''))})</div>"
        )
    return capped(where + tool_result_html(result))


def result_table(result: ToolResult, max_rows: int = 20) -> TableHead | None:
    """The head of a tool result's table output (the spilled file read whole, beneath the working
    dir), within the display caps; None when it is not a table or is too big to parse."""
    text = result.full_text(limits.max_table_input_bytes + 1)
    if text is None or len(text) > limits.max_table_input_bytes:
        return None
    return parse_table(text, max_rows, limits.max_table_cols)


def response_html(response: Response, file_opts: FileOptions | None = None) -> str:
    """Answer first (with a badge when a stand-in model wrote it); then the files the turn created,
    shown inline; the narration, the trace and the usage folded. A stand-in model's made-up token
    counts are not shown."""
    parts = [markdown_html(response.text) if response.text else note("(no text)")]
    if response.fake_model:
        parts.append(f"<div>{fake_badge(response.fake_model)}</div>")
    if response.stop_reason not in (None, "end_turn", "tool_use"):
        parts.append(note(f"stopped: {response.stop_reason}"))
    if response.created_files:
        parts.append(files_html(response.created_files, file_opts))
    folded = _narration(response) + trace_html(response.tool_calls)
    if response.usage and not response.fake_model:
        folded += f"<div>Tokens: {esc(usage_text(response.usage))}</div>"
    if folded:
        summary = f"{len(response.tool_calls)} tool call(s), {response.iterations} model request(s)"
        parts.append(details(summary, folded))
    return capped(frame("".join(parts)))


def answer_html(response: Response) -> str:
    """Only the answer, its Markdown as sanitized HTML (never the model's own HTML), and the badge."""
    badge_html = f"<div>{fake_badge(response.fake_model)}</div>" if response.fake_model else ""
    return capped(markdown_html(response.text) + badge_html)


def _narration(response: Response) -> str:
    """What the model wrote on the way (before its tool calls), which the final answer leaves out."""
    said = []
    for message in response.messages[1:-1]:
        if message.get("role") != "assistant" or isinstance(message.get("content"), str):
            continue
        said += [b["text"] for b in message["content"] if b.get("type") == "text" and b.get("text")]
    return "".join(f"<blockquote>{markdown_html(t)}</blockquote>" for t in said)
