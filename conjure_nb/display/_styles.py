"""A workbook's `styles.xml`: each cell style's number format and alignment, and the one way the
xlsx reader parses a workbook part (no DTD, so no entity games).

A cell names its style by index (`<c s="4">`); the index picks an `<xf numFmtId=...>` of `cellXfs`,
and the id a built-in format (`_numfmt.BUILTIN`) or the workbook's own `<numFmt formatCode=...>`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree import ElementTree as ET

from ._numfmt import BUILTIN, MAX_CODE

__all__ = ["MAX_STYLES", "iterparse_no_dtd", "parse_no_dtd", "read_styles", "refuse_dtd"]

MAX_STYLES = 65_536  # cellXfs entries read at most (Excel allows 64,000)
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ALIGN = {"left", "right", "center"}


def read_styles(stream: IO[bytes]) -> list[tuple[str, str | None]]:
    """(format code, horizontal alignment or None) of each cell style (`cellXfs`) in `stream`.

    Streams the part and keeps at most `MAX_STYLES` styles; a DTD refuses it (no entity games).

    Raises:
        ValueError: the part declares a DTD.
        xml.etree.ElementTree.ParseError: it is not well-formed.
    """
    custom: dict[int, str] = {}
    styles: list[tuple[str, str | None]] = []
    depth_in_xfs = 0
    for event, elem in iterparse_no_dtd(stream):
        tag = elem.tag
        if tag == _MAIN + "cellXfs":
            depth_in_xfs += 1 if event == "start" else -1
        elif event == "end" and tag == _MAIN + "numFmt" and len(custom) < MAX_STYLES:
            code = elem.get("formatCode", "")
            if len(code) <= MAX_CODE:
                custom[_int(elem.get("numFmtId"))] = code
        elif event == "end" and tag == _MAIN + "xf" and depth_in_xfs and len(styles) < MAX_STYLES:
            number = _int(elem.get("numFmtId"))
            code = custom.get(number) or BUILTIN.get(number, "General")
            align = elem.find(_MAIN + "alignment")
            horizontal = None if align is None else align.get("horizontal")
            styles.append((code, horizontal if horizontal in _ALIGN else None))
        if event == "end" and tag in (_MAIN + "xf", _MAIN + "numFmt", _MAIN + "cellStyleXfs"):
            elem.clear()
    return styles


def iterparse_no_dtd(stream: IO[bytes]) -> Iterator[tuple[str, ET.Element]]:
    """`ET.iterparse` (start and end events) over a part that has no DTD: every chunk is checked
    for a document type or entity declaration before the parser sees it.

    Raises:
        ValueError: the part declares a DTD.
    """
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    tail = b""
    while chunk := stream.read(1 << 16):
        refuse_dtd(tail + chunk)
        tail = chunk[-len(_DTD_MARKS[0]) :]
        parser.feed(chunk)
        yield from parser.read_events()  # type: ignore[misc]
    parser.close()
    yield from parser.read_events()  # type: ignore[misc]


def parse_no_dtd(data: bytes) -> ET.Element:
    """`data` (a whole part, or the head of one closed properly) as an element tree, in one pass of
    the C parser; a DTD refuses it.

    Raises:
        ValueError: the part declares a DTD.
        xml.etree.ElementTree.ParseError: it is not well-formed.
    """
    refuse_dtd(data)
    parser = ET.XMLParser()
    parser.feed(data)
    return parser.close()


_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")


def refuse_dtd(data: bytes) -> None:
    """A DTD can only come before the root element, but a long comment or one holding `<x` can hide
    where that is: any declaration anywhere refuses the part (a workbook never has one)."""
    if any(mark in data for mark in _DTD_MARKS):
        raise ValueError("a DTD in a workbook part: not parsed")


def _int(text: str | None) -> int:
    try:
        return int(text or "0")
    except ValueError:
        return -1
