"""xlsx previews: every sheet under its name, big sheets cut to a preview with their row count.

python-calamine (Rust) reads the cells: on a workbook of 3 sheets x 100k rows it is several times
faster than openpyxl (see bench/bench_render.py). It returns the cached value of formula cells; a
formula whose value was never computed (files written by openpyxl or xlsxwriter) comes back empty,
so for the preview rows only the sheet XML is scanned for `<f>` elements and such cells show
their formula instead.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from .html import esc, note, rows_table

__all__ = ["SheetPreview", "read_sheets", "xlsx_html"]

_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_M = "{" + _NS["m"] + "}"


@dataclass
class SheetPreview:
    """The first rows of one sheet and its full size."""

    name: str
    rows: list[list[Any]]
    total_rows: int
    total_cols: int
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)


def _calamine() -> Any:
    try:
        import python_calamine
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("xlsx previews need python-calamine: pip install conjure-nb") from exc
    return python_calamine


def read_sheets(path: str | os.PathLike[str], max_rows: int = 20) -> list[SheetPreview]:
    """The first `max_rows` rows of every sheet (header included), with each sheet's size."""
    pc = _calamine()
    out = []
    with pc.CalamineWorkbook.from_path(os.fspath(path)) as wb:
        for index, name in enumerate(wb.sheet_names):
            sheet = wb.get_sheet_by_index(index)
            rows = []
            for i, row in enumerate(sheet.iter_rows()):
                if i >= max_rows:
                    break
                rows.append(list(row))
            start = sheet.start or (0, 0)
            preview = SheetPreview(name, rows, sheet.height, sheet.width)
            preview.formulas = _formulas(path, index, max_rows, start)
            out.append(preview)
    return out


def _sheet_xml_paths(zf: zipfile.ZipFile) -> list[str]:
    """Sheet XML member names in workbook order (resolved through the workbook's relationships)."""
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    paths = []
    for sheet in wb.findall("m:sheets/m:sheet", _NS):
        target = targets.get(sheet.get("{" + _NS["r"] + "}id"), "")
        paths.append(target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target))
    return paths


def _cell_index(ref: str) -> tuple[int, int]:
    col = 0
    i = 0
    while i < len(ref) and ref[i].isalpha():
        col = col * 26 + (ord(ref[i].upper()) - 64)
        i += 1
    return int(ref[i:]) - 1, col - 1


def _formulas(
    path: str | os.PathLike[str], index: int, max_rows: int, start: tuple[int, int]
) -> dict[tuple[int, int], str]:
    """Formulas in the first `max_rows` rows of sheet `index`, keyed by (row, col) of the preview."""
    found: dict[tuple[int, int], str] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            member = _sheet_xml_paths(zf)[index]
            with zf.open(member) as stream:
                for _, elem in ET.iterparse(stream, events=("end",)):
                    if elem.tag == _M + "row" and int(elem.get("r", "0")) > start[0] + max_rows:
                        break
                    if elem.tag == _M + "c":
                        f = elem.find(_M + "f")
                        if f is not None and f.text:
                            row, col = _cell_index(elem.get("r", "A1"))
                            found[(row - start[0], col - start[1])] = "=" + f.text
                        elem.clear()
    except (KeyError, IndexError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return {}
    return found


def _cell(value: Any, formula: str | None) -> str:
    if formula and value in ("", None):
        return f"<i title='formula, no cached value'>{esc(formula)}</i>"
    text = "" if value is None else esc(value)
    return f"<span title='{esc(formula)}'>{text}</span>" if formula else text


def sheet_html(sheet: SheetPreview) -> str:
    if not sheet.rows:
        return f"<h4>{esc(sheet.name)}</h4>" + note("empty sheet")
    width = max(len(r) for r in sheet.rows)
    header = [str(v) for v in sheet.rows[0]] + [""] * (width - len(sheet.rows[0]))
    body = [
        [_cell(v, sheet.formulas.get((i, j))) for j, v in enumerate(row + [""] * (width - len(row)))]
        for i, row in enumerate(sheet.rows[1:], start=1)
    ]
    out = f"<h4 style='margin:0.6em 0 0.2em'>{esc(sheet.name)}</h4>" + rows_table(header, body)
    data_rows = max(sheet.total_rows - 1, 0)
    if sheet.total_rows > len(sheet.rows):
        out += note(f"{len(body):,} of {data_rows:,} rows shown; {sheet.total_cols} columns")
    return out


def xlsx_html(path: str | os.PathLike[str], max_rows: int = 20) -> str:
    """Every sheet of the workbook at `path` as a table under its name."""
    sheets = read_sheets(path, max_rows=max_rows + 1)
    head = note(f"{len(sheets)} sheet(s): " + ", ".join(s.name for s in sheets))
    return head + "".join(sheet_html(s) for s in sheets)
