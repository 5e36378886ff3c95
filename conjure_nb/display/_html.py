"""Small HTML building blocks shared by every renderer.

The output must look right in JupyterLab, Notebook 7, VS Code and nbconvert HTML with no custom
JavaScript and in light and dark themes alike, so the markup stays plain: tables, `<details>`,
inline images, and inline styles that use `currentColor` and semi-transparent tints instead of fixed
backgrounds.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from ._limits import limits
from ._text import escape

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "badge",
    "data_link",
    "details",
    "error_box",
    "esc",
    "frame",
    "img_png",
    "note",
    "pre",
    "table",
    "truncate",
]

ERROR_COLOR = "#d32f2f"
OK_COLOR = "#2e7d32"
RUNNING_COLOR = "#1565c0"
_STATUS_COLORS = {"ok": OK_COLOR, "error": ERROR_COLOR, "running": RUNNING_COLOR, "interrupted": "#ef6c00"}


def esc(value: Any) -> str:
    """Untrusted text as inert HTML (the display layer's `escape`)."""
    return escape(value)


def truncate(text: str, limit: int) -> tuple[str, int]:
    """`text` cut to `limit` characters (head kept) and how many characters were cut."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def pre(text: str, limit: int = 5000) -> str:
    """Preformatted text, truncated with a note saying how much was left out."""
    shown, cut = truncate(text, limit)
    out = f'<pre style="white-space:pre-wrap;margin:0.2em 0">{esc(shown)}</pre>'
    if cut:
        out += note(f"… {cut:,} more characters not shown ({len(text):,} in all)")
    return out


def note(text: str) -> str:
    return f'<div style="opacity:0.7;font-size:0.9em">{esc(text)}</div>'


def badge(status: str) -> str:
    color = _STATUS_COLORS.get(status, "inherit")
    return f'<span style="color:{color};font-weight:600">{esc(status)}</span>'


def error_box(title: str, body_html: str = "") -> str:
    return (
        f'<div style="border-left:4px solid {ERROR_COLOR};padding:0.3em 0.8em;'
        f'background:rgba(211,47,47,0.08)">'
        f'<b style="color:{ERROR_COLOR}">{esc(title)}</b>{body_html}</div>'
    )


def details(summary: str, body_html: str, open_: bool = False) -> str:
    flag = " open" if open_ else ""
    return f"<details{flag}><summary>{esc(summary)}</summary>{body_html}</details>"


def frame(body_html: str) -> str:
    """The outer box of a conjure_nb result, so results stand apart from other output."""
    return f'<div class="conjure-nb" style="line-height:1.45">{body_html}</div>'


def table(df: pd.DataFrame, max_rows: int = 50) -> str:
    """A DataFrame as an HTML table: at most `max_rows` rows and `limits.max_table_cols` columns,
    long cell texts cut, with a note when anything was left out. pandas escapes every cell and name."""
    max_cols = limits.max_table_cols
    shown = df.iloc[:max_rows, :max_cols]
    mapper = getattr(shown, "map", None) or shown.applymap  # DataFrame.map: pandas >= 2.1
    shown = mapper(_cut_cell) if len(shown.columns) else shown
    out = str(shown.to_html(border=0, index=False, classes="dataframe", na_rep=""))
    if len(df) > max_rows or len(df.columns) > max_cols:
        out += note(
            f"{min(len(df), max_rows):,} of {len(df):,} rows shown; "
            + (
                f"{max_cols:,} of {len(df.columns):,} columns"
                if len(df.columns) > max_cols
                else f"{len(df.columns)} columns"
            )
        )
    return out


def _cut_cell(value: Any, limit: int = 1000) -> Any:
    return value[:limit] + "…" if isinstance(value, str) and len(value) > limit else value


def rows_table(header: list[str], rows: list[list[str]]) -> str:
    """A table from cells that are already HTML."""
    head = "".join(f"<th style='text-align:left'>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def img_png(data: bytes, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{b64}" alt="{esc(alt)}"{size} style="max-width:100%">'


def data_link(name: str, data: bytes, media_type: str) -> str:
    """A download link with the file inside it (a data: URI), so it works with no server route."""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<a download="{esc(name)}" href="data:{esc(media_type)};base64,{b64}">⬇ download {esc(name)}</a>'


def json_pre(value: Any, limit: int = 5000) -> str:
    return pre(json.dumps(value, indent=2, ensure_ascii=False, default=str), limit)
