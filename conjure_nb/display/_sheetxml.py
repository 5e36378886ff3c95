"""What a sheet's XML says that calamine does not: formulas, each cell's number format and
alignment (through its style), and the column widths, read from the head of the sheet part only.

The head is the part up to its first row past the preview, cut as bytes (a regex finds the row
starts) and closed, then parsed in one pass of the C parser: a sheet of 100,000 rows costs its
first rows. Every part goes through `_styles.parse_no_dtd` (no DTD); what fails to read leaves a
preview without formats, never without its cells.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any
from xml.etree import ElementTree as ET

from ._styles import parse_no_dtd, read_styles, refuse_dtd

__all__ = ["SheetPreview", "col_number", "parts", "scan_sheet", "sheet_xml_paths", "workbook_styles"]

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
    formats: dict[tuple[int, int], str] = field(default_factory=dict)
    """The number format code of each preview cell that has one (General is left out)."""
    aligns: dict[tuple[int, int], str] = field(default_factory=dict)
    """The horizontal alignment a cell's style sets (left, right, center)."""
    widths: dict[int, float] = field(default_factory=dict)
    """Column widths the sheet sets (Excel's unit: characters of the default font), by column."""


@contextlib.contextmanager
def parts(data: IO[bytes]) -> Iterator[tuple[zipfile.ZipFile | None, list[str]]]:
    """The workbook open as a zip once, with its sheets' XML member names in workbook order (no
    zip and no names when that fails: the cells still show, without formats)."""
    data.seek(0)
    try:
        zf = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, ValueError):
        yield None, []
        return
    with zf:
        try:
            members = sheet_xml_paths(zf)
        except (KeyError, ValueError, ET.ParseError):
            members = []
        yield zf, members


def workbook_styles(source: IO[bytes]) -> list[tuple[str, str | None]]:
    """Each cell style's number format and alignment (`_styles.read_styles`); none when the part
    is missing or unreadable (every cell is then General, as calamine reads it)."""
    try:
        source.seek(0)
        with zipfile.ZipFile(source) as zf:
            member = _part(zf, "styles") or "xl/styles.xml"
            with zf.open(member) as stream:
                return read_styles(stream)
    except (KeyError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return []


def col_number(letters: bytes) -> int:
    """A column's number from 1 (A is 1, AA is 27) from its letters as bytes."""
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def sheet_xml_paths(zf: zipfile.ZipFile) -> list[str]:
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
    """(row, column) from 0 of a reference such as "B12"."""
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters) :]) - 1, _col_of(letters.upper()) - 1


@lru_cache(maxsize=1024)
def _col_of(letters: str) -> int:
    return col_number(letters.encode("ascii", "replace"))


def scan_sheet(
    zf: zipfile.ZipFile,
    member: str,
    max_rows: int,
    max_cols: int,
    start: tuple[int, int],
    styles: list[tuple[str, str | None]],
    into: SheetPreview,
) -> None:
    """What calamine does not give, from the preview rows of one sheet's XML: formulas, each cell's
    number format and alignment (through its style index), and the column widths. Only the head of
    the part is read (up to the first row past the preview); with formulas it is closed and parsed
    in one pass of the C parser, else its start tags are read (`_read_tags`). Keys are (row, col)
    of the preview. An unreadable sheet leaves `into` as it is."""
    try:
        with zf.open(member) as stream:
            head = _head_part(stream, start[0] + max_rows)
        if _FORMULA.search(head):  # a formula's text is XML text (entities...): the parser reads it
            _read_parsed(parse_no_dtd(head), max_cols, start, styles, into)
        else:
            refuse_dtd(head)
            _read_tags(head, max_cols, start, styles, into)
    except (KeyError, ValueError, zipfile.BadZipFile, ET.ParseError, EOFError, zlib.error):
        return


def _read_parsed(
    root: ET.Element,
    max_cols: int,
    start: tuple[int, int],
    styles: list[tuple[str, str | None]],
    into: SheetPreview,
) -> None:
    for elem in root.iterfind(f"{_M}cols/{_M}col"):
        _col_width(elem, start[1], max_cols, into.widths)
    for row in root.iterfind(f"{_M}sheetData/{_M}row"):
        for elem in row.iterfind(_C):
            _cell_facts(elem, start, styles, into)


