"""The polars engine for text logs: blocks of the common log4j layout counted as data frames.

Only analyze.py uses it, only where polars is importable, and only for inputs big enough to repay
its import (about 0.3 s). A group of blocks (about 1 MB each, as the standard path reads them) is
split into lines by polars; every line is checked against the layout's regex (polars' engine, with
the same leftmost-first matches as Python's `re`, and ASCII digits where `re` takes any), and a
block with one line that does not fit, or with anything the standard path reads its own way
(carriage returns, NUL, U+FFFD, a byte order mark, bad UTF-8, a timestamp that names no real
time), goes the standard path whole. A block polars read is handed over as `Counted`: the counts
the standard path's `Columns` would give, its WARN-and-worse rows grouped by message, and its last
line, which the reader keeps back as a record for the stack-trace lines of the next block, as the
standard path does. So the report is the same whichever engine ran (tests/monitoring/
test_text_engine.py compares them), and `parse.engine` says which did.

Messages are grouped per block, so the analysis still sees one batch per block: its signature
table is pruned at the same points as on the standard path.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from .logformats import canonical_level

TEXT_ENV = "LOGANALYZER_TEXT"
"""`stdlib` keeps polars out of text inputs, `polars` uses it for text inputs of any size; unset,
polars reads text inputs of FRAME_MIN bytes or more where it is installed."""
FRAME_MIN = 16 << 20
GROUP = 8
"""Blocks (about 1 MB each) that one polars call reads."""
Block = tuple[bytes, int, int]  # (whole lines, the number of lines before them, lines in it)
_NOTABLE = ("WARN", "ERROR", "FATAL")
_DOUBTFUL = (b"\r", b"\x00", b"\xef\xbf\xbd")  # read line by line by the standard path
_BOM = b"\xef\xbb\xbf"
_WINDOW = 12  # characters that hold the level and the space after it (longer levels: standard path)

# logformats._ZOOKEEPER with ASCII digits: `yyyy-MM-dd HH:mm:ss,SSS - LEVEL [thread] - message`
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}[,.][0-9]{3}"
_THREAD = r"\[[^\[\]\n]*(?:\[[^\]\n]*\][^\[\]\n]*)*\]"
_LINE = "^" + _DATE + r" - [A-Z]+ +" + _THREAD + " - "
_MESSAGE = "^" + _DATE + r" - [A-Z]+ +" + _THREAD + " - (.*)"


def wanted(size: int | None) -> bool:
    """Whether a text input of `size` bytes is read with polars (see TEXT_ENV)."""
    choice = os.environ.get(TEXT_ENV, "").strip().lower()
    if choice == "stdlib" or (choice != "polars" and (size or 0) < FRAME_MIN):
        return False
    return "polars" in sys.modules or importlib.util.find_spec("polars") is not None


class Counted:
    """One block's lines counted by polars: all but the last (`tail`), which the reader keeps.

    `levels` counts raw level names, `minutes` ISO minutes (`2026-03-14T09:00`); `first`/`last`
    are the earliest and latest ISO timestamps of the whole block; `check` holds a second of each
    minute the block has (`yyyy-MM-dd HH:mm:ss`) for the reader's clock to check: the clock takes
    any two-digit seconds field as real, so one second stands for its minute. `notes` holds the
    WARN-and-worse rows grouped by (raw level, message): their levels, messages, counts, and
    earliest and latest ISO timestamps; `minute_kinds` counts them by (ISO minute, raw level).
    """

    def __init__(self, lines: int, tail: str):
        self.lines, self.rows, self.tail = lines, lines - 1, tail
        self.levels: dict[str, int] = {}
        self.minutes: dict[str, int] = {}
        self.check: set[str] = set()
        self.first = self.last = ""
        self.notes: tuple[list[str], list[str], list[int], list[str], list[str]] = ([], [], [], [], [])
        self.minute_kinds: dict[tuple[str, str], int] = {}
        self.service = self.host = "unknown"
        self.row: tuple[Any, ...] | None = None  # the tail's groups, once the reader took the block

    def __len__(self) -> int:
        return self.rows

    def tail_out(self, windows: dict[str, str]) -> None:
        """Take the tail line's level and minute out of the counts (they were counted with it)."""
        raw = windows.get(self.tail[26 : 26 + _WINDOW]) or self.tail[26:].partition(" ")[0]
        minute = f"{self.tail[:10]}T{self.tail[11:16]}"
        for table, key in ((self.levels, raw), (self.minutes, minute)):
            table[key] -= 1
            if not table[key]:
                del table[key]
        self.check = {f"{minute[:10]} {minute[11:]}:00" for minute in self.minutes} | {self.tail[:19]}


