"""xlsx previews: every sheet under its name, big sheets cut to a preview with their row count.

python-calamine (Rust) reads the cells, with their types (dates through the styles, shared strings,
booleans), many times faster than openpyxl. Even calamine parses a whole sheet before giving its
first row, so a big workbook is first cut down: a small stored (uncompressed) copy is made whose
sheets hold only the preview rows, calamine reads that, and each sheet's full row count comes from
its `<dimension>` or, when a writer left that out, from the last `<row r=...>` of the inflated XML
(a plain scan, no parsing). See bench/bench_render.py for the figures beside openpyxl.

A workbook is untrusted, and calamine allocates a sheet as one dense rectangle: a 1.7 KB file with
cells A1 and XFD1048576 asks for 17 billion cells and aborts the process, and a few MB of
shared strings can inflate to gigabytes. So, in this order: the zip directory's inflated sizes are
checked (`limits.max_xlsx_inflated_bytes`), each sheet's `<dimension>` and then every cell
reference calamine would see are checked (`limits.max_xlsx_cells`), and only then does calamine
read, in a separate process (`read_sheets_isolated`) with a memory limit and a timeout, so a crash
there is a one-line refusal, not a dead kernel.

Calamine returns the cached value of formula cells; a formula whose value was never computed
(files written by openpyxl or xlsxwriter) comes back empty, so the preview rows of the sheet XML
are scanned for `<f>` elements and such cells show their formula instead.
"""

from __future__ import annotations

import datetime
import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO, Any, Union
from xml.etree import ElementTree as ET

from ._html import details, note
from ._isolated import IsolatedReader
from ._limits import Limits, PreviewRefused, limits
from ._numfmt import iterparse_no_dtd, read_styles
from ._sheets import sheet_html

__all__ = ["SheetPreview", "check_xlsx", "read_sheets", "read_sheets_isolated", "xlsx_html"]

Source = Union[str, "os.PathLike[str]", IO[bytes]]

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


def read_sheets(
    source: Source,
    max_rows: int = 20,
    *,
    small: int | None = None,
    caps: Limits | None = None,
    max_cols: int | None = None,
) -> list[SheetPreview]:
    """The first `max_rows` rows of every sheet (header included), with each sheet's size, the
    number formats and alignments of those cells, and the sheet's column widths.

    `max_cols` keeps that many columns of each row (default `caps.max_table_cols`).

    This parses in the calling process; previews use `read_sheets_isolated`. Every cell reference
    calamine would see is checked against `caps` first.

    Raises:
        PreviewRefused: a sheet spans more cells than `caps.max_xlsx_cells` allows.
    """
    caps = caps or limits
    with _binary(source) as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        totals: list[int | None] = []
        data: IO[bytes] = f
        if size > (SMALL_XLSX if small is None else small):
            try:
                data, totals = _cut_down(f, max_rows)
            except (KeyError, IndexError, ValueError, zipfile.BadZipFile, ET.ParseError):
                f.seek(0)
                data, totals = f, []
        _check_cells(data, caps)
        cols = caps.max_table_cols if max_cols is None else max_cols
        styles = _styles(f)
        data.seek(0)
        pc = _calamine()
        out = []
        with pc.CalamineWorkbook.from_filelike(data) as wb:
            for index, name in enumerate(wb.sheet_names):
                sheet = wb.get_sheet_by_index(index)
                rows = [list(row)[:cols] for _, row in zip(range(max_rows), sheet.iter_rows())]
                start = sheet.start or (0, 0)
                total = totals[index] if index < len(totals) and totals[index] is not None else sheet.height
                preview = SheetPreview(name, rows, int(total or 0) - start[0], sheet.width)
                _scan_sheet(f, index, max_rows, cols, start, styles, preview)
                out.append(preview)
        return out


