"""xlsx previews: every sheet under its name, big sheets cut to a preview with their row count.

python-calamine (Rust) reads the cells, with their types (dates through the styles, shared strings,
booleans), many times faster than openpyxl. Even calamine parses a whole sheet before giving its
first row, so a big workbook is first cut down: a small stored (uncompressed) copy is made whose
sheets hold only the preview rows, calamine reads that, and each sheet's full row count comes from
its `<dimension>` or, when a writer left that out, from the last `<row r=...>` of the inflated XML
(a plain scan, no parsing). See bench/bench_render.py for the figures beside openpyxl.

Calamine returns the cached value of formula cells; a formula whose value was never computed
(files written by openpyxl or xlsxwriter) comes back empty, so the preview rows of the sheet XML
are scanned for `<f>` elements and such cells show their formula instead.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from .html import details, esc, note, rows_table

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


_ROW_START = re.compile(rb"<row[\s>/]")
_ROW_NUMBER = re.compile(rb'<row[^>]*?\sr="(\d+)"')
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]*\d+(?::[A-Z]+(\d+))?"')
_KEEP = ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
         "xl/styles.xml", "xl/sharedStrings.xml")  # fmt: skip
SMALL_XLSX = 2 * 1024 * 1024


def read_sheets(path: str | os.PathLike[str], max_rows: int = 20) -> list[SheetPreview]:
    """The first `max_rows` rows of every sheet (header included), with each sheet's size."""
    source: Any = os.fspath(path)
    totals: list[int | None] = []
    if os.path.getsize(path) > SMALL_XLSX:
        try:
            source, totals = _cut_down(path, max_rows)
        except (KeyError, IndexError, ValueError, zipfile.BadZipFile, ET.ParseError):
            source, totals = os.fspath(path), []
    pc = _calamine()
    out = []
    wb = pc.CalamineWorkbook.from_filelike(source) if isinstance(source, io.BytesIO) else (
        pc.CalamineWorkbook.from_path(source)
    )  # fmt: skip
    with wb:
        for index, name in enumerate(wb.sheet_names):
            sheet = wb.get_sheet_by_index(index)
            rows = [list(row) for _, row in zip(range(max_rows), sheet.iter_rows())]
            start = sheet.start or (0, 0)
            total = totals[index] if index < len(totals) and totals[index] is not None else sheet.height
            preview = SheetPreview(name, rows, int(total or 0) - start[0], sheet.width)
            preview.formulas = _formulas(path, index, max_rows, start)
            out.append(preview)
    return out


def _cut_down(path: str | os.PathLike[str], max_rows: int) -> tuple[io.BytesIO, list[int | None]]:
    """A stored copy of the workbook whose sheets keep only their first `max_rows` rows, and the
    last row number of each original sheet."""
    buf = io.BytesIO()
    totals: list[int | None] = []
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zout:
        names = set(zin.namelist())
        for member in _KEEP:
            if member in names:
                zout.writestr(member, zin.read(member))
        for member in _sheet_xml_paths(zin):
            head, total = _head_rows(zin, member, max_rows)
            zout.writestr(member, head)
            totals.append(total)
    buf.seek(0)
    return buf, totals


def _head_rows(zf: zipfile.ZipFile, member: str, max_rows: int) -> tuple[bytes, int | None]:
    """The sheet XML up to its `max_rows`-th row, closed properly, and the sheet's last row number."""
    data = b""
    with zf.open(member) as stream:
        while True:
            chunk = stream.read(1 << 18)
            data += chunk
            starts = [m.start() for m in _ROW_START.finditer(data)]
            if len(starts) > max_rows or not chunk:
                break
        cut = starts[max_rows] if len(starts) > max_rows else data.find(b"</sheetData>")
        if cut < 0:
            raise ValueError(f"{member}: no sheetData")
        head = data[:cut] + b"</sheetData></worksheet>"
        dim = _DIMENSION.search(data[:cut])
        if dim and dim.group(1):
            return head, int(dim.group(1))
        last = _last_row(data)
        carry = data[-256:]
        while chunk:
            chunk = stream.read(1 << 20)
            window = carry + chunk
            last = _last_row(window) or last
            carry = window[-256:]
    return head, last


def _last_row(data: bytes) -> int | None:
    """The number of the last `<row r="N">` that starts in `data` (rows are in ascending order)."""
    end = len(data)
    while True:
        i = data.rfind(b"<row", 0, end)
        if i < 0:
            return None
        m = _ROW_NUMBER.match(data, i)
        if m:
            return int(m.group(1))
        end = i


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
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)  # calamine gives every number as a float
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
    # the first sheet open, the others folded under their names: a workbook stays one screen tall
    parts = [
        sheet_html(s) if i == 0 else details(f"sheet {s.name}", sheet_html(s)) for i, s in enumerate(sheets)
    ]
    return head + "".join(parts)