def _read_tags(
    head: bytes,
    max_cols: int,
    start: tuple[int, int],
    styles: list[tuple[str, str | None]],
    into: SheetPreview,
) -> None:
    """`_read_parsed` for a head with no formula, from the start tags alone: the widths of `<col>`
    and the style of each `<c>` whose style shows (a format other than General, or an alignment),
    found by regex with no tree built (a third of the time). What only an odd file writes (an
    entity in an `s` or `r` attribute) is not read: such a cell shows as General."""
    for tag in _COL_TAG.finditer(head):
        attrs = {k.decode(): (a or b).decode("utf-8", "replace") for k, a, b in _ATTR.findall(tag.group(1))}
        _col_width(attrs, start[1], max_cols, into.widths)
    shown = {i for i, (code, align) in enumerate(styles) if code != "General" or align}
    if not shown:
        return
    for tag in _CELL_TAG.finditer(head):
        style = _S_ATTR.search(tag.group(1))
        if style is None or int(style.group(1)) not in shown:
            continue
        code, align = styles[int(style.group(1))]
        ref = _R_ATTR.search(tag.group(1))
        row, col = _cell_index(ref.group(1).decode() if ref else "A1")
        key = (row - start[0], col - start[1])
        if code != "General":
            into.formats[key] = code
        if align:
            into.aligns[key] = align


_FORMULA = re.compile(rb"<(?:[\w.-]{1,32}:)?f[\s>/]")
_COL_TAG = re.compile(rb"<(?:[\w.-]{1,32}:)?col\s([^>]*)>")
_CELL_TAG = re.compile(rb"<(?:[\w.-]{1,32}:)?c\s([^>]*)>")
_ATTR = re.compile(rb"""(?:^|\s)([\w:.-]{1,64})\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_S_ATTR = re.compile(rb"""(?:^|\s)s\s*=\s*["'](\d{1,9})["']""")
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']([A-Za-z]{1,3}\d{1,7})["']""")


_PREFIXED_ROW = re.compile(rb"<(?:[\w.-]{1,32}:)?row[\s>/]")
_ROW_AT = re.compile(rb"""<(?:[\w.-]{1,32}:)?row\b[^>]*?\sr=["'](\d{1,7})["']""")
_SHEET_DATA = re.compile(rb"<((?:[\w.-]{1,32}:)?)sheetData[\s>]")
_ROOT = re.compile(rb"<((?:[\w.-]{1,32}:)?)worksheet[\s>]")


def _head_part(stream: IO[bytes], last_row: int) -> bytes:
    """The sheet XML up to its first row numbered past `last_row`, closed properly; the whole part
    when it has no such row. Each row start is looked at once, when its tag is complete."""
    data = bytearray()
    at = 0  # where the next row start is looked for
    row = 0  # the number of the last row seen (a row without r="" is the one after it)
    while True:
        chunk = stream.read(1 << 16)
        data += chunk
        waiting = False
        while (start := _PREFIXED_ROW.search(data, at)) is not None:
            if chunk and data.find(b">", start.start()) < 0:
                at, waiting = start.start(), True  # the tag goes on in the next chunk
                break
            number = _ROW_AT.match(data, start.start())
            row = int(number.group(1)) if number else row + 1
            if row > last_row:
                return _closed(bytes(data[: start.start()]))
            at = start.end()
        if not chunk:
            return bytes(data)
        if not waiting:
            at = max(at, len(data) - 40)  # a row tag may start in this chunk's last bytes


def _closed(head: bytes) -> bytes:
    """`head` (a sheet cut before a row) with its sheetData and worksheet elements closed."""
    data, root = _SHEET_DATA.search(head), _ROOT.search(head)
    if data is None or root is None:
        raise ValueError("no sheetData")
    return head + b"</" + data.group(1) + b"sheetData></" + root.group(1) + b"worksheet>"


def _col_width(
    elem: ET.Element | dict[str, str], first: int, max_cols: int, widths: dict[int, float]
) -> None:
    try:
        lo, hi, width = int(elem.get("min", "0")), int(elem.get("max", "0")), float(elem.get("width", "0"))
    except ValueError:
        return
    if width <= 0 or width != width:
        return
    for col in range(max(lo - 1 - first, 0), min(hi - first, max_cols)):
        widths[col] = width


def _cell_facts(
    elem: ET.Element, start: tuple[int, int], styles: list[tuple[str, str | None]], into: SheetPreview
) -> None:
    formula = elem.find(_F)
    text = None if formula is None else formula.text
    style = elem.get("s")
    code, align = styles[int(style)] if style and style.isdigit() and int(style) < len(styles) else _PLAIN
    if not text and code == "General" and not align:
        return  # most cells: nothing calamine did not say
    row, col = _cell_index(elem.get("r", "A1"))
    key = (row - start[0], col - start[1])
    if text:
        into.formulas[key] = "=" + text
    if code != "General":
        into.formats[key] = code
    if align:
        into.aligns[key] = align


_F, _C = _M + "f", _M + "c"
_PLAIN: tuple[str, str | None] = ("General", None)


def _part(zf: zipfile.ZipFile, kind: str) -> str | None:
    """The workbook part of relationship type `kind` (e.g. "styles"), by the workbook's rels."""
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.findall("rel:Relationship", _NS):
        if rel.get("Type", "").endswith("/" + kind):
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    return None