def _styles(source: IO[bytes]) -> list[tuple[str, str | None]]:
    """Each cell style's number format and alignment (`_numfmt.read_styles`); none when the part
    is missing or unreadable (every cell is then General, as calamine reads it)."""
    try:
        source.seek(0)
        with zipfile.ZipFile(source) as zf:
            member = _part(zf, "styles") or "xl/styles.xml"
            with zf.open(member) as stream:
                return read_styles(stream)
    except (KeyError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return []


class _binary:
    """`source` as a seekable binary file: a path is opened (and closed after), a file is used as is."""

    def __init__(self, source: Source):
        self.source = source
        self.opened: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        if isinstance(self.source, (str, os.PathLike)):
            self.opened = open(self.source, "rb")
            return self.opened
        return self.source

    def __exit__(self, *exc: object) -> None:
        if self.opened is not None:
            self.opened.close()


def _cut_down(f: IO[bytes], max_rows: int) -> tuple[io.BytesIO, list[int | None]]:
    """A stored copy of the workbook whose sheets keep only their first `max_rows` rows, and the
    last row number of each original sheet. The copy has no `<dimension>`: calamine sizes each sheet
    from the cells it keeps."""
    buf = io.BytesIO()
    totals: list[int | None] = []
    with zipfile.ZipFile(f) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zout:
        names = set(zin.namelist())
        for member in _KEEP:
            if member in names:
                zout.writestr(member, zin.read(member))
        for member in _sheet_xml_paths(zin):
            head, total = _head_rows(zin, member, max_rows)
            zout.writestr(member, _DIMENSION_ELEMENT.sub(b"", head, count=1))
            totals.append(total)
    buf.seek(0)
    return buf, totals


_DIMENSION_ELEMENT = re.compile(rb"<dimension\b[^>]*/>")
_DIMENSION_REF = re.compile(rb'<dimension\b[^>]*?\sref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
_CELL_REF = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,3})(\d{1,7})"')
_ROW_REF = re.compile(rb'<row\b[^>]*?\sr="(\d{1,7})"')


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _span_problem(sheet: str, rows: int, cols: int, caps: Limits) -> str | None:
    if cols > caps.max_xlsx_columns or rows * cols > caps.max_xlsx_cells:
        return (
            f"sheet {sheet} spans {rows:,} rows x {cols:,} columns ({rows * cols:,} cells), more than "
            f"limits.max_xlsx_cells={caps.max_xlsx_cells:,}; not parsed"
        )
    return None


def _check_cells(data: IO[bytes], caps: Limits) -> None:
    """Refuse when the cells calamine would see span too big a rectangle (every `r=` reference)."""
    data.seek(0)
    with zipfile.ZipFile(data) as zf:
        for member in _sheet_xml_paths(zf):
            lo_row = lo_col = 1 << 30
            hi_row = hi_col = 0
            carry = b""
            with zf.open(member) as stream:
                while chunk := stream.read(1 << 20):
                    window = carry + chunk
                    cut = window.rfind(b"<")
                    scan, carry = (window[:cut], window[cut:]) if cut > 0 else (window, b"")
                    for m in _CELL_REF.finditer(scan):
                        col, row = _col(m.group(1)), int(m.group(2))
                        lo_row, hi_row = min(lo_row, row), max(hi_row, row)
                        lo_col, hi_col = min(lo_col, col), max(hi_col, col)
                    for m in _ROW_REF.finditer(scan):
                        row = int(m.group(1))
                        lo_row, hi_row = min(lo_row, row), max(hi_row, row)
            if hi_row:
                problem = _span_problem(member, hi_row - lo_row + 1, max(hi_col - lo_col + 1, 1), caps)
                if problem:
                    raise PreviewRefused(problem)


def check_xlsx(f: IO[bytes], caps: Limits | None = None) -> None:
    """The checks made before any parser sees the workbook: cheap, from the zip directory and the
    first bytes of each sheet.

    Raises:
        PreviewRefused: not a zip, parts that inflate past `max_xlsx_inflated_bytes`, or a
            `<dimension>` past `max_xlsx_cells` (for a workbook small enough to be read as it is).
    """
    caps = caps or limits
    size = f.seek(0, os.SEEK_END)
    if size > caps.max_xlsx_bytes:
        raise PreviewRefused(
            f"{size:,} bytes, more than limits.max_xlsx_bytes={caps.max_xlsx_bytes:,}; not opened"
        )
    f.seek(0)
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            inflated = sum(i.file_size for i in infos if i.filename.endswith(".xml"))
            if inflated > caps.max_xlsx_inflated_bytes:
                biggest = max(infos, key=lambda i: i.file_size)
                raise PreviewRefused(
                    f"its XML inflates to {inflated:,} bytes ({biggest.filename}: {biggest.file_size:,}), more "
                    f"than limits.max_xlsx_inflated_bytes={caps.max_xlsx_inflated_bytes:,}; not parsed"
                )
            if size <= SMALL_XLSX:
                for member in _sheet_xml_paths(zf):
                    with zf.open(member) as stream:
                        m = _DIMENSION_REF.search(stream.read(4096))
                    if m and m.group(3):
                        rows = int(m.group(4)) - int(m.group(2)) + 1
                        cols = _col(m.group(3)) - _col(m.group(1)) + 1
                        problem = _span_problem(member, abs(rows), abs(cols), caps)
                        if problem:
                            raise PreviewRefused(problem)
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as exc:
        raise PreviewRefused(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})") from None
    finally:
        f.seek(0)


_READER = IsolatedReader("conjure_nb.display._xlsx:_read_request", "the xlsx reader")


