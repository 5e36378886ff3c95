"""One chat message per turn: the tool calls as they run and finish, the answer, the files.

The chat renders a message body as Markdown (with inline HTML, through JupyterLab's sanitizer).
Everything that came from the model or a tool reaches the body only through `_safe_markdown` (the
model's Markdown, through the display layer's sanitizing renderer) or `display.escape`, so model text never
becomes live markup here, whatever the chat's own sanitizer does.

A body is one HTML block with no blank line in it: a blank line would end the block and let the
chat's Markdown parser loose on what follows (code blocks keep their empty lines as `&#10;`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...display import escape, markdown_html
from ...executors._approval import reveal

__all__ = [
    "FileLink",
    "ToolRow",
    "TurnView",
    "approval_card",
    "image_preview",
    "input_summary",
    "sheet_preview",
]

_PRE = re.compile(r"<pre\b.*?</pre>", re.S)
_BLANK = re.compile(r"\n\s*\n")
SUMMARY_CHARS = 120
# marks every common font has (emoji fonts are often missing on servers and in containers)
_MARKS = {"running": "▶", "waiting": "?", "ok": "✓", "error": "✗", "denied": "⊘", "stopped": "■"}


def _safe_markdown(text: str) -> str:
    """Untrusted Markdown (a model's answer) as an HTML fragment for a chat message.

    The one place model text becomes chat markup, through the display layer's renderer: raw HTML
    in it is shown as text, images become their alt text, links keep only http(s)/mailto. The
    fragment is then made one block (see the module doc).
    """
    rendered = markdown_html(text)
    rendered = _PRE.sub(lambda m: m.group(0).replace("\n", "&#10;"), rendered)
    return _BLANK.sub("\n", rendered).strip()


def input_summary(tool: str, data: dict[str, Any]) -> str:
    """One line saying what a tool call does: the command, or the path it touches (invisible and
    control characters written as escapes, as the approval card shows them)."""
    for key in ("command", "path", "file_path"):
        value = data.get(key)
        if isinstance(value, str) and value:
            text = value
            break
    else:
        text = json.dumps(data, ensure_ascii=False, default=str)
    text = reveal(" ".join(text.split()))[0]
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


@dataclass
class ToolRow:
    """A tool call in the message: what it is, and how it is doing."""

    number: int
    tool_use_id: str
    tool: str
    summary: str
    status: str = "running"  # running | waiting | ok | error | denied | stopped
    detail: str = ""
    duration_ms: float | None = None

    def html(self) -> str:
        status = self.status if not self.detail else f"{self.status}: {self.detail}"
        parts = [escape(status), _duration(self.duration_ms)]
        return (
            f'<div class="conjure-tool conjure-tool-{escape(self.status)}" style="margin:0.4em 0">{_MARKS.get(self.status, "•")} '
            f"<b>{escape(self.tool)}</b> <code>{escape(self.summary)}</code> · "
            f"{' · '.join(p for p in parts if p)}</div>"
        )


@dataclass
class FileLink:
    """A created file copied beside the chat, as a link JupyterLab opens, with a preview if it has one.

    `path` is relative to the server's root (JupyterLab's own paths). The link opens the file in a
    new JupyterLab tab (the chat's sanitizer keeps no command attributes); the persona also attaches
    the file to the message, and the chat opens an attachment in place.
    """

    path: str
    size: int
    base_url: str = "/"
    preview: str = ""  # trusted HTML built from escaped cells (xlsx) or an image the server serves

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def html(self) -> str:
        href = f"{self.base_url}lab/tree/{quote(self.path)}"
        kb = f"{self.size / 1024:,.1f} KB" if self.size >= 1024 else f"{self.size} B"
        return (
            f'<li><a href="{escape(href)}" target="_blank">{escape(self.name)}</a> ({kb}){self.preview}</li>'
        )


@dataclass
class TurnView:
    """The state of one turn's message; `body()` renders all of it again (the chat replaces it)."""

    segments: list[str | ToolRow] = field(default_factory=list)
    files: list[FileLink] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # trusted HTML: usage, stopped, errors
    attachments: list[str] = field(default_factory=list)  # the chat's attachment ids of the files
    finished: bool = False
    stopping: bool = False
    """The person asked to stop: a call that ends in an error from now on was stopped, not failed."""

    def add_text(self, text: str) -> None:
        if self.segments and isinstance(self.segments[-1], str):
            self.segments[-1] += text
        else:
            self.segments.append(text)

    def add_tool(self, tool_use_id: str, tool: str, data: dict[str, Any]) -> ToolRow:
        number = sum(isinstance(s, ToolRow) for s in self.segments) + 1
        row = ToolRow(number, tool_use_id, tool, input_summary(tool, data))
        self.segments.append(row)
        return row

    def row(self, tool_use_id: str) -> ToolRow | None:
        for segment in self.segments:
            if isinstance(segment, ToolRow) and segment.tool_use_id == tool_use_id:
                return segment
        return None

    @property
    def text(self) -> str:
        return "".join(s for s in self.segments if isinstance(s, str))

    def body(self) -> str:
        parts: list[str] = []
        for segment in self.segments:
            parts.append(segment.html() if isinstance(segment, ToolRow) else _safe_markdown(segment))
        if not self.finished and not any(isinstance(s, str) and s.strip() for s in self.segments[-1:]):
            parts.append('<div class="conjure-working"><i>working…</i></div>')
        if self.files:
            items = "\n".join(f.html() for f in self.files)
            parts.append(f'<div class="conjure-files">Files (next to this chat):<ul>\n{items}\n</ul></div>')
        parts += [f'<div class="conjure-note">{n}</div>' for n in self.notes]
        inner = "\n".join(p for p in parts if p)
        return _BLANK.sub("\n", f'<div class="conjure-turn">\n{inner}\n</div>')


def approval_card(number: int, tool: str, shown_input: str, warning: str) -> str:
    """The question a call the policy asks about posts: the tool, its full input (invisible
    characters already written as escapes), a warning when it holds any, and how to answer."""
    pre = escape(shown_input).replace("\n", "&#10;")
    caution = f"<br><b>{escape(warning)}</b>" if warning else ""
    return (
        f'<div class="conjure-approval"><b>Approve tool call #{number}?</b> <b>{escape(reveal(tool)[0])}</b>'
        f"{caution}<pre>{pre}</pre>"
        f"Reply <code>approve {number}</code> or <code>deny {number} [reason]</code>.</div>"
    )


def image_preview(base_url: str, path: str) -> str:
    """An image file shown under its link, as the Jupyter server serves it (`/files/...`)."""
    src = escape(f"{base_url}files/{quote(path)}")
    return f'<br><img src="{src}" alt="{escape(path)}" style="max-width:100%;max-height:320px">'


def sheet_preview(path: Path, max_rows: int = 8, max_cols: int = 8) -> str:
    """The first rows of an xlsx file's first sheet as an escaped table ('' when unreadable)."""
    from ...display._numfmt import format_value
    from ...display._xlsx import check_xlsx, read_sheets_isolated

    try:  # checked, then read in a separate process: a hostile workbook cannot take the kernel
        with open(path, "rb") as f:
            check_xlsx(f)
            sheets = read_sheets_isolated(f, max_rows=max_rows)
    except Exception:
        return ""
    if not sheets:
        return ""
    sheet = sheets[0]
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(format_value(v, sheet.formats.get((i, j))))}</td>"
            for j, v in enumerate(row[:max_cols])
        )
        + "</tr>"
        for i, row in enumerate(sheet.rows)
    )
    more = f"{sheet.total_rows:,} rows × {sheet.total_cols} columns" if sheet.total_rows else "empty"
    return (
        f"<details><summary>sheet {escape(sheet.name)} ({more}"
        f"{', ' + str(len(sheets)) + ' sheets' if len(sheets) > 1 else ''})</summary>"
        f"<table>{rows}</table></details>"
    )
