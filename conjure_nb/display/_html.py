"""Small HTML building blocks shared by every renderer.

The output must look right in JupyterLab, Notebook 7, VS Code and nbconvert HTML with no custom
JavaScript and in light and dark themes alike, so the markup stays plain: tables, `<details>`,
inline images, and inline styles that use `currentColor` and semi-transparent tints instead of fixed
backgrounds.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
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


esc = escape
"""Untrusted text as inert HTML (the display layer's `escape`)."""


def truncate(text: str, limit: int) -> tuple[str, int]:
    """`text` cut to `limit` characters (head kept) and how many characters were cut."""
    if len(text) <= limit:
        return text, 0
    return text[:limit], len(text) - limit


def pre(text: str, limit: int = 5000, lines: int | None = None) -> str:
    """Preformatted text: its first `lines` lines (default `limits.max_text_lines`), the rest folded
    under a line counting them, and at most `limit` characters in all, with a note saying how many
    were left out."""
    keep = limits.max_text_lines if lines is None else lines
    shown, cut = truncate(text, limit)
    total = text.count("\n") + (0 if text.endswith("\n") else 1)
    if total > keep + keep // 4:
        at = _nth_newline(shown, keep)
        head, rest = (shown[:at], shown[at + 1 :]) if at >= 0 else (shown, "")
        out = _pre(head)
        if rest:
            out += f"<details><summary>… {total - keep:,} more lines</summary>{_pre(rest)}</details>"
    else:
        out = _pre(shown)
    if cut:
        out += note(f"… {cut:,} more characters not shown ({len(text):,} in all)")
    return out


def _pre(text: str) -> str:
    return f'<pre style="white-space:pre-wrap;margin:0.2em 0">{esc(text)}</pre>'


def _nth_newline(text: str, n: int) -> int:
    """The index of the `n`-th newline of `text`, or -1 when it has fewer."""
    at = -1
    for _ in range(n):
        at = text.find("\n", at + 1)
        if at < 0:
            return -1
    return at


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
    long cell texts cut, with a note when anything was left out (see `grid`)."""
    max_cols = limits.max_table_cols
    shown = df.iloc[:max_rows, :max_cols]
    kinds = [d.kind for d in shown.dtypes.tolist()]
    out = grid(list(shown.columns), [shown.iloc[:, i].tolist() for i in range(len(kinds))], kinds)
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


def grid(names: list[Any], columns: list[list[Any]], dtypes: list[str] | None = None) -> str:
    """Columns of values (with their names, and numpy dtype kinds when known) as an HTML table.

    The table's markup is the host's own; every name and cell is escaped text. Numbers are
    right-aligned, and time columns (datetimes, or ISO-8601 timestamps as text) and columns of short
    texts never wrap mid-value.
    """
    texts = [list(map(cell_text, column)) for column in columns]
    types = [set(map(type, column)) for column in columns]
    kinds = [
        column_kind(column, shown, dtypes[i] if dtypes else "O", types[i])
        for i, (column, shown) in enumerate(zip(columns, texts))
    ]
    texts = [_same_fractions(t) if k == "time" else t for t, k in zip(texts, kinds)]
    head = "".join(f"<th style='text-align:{_ALIGN[k]}'>{esc(name)}</th>" for name, k in zip(names, kinds))
    # ints, floats and None show as digits, signs, a point, E, nan or inf: nothing to escape
    shown = [t if kind <= _PLAIN_NUMBERS else escaped(t) for kind, t in zip(types, texts)]
    # one template per table (styles hold no braces): a row is one `format` call, not a string per cell
    row = "".join(f"<td style='text-align:{_ALIGN[k]}{_NOWRAP[k]}'>{{}}</td>" for k in kinds)
    body = "".join([f"<tr>{row.format(*cells)}</tr>" for cells in zip(*shown)])
    return f"<table class='dataframe'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_ALIGN = {"number": "right", "time": "left", "text": "left", "short": "left"}
_NOWRAP = {
    "number": ";white-space:nowrap",
    "time": ";white-space:nowrap",
    "text": "",
    "short": ";white-space:nowrap",
}
_SHORT = 24  # a text column whose values are all this short keeps each on one line (pay-01, api-gateway)
ISO_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)
_ISO_LINES = re.compile(f"(?:{ISO_TIMESTAMP.pattern}\n)*{ISO_TIMESTAMP.pattern}")


def column_kind(values: list[Any], texts: list[str], dtype: str = "O", types: set[type] | None = None) -> str:
    """ "time" (datetimes, or text that is all ISO-8601 timestamps), "number", "short" (text whose
    shown `texts` are all short) or "text"; `dtype` is the column's numpy kind when known, `types`
    the set of its values' types when the caller has it."""
    if dtype == "M":
        return "time"
    if dtype in "iuf":
        return "number"
    types = set(map(type, values)) if types is None else types
    if types <= _PLAIN_NUMBERS:  # JSON's own values: no per-value checks past the first present one
        if any(not missing(v) for v in values):
            return "number"
    elif types <= _TEXTS:
        if any(v is not None for v in values) and (
            _all_iso(values if type(None) not in types else [v for v in values if v is not None])
            if datetime.datetime not in types
            else all(v is None or type(v) is datetime.datetime or ISO_TIMESTAMP.fullmatch(v) for v in values)
        ):
            return "time"
    else:
        present = [v for v in values if not missing(v)]
        if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            return "number"
        if present and all(
            isinstance(v, datetime.datetime) or (isinstance(v, str) and ISO_TIMESTAMP.fullmatch(v))
            for v in present
        ):
            return "time"
    return "short" if max(map(len, texts), default=0) <= _SHORT else "text"


def _all_iso(texts: list[str]) -> bool:
    """Whether every text is an ISO-8601 timestamp: one regex over them all, one per line (a text
    holding a newline of its own is caught by the count)."""
    if not texts or not ISO_TIMESTAMP.fullmatch(texts[0]):  # most text columns end here
        return False
    joined = "\n".join(texts)
    return joined.count("\n") == len(texts) - 1 and _ISO_LINES.fullmatch(joined) is not None


def escaped(texts: list[str]) -> list[str]:
    """Each text escaped: the column's texts joined, escaped at once, and split again (a text that
    holds the separator itself is caught by the count, and the column is escaped text by text)."""
    joined = "\x1f".join(texts)
    if joined.count("\x1f") != len(texts) - 1:
        return list(map(esc, texts))
    return esc(joined).split("\x1f")


_PLAIN_NUMBERS = {int, float, type(None)}
_TEXTS = {str, datetime.datetime, type(None)}


def cell_text(value: Any, limit: int = 1000) -> str:
    """One cell as a person reads it: no float noise (0.307, not 0.30700000000000005), times to the
    second (fractions kept when there are some), empty for missing values, nested JSON compact."""
    kind = type(value)
    text: str
    if kind is str:
        text = value
    elif kind is int:
        text = str(value)
    elif kind is float:
        return "" if value != value else general_number(value)
    elif value is None:
        return ""
    else:
        text = _other_text(value)
        if not text:
            return text
    return text[:limit] + "…" if len(text) > limit else text


_compact = json.JSONEncoder(ensure_ascii=False, default=str).encode  # one encoder, not one per cell


def _other_text(value: Any) -> str:
    if missing(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return general_number(value)
    if isinstance(value, datetime.datetime):
        return _time_text(value)
    if isinstance(value, (dict, list)):
        value = _compact(value)
    return str(value)


def general_number(value: float) -> str:
    """A float as Excel's General format shows it: up to 10 significant digits, no float noise."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if len(text.lstrip("-").replace(".", "").lstrip("0")) > 12 or "e" in text:
        text = f"{value:.10g}"
    return text.replace("e+", "E+").replace("e-", "E-")


_SECONDS = re.compile(r"(\d{2}:\d{2}:\d{2})(?:\.(\d+))?")


def _same_fractions(texts: list[str]) -> list[str]:
    """Times of one column with as many digits of a second each (08:24:01.500, not 08:24:01.5)."""
    # a time column's texts hold one time each: one regex pass over them all finds the longest fraction
    digits = max((len(frac) for _, frac in _SECONDS.findall("\n".join(texts))), default=0)
    if not digits:
        return texts
    return [_SECONDS.sub(lambda m: m.group(1) + "." + (m.group(2) or "").ljust(digits, "0"), t, count=1) if t else t
            for t in texts]  # fmt: skip


def missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT: a cell shown empty."""
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or type(value).__name__ in ("NAType", "NaTType")
    )


_FRACTION = re.compile(r"(\.\d*?)0+(?=$|[+Z-])")


def _time_text(value: datetime.datetime) -> str:
    """ISO-8601 with a space, trailing zeros of the fraction dropped, UTC as Z."""
    text = _FRACTION.sub(lambda m: m.group(1) if len(m.group(1)) > 1 else "", value.isoformat(sep=" "))
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def rows_table(header: list[str], rows: list[list[str]]) -> str:
    """A table from cells that are already HTML."""
    head = "".join(f"<th style='text-align:left'>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def img_png(data: bytes, alt: str, width: int | None = None, style: str = "max-width:100%") -> str:
    """A PNG the host made or read itself, inline as a data: URI; `style` is the host's own CSS."""
    size = f' width="{width}"' if width else ""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:image/png;base64,{b64}" alt="{esc(alt)}"{size} style="{esc(style)}">'


def data_link(name: str, data: bytes, media_type: str) -> str:
    """A download link with the file inside it (a data: URI), so it works with no server route."""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<a download="{esc(name)}" href="data:{esc(media_type)};base64,{b64}">⬇ download {esc(name)}</a>'


def json_pre(value: Any, limit: int = 5000) -> str:
    return pre(json.dumps(value, indent=2, ensure_ascii=False, default=str), limit)