def read_sheets_isolated(f: IO[bytes], max_rows: int = 20, caps: Limits | None = None) -> list[SheetPreview]:
    """`read_sheets` in the helper process (`display.isolated`), which gets the open file (not its
    path), no secrets in its environment, a memory limit and a deadline: calamine aborting, or a
    sheet that slipped past the checks, refuses this preview and leaves the kernel alone.

    Raises:
        PreviewRefused: the reader refused the file, failed, was killed, or ran out of time.
    """
    caps = caps or limits
    memory = max(2 * caps.max_xlsx_inflated_bytes, 1 << 30)
    args = {"max_rows": max_rows, "small": SMALL_XLSX, "caps": caps.__dict__}
    reply = _READER.call(f, args, timeout=caps.parse_timeout_s, memory=memory)
    f.seek(0)
    return [
        SheetPreview(
            s["name"],
            [[_typed(v) for v in row] for row in s["rows"]],
            s["total_rows"],
            s["total_cols"],
            {(r, c): v for r, c, v in s["formulas"]},
            {(r, c): v for r, c, v in s["formats"]},
            {(r, c): v for r, c, v in s["aligns"]},
            {int(c): float(w) for c, w in s["widths"]},
        )
        for s in reply["sheets"]
    ]


def _plain(value: Any) -> Any:
    """A cell value as JSON: dates and times tagged, so text that looks like a date stays text."""
    if isinstance(value, datetime.timedelta):
        return {"timedelta": value.total_seconds()}
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return {type(value).__name__: value.isoformat()}
    return value


def _typed(value: Any) -> Any:
    """`_plain` undone in the kernel (a dict is always a tag: calamine gives no dict values)."""
    if not isinstance(value, dict):
        return value
    ((tag, text),) = value.items()
    if tag == "timedelta":
        return datetime.timedelta(seconds=float(text))
    if tag == "datetime":
        return datetime.datetime.fromisoformat(str(text))
    if tag == "date":
        return datetime.date.fromisoformat(str(text))
    return datetime.time.fromisoformat(str(text))


def _read_request(f: IO[bytes], args: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - in the child
    """One preview in the helper process: the sheets as JSON-ready data."""
    sheets = read_sheets(f, args["max_rows"], small=args["small"], caps=Limits(**args["caps"]))
    return {
        "sheets": [
            {
                "name": s.name,
                "rows": [[_plain(v) for v in row] for row in s.rows],
                "total_rows": s.total_rows,
                "total_cols": s.total_cols,
                "formulas": [[r, c, v] for (r, c), v in s.formulas.items()],
                "formats": [[r, c, v] for (r, c), v in s.formats.items()],
                "aligns": [[r, c, v] for (r, c), v in s.aligns.items()],
                "widths": [[c, w] for c, w in s.widths.items()],
            }
            for s in sheets
        ]
    }


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


def _scan_sheet(
    source: IO[bytes],
    index: int,
    max_rows: int,
    max_cols: int,
    start: tuple[int, int],
    styles: list[tuple[str, str | None]],
    into: SheetPreview,
) -> None:
    """What calamine does not give, from the first `max_rows` rows of sheet `index`'s XML: formulas,
    each cell's number format and alignment (through its style index), and the column widths.
    Keys are (row, col) of the preview. An unreadable sheet leaves `into` as it is."""
    try:
        source.seek(0)
        with zipfile.ZipFile(source) as zf:
            member = _sheet_xml_paths(zf)[index]
            with zf.open(member) as stream:
                for event, elem in iterparse_no_dtd(stream):
                    if event != "end":
                        continue
                    if elem.tag == _M + "row" and int(elem.get("r", "0")) > start[0] + max_rows:
                        break
                    if elem.tag == _M + "col":
                        _col_width(elem, start[1], max_cols, into.widths)
                    elif elem.tag == _M + "c":
                        _cell_facts(elem, start, styles, into)
                        elem.clear()
    except (KeyError, IndexError, ValueError, zipfile.BadZipFile, ET.ParseError):
        return


def _col_width(elem: ET.Element, first: int, max_cols: int, widths: dict[int, float]) -> None:
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
    row, col = _cell_index(elem.get("r", "A1"))
    key = (row - start[0], col - start[1])
    formula = elem.find(_M + "f")
    if formula is not None and formula.text:
        into.formulas[key] = "=" + formula.text
    style = elem.get("s")
    if style is not None and style.isdigit() and int(style) < len(styles):
        code, align = styles[int(style)]
        if code != "General":
            into.formats[key] = code
        if align:
            into.aligns[key] = align


def _part(zf: zipfile.ZipFile, kind: str) -> str | None:
    """The workbook part of relationship type `kind` (e.g. "styles"), by the workbook's rels."""
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.findall("rel:Relationship", _NS):
        if rel.get("Type", "").endswith("/" + kind):
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    return None


def xlsx_html(f: IO[bytes], max_rows: int = 20) -> str:
    """Every sheet of the workbook open as `f` as a table under its name (checked, then read in a
    separate process).

    Raises:
        PreviewRefused: see `check_xlsx` and `read_sheets_isolated`.
    """
    check_xlsx(f)
    sheets = read_sheets_isolated(f, max_rows=max_rows + 1)
    head = note(f"{len(sheets)} sheet(s): " + ", ".join(s.name for s in sheets))
    # the first sheet open, the others folded under their names: a workbook stays one screen tall
    parts = [
        sheet_html(s) if i == 0 else details(f"sheet {s.name}", sheet_html(s)) for i, s in enumerate(sheets)
    ]
    return head + "".join(parts)
