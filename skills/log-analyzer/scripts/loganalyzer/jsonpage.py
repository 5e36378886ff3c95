"""One page of a log API read as it arrives: keep only the records asked for, stop when done.

A page is `{"logs": [...], "next_cursor": ..., ...}` or a bare JSON array. Reading it whole means
holding all of it (and its parsed copy) even when ten records were asked for, and an API that
ignores `limit` can answer 150 MB. Here the body is read in chunks: the list of records is walked
one element at a time, keeping the first `want` and the last `want` (for an API that pages oldest
first, whose newest records come last), the page's other keys are read whole, and reading stops as
soon as a record past the first `want` arrives and `done` says those are the ones asked for (so
there is more), or at `max_bytes` (the page is then marked cut).

Standard library only: it runs inside any sandbox.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["LIST_KEYS", "Page", "PageError", "Reader", "read_page"]

LIST_KEYS = ("logs", "records", "items", "entries", "events", "data")
_CHUNK = 1 << 16
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class PageError(ValueError):
    """The body is not JSON, or not a page of records."""


class _Cut(Exception):
    """The byte cap was reached in the middle of a value."""


class Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass
class Page:
    """What was read of one page: its other keys, the first and last `want` records, and how many."""

    fields: dict[str, Any] = field(default_factory=dict)
    first: list[Any] = field(default_factory=list)
    last: deque[Any] = field(default_factory=deque)
    count: int = 0
    listed: bool = False
    """The body held a list of records (a bare array, or one of LIST_KEYS)."""
    stopped: bool = False
    """Reading stopped early because `done` said enough; the rest of the page was never read."""
    cut: bool = False
    """Reading stopped at `max_bytes`: the page may hold more than was read."""
    bytes_read: int = 0


class _Stream:
    def __init__(self, reader: Reader, max_bytes: int):
        self.reader, self.max_bytes = reader, max_bytes
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
        self.buf, self.pos, self.read, self.eof, self.cut = "", 0, 0, False, False

    def more(self, at_least: int = _CHUNK) -> bool:
        """Read another chunk onto the buffer; False once the body (or the byte cap) is reached."""
        if self.eof:
            return False
        room = self.max_bytes - self.read
        chunk = self.reader.read(min(max(at_least, _CHUNK), room)) if room > 0 else b""
        if chunk:
            self.read += len(chunk)
            text = self.decoder.decode(chunk)
        else:
            self.eof = True
            self.cut = room <= 0 and bool(self.reader.read(1))
            text = self.decoder.decode(b"", True)
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return bool(chunk) or bool(text)

    def peek(self) -> str:
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def expect(self, chars: str) -> str:
        found = self.peek()
        if not found and self.cut:
            raise _Cut
        if not found or found not in chars:
            raise PageError(
                f"expected {' or '.join(repr(c) for c in chars)} at byte ~{self.read}, got {found!r}"
            )
        self.pos += 1
        return found

    def value(self) -> Any:
        first = self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except ValueError:
                if self.more(len(self.buf)):  # an incomplete value: read more (doubling) and try again
                    continue
                if self.cut:
                    raise _Cut from None
                raise PageError(f"not valid JSON (starts {self.buf[self.pos : self.pos + 60]!r})") from None
            if end == len(self.buf) and first not in '"{[' and self.more():
                continue  # a number or literal at the buffer's end may go on in the next chunk
            self.pos = end
            return value


def read_page(reader: Reader, want: int, done: Callable[[Page], bool], max_bytes: int) -> Page:
    """Read one page from `reader`; see the module docstring. Raises PageError on bad JSON."""
    stream, page = _Stream(reader, max_bytes), Page(last=deque(maxlen=max(want, 1)))
    try:
        start = stream.peek()
        if start == "[":
            _records(stream, page, want, done)
        elif start == "{":
            _object(stream, page, want, done)
        elif not start:
            raise PageError("the response is empty")
        else:
            page.fields["value"] = stream.value()
    except _Cut:
        pass  # what was read before the cap is kept; page.cut says the rest was not
    finally:
        page.cut, page.bytes_read = stream.cut, stream.read
    return page


def _object(stream: _Stream, page: Page, want: int, done: Callable[[Page], bool]) -> None:
    stream.expect("{")
    if stream.peek() == "}":
        stream.pos += 1
        return
    while True:
        key = stream.value()
        if not isinstance(key, str):
            raise PageError("an object key is not a string")
        stream.expect(":")
        if key in LIST_KEYS and not page.listed and stream.peek() == "[":
            _records(stream, page, want, done)
            if page.stopped or stream.cut:
                return
        else:
            page.fields[key] = stream.value()
        if stream.expect(",}") == "}":
            return


def _records(stream: _Stream, page: Page, want: int, done: Callable[[Page], bool]) -> None:
    stream.expect("[")
    page.listed = True
    if stream.peek() == "]":
        stream.pos += 1
        return
    while True:
        record = stream.value()
        page.count += 1
        if len(page.first) < want:
            page.first.append(record)
        page.last.append(record)
        if page.count > want and done(page):  # one record past those asked for: there is more
            page.stopped = True
            return
        if stream.expect(",]") == "]":
            return
