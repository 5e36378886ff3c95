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
import re
import zipfile
from typing import IO, Any, Union
from xml.etree import ElementTree as ET

from ._html import details, note
from ._isolated import IsolatedReader
from ._limits import Limits, PreviewRefused, limits
from ._sheets import sheet_html
from ._sheetxml import SheetPreview, col_number, parts, scan_sheet, sheet_xml_paths, workbook_styles

__all__ = ["SheetPreview", "check_xlsx", "read_sheets", "read_sheets_isolated", "xlsx_html"]

Source = Union[str, "os.PathLike[str]", IO[bytes]]


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
        styles = workbook_styles(f)
        data.seek(0)
        pc = _calamine()
        out = []
        with pc.CalamineWorkbook.from_filelike(data) as wb, parts(data) as (zf, members):
            for index, name in enumerate(wb.sheet_names):
                sheet = wb.get_sheet_by_index(index)
                rows = [list(row)[:cols] for _, row in zip(range(max_rows), sheet.iter_rows())]
                start = sheet.start or (0, 0)
                total = totals[index] if index < len(totals) and totals[index] is not None else sheet.height
                preview = SheetPreview(name, rows, int(total or 0) - start[0], sheet.width)
                if zf is not None and index < len(members):
                    scan_sheet(zf, members[index], max_rows, cols, start, styles, preview)
                out.append(preview)
        return out


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
        for member in sheet_xml_paths(zin):
            head, total = _head_rows(zin, member, max_rows)
            zout.writestr(member, _DIMENSION_ELEMENT.sub(b"", head, count=1))
            totals.append(total)
    buf.seek(0)
    return buf, totals


_DIMENSION_ELEMENT = re.compile(rb"<dimension\b[^>]*/>")
_DIMENSION_REF = re.compile(rb'<dimension\b[^>]*?\sref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')
_CELL_REF = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,3})(\d{1,7})"')
_ROW_REF = re.compile(rb'<row\b[^>]*?\sr="(\d{1,7})"')


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
        for member in sheet_xml_paths(zf):
            box = [1 << 30, 0, 1 << 30, 0]  # lowest row, highest row, lowest column, highest column
            carry = b""
            with zf.open(member) as stream:
                while chunk := stream.read(1 << 20):
                    window = carry + chunk
                    cut = window.rfind(b"<")
                    scan, carry = (window[:cut], window[cut:]) if cut > 0 else (window, b"")
                    _widen(box, scan)
            if box[1]:
                problem = _span_problem(member, box[1] - box[0] + 1, max(box[3] - box[2] + 1, 1), caps)
                if problem:
                    raise PreviewRefused(problem)


def _widen(box: list[int], scan: bytes) -> None:
    """`box` grown to hold every cell and row reference in `scan`."""
    cells = _CELL_REF.findall(scan)
    rows = [int(r) for r in _ROW_REF.findall(scan)]
    if cells:
        letters, numbers = zip(*cells)
        rows += map(int, numbers)
        cols = [col_number(c) for c in set(letters)]
        box[2], box[3] = min(box[2], *cols), max(box[3], *cols)
    if rows:
        box[0], box[1] = min(box[0], *rows), max(box[1], *rows)


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
                for member in sheet_xml_paths(zf):
                    with zf.open(member) as stream:
                        m = _DIMENSION_REF.search(stream.read(4096))
                    if m and m.group(3):
                        rows = int(m.group(4)) - int(m.group(2)) + 1
                        cols = col_number(m.group(3)) - col_number(m.group(1)) + 1
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
