"""An xlsx sheet's preview rows as the HTML table a person expects from Excel.

Each cell shows through its number format (`_numfmt`): 0.342934 with `0.0%` is 34.3%, 5000 with
`#,##0` is 5,000, a datetime with `yyyy-mm-dd hh:mm:ss` is shown to the second. Columns take the
sheet's widths when it sets them, else fit their content (both bounded); numbers and times are
right-aligned and never wrap, text wraps inside its column, and a style's own alignment wins. Below
the table a line says how many rows and columns of the sheet are not shown.

The table's markup is the host's; sheet names, cell texts, formulas and the literal text of number
formats are escaped.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._html import esc, escaped, note
from ._numfmt import format_value

if TYPE_CHECKING:  # pragma: no cover
    from ._sheetxml import SheetPreview

__all__ = ["hidden_text", "sheet_html"]

MIN_WIDTH, MAX_WIDTH = (
    2.0,
    60.0,
)  # bounds on a width the sheet sets (Excel's unit, about 1ch): a preview stays readable
FIT_MIN, FIT_MAX = 4, 40  # bounds on a width fitted to the content
_TIMES = (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)
_HEADING = "margin:0.6em 0 0.2em"


def _kind(value: Any) -> str:
    kind = _KINDS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, *_TIMES)):
        return "number"
    return "text"


_KINDS = {str: "text", type(None): "text", float: "number", int: "number", bool: "bool"}
_KINDS.update((t, "number") for t in _TIMES)


def _by_cell(facts: dict[tuple[int, int], str], nrows: int, ncols: int) -> list[list[str | None]]:
    """`facts` keyed by (row, col) as a grid of the preview's size (None where there is none)."""
    grid: list[list[str | None]] = [[None] * ncols for _ in range(nrows)]
    for (row, col), fact in facts.items():
        if 0 <= row < nrows and 0 <= col < ncols:
            grid[row][col] = fact
    return grid


def _cells(sheet: SheetPreview, ncols: int) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """Each cell's text as its format shows it, its kind (number, bool, text) and its HTML, row by
    row. A formula with no cached value (openpyxl/xlsxwriter files) shows itself, in italics; one
    with a value carries itself as the cell's title."""
    codes = _by_cell(sheet.formats, len(sheet.rows), ncols)
    texts, kinds, htmls = [], [], []
    for i, row in enumerate(sheet.rows):
        values = row + [None] * (ncols - len(row))
        text = list(map(format_value, values, codes[i]))
        kind = list(map(_kind, values))
        texts.append(text)
        kinds.append(kind)
        htmls.append(escaped(text))
    for (i, j), formula in sheet.formulas.items():
        if not (formula and 0 <= i < len(texts) and 0 <= j < ncols):
            continue
        if sheet.rows[i][j : j + 1] in ([], [""], [None]):  # no cached value
            texts[i][j], kinds[i][j] = formula, "text"
            htmls[i][j] = f"<i title='formula, no cached value'>{esc(formula)}</i>"
        else:
            htmls[i][j] = f"<span title='{esc(formula)}'>{htmls[i][j]}</span>"
    return texts, kinds, htmls


def _widths(sheet: SheetPreview, texts: list[list[str]], kinds: list[list[str]], ncols: int) -> list[float]:
    """Each column's width in `ch`: the sheet's, else fitted; never narrower than its numbers."""
    out = []
    for col in range(ncols):
        lengths = [len(row[col]) for row in texts]
        fitted = float(min(max(max(lengths, default=0), FIT_MIN), FIT_MAX))
        numbers = max((n for n, row in zip(lengths, kinds) if row[col] != "text"), default=0)
        by_sheet = sheet.widths.get(col)
        width = min(max(by_sheet, MIN_WIDTH), MAX_WIDTH) if by_sheet else fitted
        out.append(max(width, float(numbers)))
    return out


def hidden_text(sheet: SheetPreview, shown_rows: int, shown_cols: int) -> str:
    """'20 of 500 rows shown, 480 hidden; 2 columns' (the header row is not counted as data)."""
    data_rows = max(sheet.total_rows - 1, 0)
    rows = f"{shown_rows:,} of {data_rows:,} rows shown, {data_rows - shown_rows:,} hidden"
    if sheet.total_cols > shown_cols:
        cols = (
            f"{shown_cols:,} of {sheet.total_cols:,} columns shown, {sheet.total_cols - shown_cols:,} hidden"
        )
    else:
        cols = f"{sheet.total_cols:,} column{'s' if sheet.total_cols != 1 else ''}"
    return f"{rows}; {cols}"


def sheet_html(sheet: SheetPreview) -> str:
    """The sheet's preview rows as a table, the first row as its header (see the module doc)."""
    if not sheet.rows:
        return f"<h4 style='{_HEADING}'>{esc(sheet.name)}</h4>" + note("empty sheet")
    ncols = max(len(r) for r in sheet.rows)
    texts, kinds, htmls = _cells(sheet, ncols)
    widths = _widths(sheet, texts, kinds, ncols)
    cols = "".join(f"<col style='width:calc({w:g}ch + 1em)'>" for w in widths)
    aligns = _by_cell(sheet.aligns, len(sheet.rows), ncols)
    rows = []
    for i, (kind, html, align) in enumerate(zip(kinds, htmls, aligns)):
        tag = "th" if i == 0 else "td"
        cells = [f"<{tag} style='{_style(i == 0, a, k)}'>{h}</{tag}>" for k, h, a in zip(kind, html, align)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    out = (
        f"<h4 style='{_HEADING}'>{esc(sheet.name)}</h4><div style='overflow-x:auto'>"
        f"<table style='overflow-wrap:anywhere'><colgroup>{cols}</colgroup>"
        f"<thead>{rows[0]}</thead><tbody style='vertical-align:top'>{''.join(rows[1:])}</tbody></table></div>"
    )
    if sheet.total_rows > len(sheet.rows) or sheet.total_cols > ncols:
        out += note(hidden_text(sheet, len(sheet.rows) - 1, ncols))
    return out


_ALIGN = {"number": "right", "bool": "center", "text": "left"}


@lru_cache(maxsize=64)
def _style(header: bool, align: str | None, kind: str) -> str:
    """A cell's CSS: the alignment its style sets, else by kind (headers left); numbers never wrap."""
    align = align or ("left" if header else _ALIGN[kind])
    return f"text-align:{align}" + (";white-space:nowrap" if kind != "text" and not header else "")