def read_ahead(blocks: Iterable[Block]) -> Iterator[tuple[Block, Counted | None]]:
    """Each block with what polars counted of it (None: the standard path reads it), the next
    group counted in a thread while the caller takes this one (polars lets go of the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="loganalyzer-text") as pool:
        pending = None
        for group in _grouped(blocks):
            future = pool.submit(count, group)
            if pending is not None:
                yield from zip(pending[0], pending[1].result())
            pending = (group, future)
        if pending is not None:
            yield from zip(pending[0], pending[1].result())


def _grouped(blocks: Iterable[Block]) -> Iterator[list[Block]]:
    group: list[Block] = []
    for block in blocks:
        group.append(block)
        if len(group) == GROUP:
            yield group
            group = []
    if group:
        yield group


def count(group: list[Block]) -> list[Counted | None]:
    """What polars counts of each block of the group (None for the blocks it leaves alone)."""
    found: list[Counted | None] = [None] * len(group)
    usable = [i for i, (body, _, _) in enumerate(group) if not _doubtful(body)]
    frame = _frame([group[i] for i in usable]) if usable else None
    if frame is None and len(usable) > 1:  # one block polars cannot read: the others one by one
        for i in usable:
            found[i] = count([group[i]])[0]
        return found
    if frame is not None:
        for i, counted in zip(usable, _counted(frame, [group[i][2] for i in usable])):
            found[i] = counted
    return found


def _doubtful(body: bytes) -> bool:
    return body.startswith(_BOM) or any(mark in body for mark in _DOUBTFUL)


def _frame(blocks: list[Block]) -> Any:
    """The blocks' lines as one column, or None when polars refuses them or reads a different
    number of lines (blank lines)."""
    pl = _polars()
    lines = sum(n for _, _, n in blocks)
    try:
        frame = pl.read_csv(
            b"\n".join(body for body, _, _ in blocks),
            has_header=False,
            separator="\x00",
            quote_char=None,
            new_columns=["line"],
            schema={"line": pl.String},
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None  # bad UTF-8
    return frame if frame.height == lines else None


def _counted(frame: Any, sizes: list[int]) -> list[Counted | None]:
    """Each block of the frame counted, or None when one of its lines does not fit the layout."""
    pl = _polars()
    line = pl.col("line")
    ends, total = [], 0
    for n in sizes:
        total += n
        ends.append(total - 1)
    blk = pl.concat([pl.repeat(i, n, eager=True, dtype=pl.UInt32) for i, n in enumerate(sizes)])
    # the level is the word at column 26, read from a short window (`INFO  [main` -> INFO)
    frame = frame.with_columns(
        blk=blk, win=line.str.slice(26, _WINDOW), last=pl.int_range(pl.len()).is_in(ends)
    )
    fits = line.str.contains(_LINE) & pl.col("win").str.contains(" ", literal=True)
    bad = frame.filter(~fits.fill_null(False))["blk"].unique().to_list()
    if bad:
        frame = frame.filter(~pl.col("blk").is_in(bad))
    found: list[Counted | None] = [None] * len(sizes)
    for index, tail in frame.filter("last").select("blk", "line").iter_rows():
        found[index] = Counted(sizes[index], tail)
    if not frame.height:
        return found
    windows: dict[str, str] = {}
    for index, minute, window, n in frame.group_by("blk", line.str.slice(0, 16), "win").len().iter_rows():
        raw = windows.get(window) or windows.setdefault(window, window.partition(" ")[0])
        counted = _at(found, index)
        counted.levels[raw] = counted.levels.get(raw, 0) + n
        iso = f"{minute[:10]}T{minute[11:]}"
        counted.minutes[iso] = counted.minutes.get(iso, 0) + n
    for index, low, high in frame.group_by("blk").agg(line.min(), line.max().alias("high")).iter_rows():
        counted = _at(found, index)
        counted.first, counted.last = _iso(low), _iso(high)
        counted.tail_out(windows)
    notable = [window for window, raw in windows.items() if canonical_level(raw)[0] in _NOTABLE]
    if notable:
        _notes(frame.filter(pl.col("win").is_in(notable) & ~pl.col("last")), found, windows)
    return found


def _notes(rows: Any, found: list[Counted | None], windows: dict[str, str]) -> None:
    pl = _polars()
    line = pl.col("line")
    iso = pl.concat_str(
        line.str.slice(0, 10),
        pl.lit("T"),
        line.str.slice(11, 8),
        pl.lit("."),
        line.str.slice(20, 3),
        pl.lit("Z"),
    )
    # the message follows the thread's `] - `: the first one in the line unless the thread holds
    # brackets of its own, which the regex reads
    parts = line.str.splitn("] - ", 2)
    nested = rows.select((parts.struct.field("field_0").str.count_matches("[", literal=True) != 1).any())
    message = line.str.extract(_MESSAGE, 1) if nested.item() else parts.struct.field("field_1")
    rows = rows.select("blk", "win", message=message, iso=iso)
    stamp = pl.col("iso")
    grouped = (
        rows.group_by("blk", "win", "message")
        .agg(pl.len(), stamp.min(), stamp.max().alias("high"))
        .with_columns(pl.col("win").replace_strict(windows))
        .sort("blk")
    )
    columns = [grouped[name].to_list() for name in grouped.columns]
    start = 0
    for index, n in grouped.group_by("blk", maintain_order=True).len().iter_rows():
        _at(found, index).notes = tuple(column[start : start + n] for column in columns[1:])  # type: ignore[assignment]
        start += n
    for index, minute, window, n in rows.group_by("blk", stamp.str.slice(0, 16), "win").len().iter_rows():
        kinds = _at(found, index).minute_kinds
        key = (minute, windows[window])
        kinds[key] = kinds.get(key, 0) + n


def _at(found: list[Counted | None], index: int) -> Counted:
    counted = found[index]
    assert counted is not None
    return counted


def _iso(stamp: str) -> str:
    """`2026-03-14T09:00:01.639Z` from the layout's `2026-03-14 09:00:01,639`, as the standard path
    writes it."""
    return f"{stamp[:10]}T{stamp[11:19]}.{stamp[20:23]}Z"


def _polars() -> Any:
    """polars (frames.py imports it with the allocator set to give memory back)."""
    from .frames import _polars as imported

    return imported()
