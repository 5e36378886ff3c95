"""Hostile files, generated small and fast: the cases of issue 20 item 3."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/>{shared}</Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>{shared}</Relationships>'
)
_SHARED_REL = (
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/>'
)
_SHARED_CT = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sharedStrings+xml"/>'
)


def _sheet(cells: list[tuple[str, str]], dimension: str | None) -> str:
    rows: dict[int, list[str]] = {}
    for ref, value in cells:
        row = int("".join(ch for ch in ref if ch.isdigit()))
        rows.setdefault(row, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main">{dim}<sheetData>{body}</sheetData></worksheet>'
    )


def sparse_xlsx(
    path: Path, cells: list[tuple[str, str]], dimension: str | None = None, sheet_name: str = "Sheet1"
) -> Path:
    """A minimal workbook holding only `cells` (e.g. A1 and XFD1048576: 1.7 KB)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CT.format(shared=""))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB.format(name=sheet_name))
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS.format(shared=""))
        zf.writestr("xl/worksheets/sheet1.xml", _sheet(cells, dimension))
    return path


def _local(name: bytes, method: int, crc: int, csize: int, usize: int) -> bytes:
    return (
        struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, csize, usize, len(name), 0)
        + name
    )


def _central(name: bytes, method: int, crc: int, csize: int, usize: int, offset: int) -> bytes:
    head = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        method,
        0,
        0x21,
        crc,
        csize,
        usize,
        len(name),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    return head + name


def shared_strings_bomb(path: Path, inflated_mb: int = 3400) -> Path:
    """A workbook whose sharedStrings.xml is ~3.3 MB deflated and `inflated_mb` MB inflated.

    The deflate stream is one compressed megabyte repeated: after a full flush the compressor forgets
    its window, so identical input compresses to identical bytes and nothing big is ever held or
    compressed. (Its CRC is not computed: the preview refuses from the zip directory, before reading.)
    """
    chunk = b"<si><t>" + b"A" * 1000 + b"</t></si>"
    chunk *= (1 << 20) // len(chunk)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(b"</sst>") + comp.flush()
    n = inflated_mb
    usize = len(head) + n * len(chunk) + len(b"</sst>")
    csize = len(first) + n * len(block) + len(tail)
    members: list[tuple[bytes, bytes]] = [
        (b"[Content_Types].xml", _CT.format(shared=_SHARED_CT).encode()),
        (b"_rels/.rels", _RELS.encode()),
        (b"xl/workbook.xml", _WB.format(name="Sheet1").encode()),
        (b"xl/_rels/workbook.xml.rels", _WB_RELS.format(shared=_SHARED_REL).encode()),
        (b"xl/worksheets/sheet1.xml", _sheet([("A1", "x")], "A1").encode()),
    ]
    central = io.BytesIO()
    with open(path, "wb") as f:
        for name, data in members:
            offset = f.tell()
            crc = zlib.crc32(data)
            f.write(_local(name, 0, crc, len(data), len(data)) + data)
            central.write(_central(name, 0, crc, len(data), len(data), offset))
        offset = f.tell()
        name = b"xl/sharedStrings.xml"
        f.write(_local(name, 8, 0, csize, usize))
        f.write(first)
        for _ in range(n):
            f.write(block)
        f.write(tail)
        central.write(_central(name, 8, 0, csize, usize, offset))
        cd_offset = f.tell()
        f.write(central.getvalue())
        count = len(members) + 1
        f.write(
            struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central.getvalue()), cd_offset, 0)
        )
    return path


def tall_pdf(path: Path, width_in: float = 1, height_in: float = 1200) -> Path:
    """A ~190-byte pdf with one page of `width_in` x `height_in` inches (no xref: PDFium repairs it)."""
    box = f"0 0 {width_in * 72:g} {height_in * 72:g}"
    path.write_bytes(
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
        b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[" + box.encode() + b"]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return path


def sparse_png(path: Path, size: int = 3 * 1024**3, width: int = 100, height: int = 100) -> Path:
    """A PNG header followed by a hole: `size` bytes on paper, a few KB on disk."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk)
        os.ftruncate(f.fileno(), size)
    return path


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8"?>{prolog}<styleSheet xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main"><numFmts count="{n}">{fmts}</numFmts><cellStyleXfs count="1"><xf numFmtId="0"/>'
    '</cellStyleXfs><cellXfs count="{m}">{xfs}</cellXfs></styleSheet>'
)
_STYLES_REL = (
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'styles" Target="styles.xml"/>'
)


def styled_xlsx(
    path: Path,
    cells: list[tuple[str, object, int]],
    formats: dict[int, str],
    xfs: list[int],
    sheet_name: str = "Sheet1",
    styles_prolog: str = "",
) -> Path:
    """A workbook whose cells (ref, value, style index) use the cell styles `xfs` (each a numFmtId),
    with the custom number formats `formats` ({id: format code}; the XML escapes them, so a parser
    reads back exactly these strings). Numbers are stored as numbers; text values and `sheet_name`
    go into the XML as given (escape markup yourself); `styles_prolog` goes before the styles root."""
    from xml.sax.saxutils import quoteattr

    rows: dict[int, list[str]] = {}
    for ref, value, style in cells:
        row = int("".join(ch for ch in ref if ch.isdigit()))
        if isinstance(value, (int, float)):
            cell = f'<c r="{ref}" s="{style}"><v>{value!r}</v></c>'
        else:
            cell = f'<c r="{ref}" s="{style}" t="inlineStr"><is><t>{value}</t></is></c>'
        rows.setdefault(row, []).append(cell)
    body = "".join(f'<row r="{r}">{"".join(cs)}</row>' for r, cs in sorted(rows.items()))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>'
    )
    fmts = "".join(
        f"<numFmt numFmtId={quoteattr(str(i))} formatCode={quoteattr(c)}/>" for i, c in formats.items()
    )
    styles = _STYLES.format(
        prolog=styles_prolog,
        n=len(formats),
        fmts=fmts,
        m=len(xfs),
        xfs="".join(f'<xf numFmtId="{i}"/>' for i in xfs),
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CT.format(shared=""))
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB.format(name=sheet_name))
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS.format(shared=_STYLES_REL))
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
        zf.writestr("xl/styles.xml", styles)
    return path
