"""The polars engine for text logs: blocks of the common log4j layout (here) and of inferred
layouts (inferframes.py) counted as data frames.

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
from functools import partial
from typing import Any

from .frames import Block, ahead, grouped
from .logformats import canonical_level

TEXT_ENV = "LOGANALYZER_TEXT"
"""`stdlib` keeps polars out of text inputs, `polars` uses it for text inputs of any size; unset,
polars reads text inputs of FRAME_MIN bytes or more where it is installed."""
FRAME_MIN = 16 << 20
GROUP = 4
"""Blocks (about 1 MB each) that one polars call reads."""
AHEAD = 2
"""Groups counted at once, each in a thread of its own, while the caller takes an earlier one."""
_NOTABLE = ("WARN", "ERROR", "FATAL")
_BOM = b"\xef\xbb\xbf"
_WINDOW = 12  # characters that hold the level and the space after it (longer levels: standard path)

# logformats._ZOOKEEPER with ASCII digits: `yyyy-MM-dd HH:mm:ss,SSS - LEVEL [thread] - message`
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}[,.][0-9]{3}"
_THREAD = r"\[[^\[\]\n]*(?:\[[^\]\n]*\][^\[\]\n]*)*\]"
_LEVEL = rf" - [A-Z]{{1,{_WINDOW - 1}}} +"  # a level that fits the window, and a space
_LINE = "^" + _DATE + _LEVEL + _THREAD + " - "
_MESSAGE = "^" + _DATE + _LEVEL + _THREAD + " - (.*)"
# a line of _LINE whose thread holds no brackets: the first `] - ` ends its thread
_PLAIN = "^" + _DATE + _LEVEL + r"\[[^\[\]\n]*\] - "


def wanted(size: int | None) -> bool:
    """Whether a text input of `size` bytes is read with polars (see TEXT_ENV)."""
    choice = os.environ.get(TEXT_ENV, "").strip().lower()
    if choice == "stdlib" or (choice != "polars" and (size or 0) < FRAME_MIN):
        return False
    return "polars" in sys.modules or importlib.util.find_spec("polars") is not None


class Counted:
    """One block's lines counted by polars: all but the last (`tail`), which the reader keeps.

    `levels` counts raw level names, `minutes` ISO minutes (`2026-03-14T09:00`); `first`/`last`
    are the earliest and latest ISO timestamps of the whole block; `check` holds seconds
    (`yyyy-MM-dd HH:mm:ss`) for the reader's clock to check, and `assumed_utc`/`assumed_year` what
    the block's times leave out. `notes` holds the WARN-and-worse rows grouped by (raw level,
    message): their levels, messages, counts, and earliest and latest ISO timestamps;
    `minute_kinds` counts them by (ISO minute, raw level).
    """

    def __init__(self, lines: int, tail: str):
        self.lines, self.rows, self.tail = lines, lines - 1, tail
        self.levels: dict[str, int] = {}
        self.minutes: dict[str, int] = {}
        self.check: set[str] = set()
        self.assumed_utc = self.assumed_year = 0
        self.first = self.last = ""
        self.notes: tuple[list[str], list[str], list[int], list[str], list[str]] = ([], [], [], [], [])
        self.minute_kinds: dict[tuple[str, str], int] = {}
        self.service = self.host = "unknown"
        self.row: tuple[Any, ...] | None = None  # the tail's groups, once the reader took the block

    def __len__(self) -> int:
        return self.rows

    def tail_out(self, raw: str, minute: str) -> None:
        """Take the tail line's level and minute out of the counts (they were counted with it)."""
        for table, key in ((self.levels, raw), (self.minutes, minute)):
            table[key] -= 1
            if not table[key]:
                del table[key]


def read_ahead(
    blocks: Iterable[Block], engine: Any, processes: int = 1
) -> Iterator[tuple[Block, Counted | None]]:
    """Each block with what polars counted of it (None: the standard path reads it), the next
    groups counted in AHEAD threads while the caller takes this one (see `frames.ahead` for
    `processes`)."""
    for done, found in ahead(
        grouped(blocks, GROUP), partial(count, engine=engine), AHEAD, "loganalyzer-text", processes
    ):
        yield from zip(done, found)


def count(group: list[Block], engine: Any) -> list[Counted | None]:
    """What polars counts of each block of the group (None for the blocks it leaves alone)."""
    found: list[Counted | None] = [None] * len(group)
    usable = [i for i, (body, _, _) in enumerate(group) if not engine.doubtful(body)]
    frame = _frame([group[i] for i in usable]) if usable else None
    if frame is None and len(usable) > 1:  # one block polars cannot read: the others one by one
        for i in usable:
            found[i] = count([group[i]], engine)[0]
        return found
    if frame is not None:
        pl = _polars()
        try:
            counted = engine.counted(_numbered(frame, [group[i][2] for i in usable]))
        except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
            return found  # polars failed on something: the standard path reads these blocks
        for i, one in zip(usable, counted):
            found[i] = one
    return found


def doubtful(body: bytes) -> bool:
    """Whether the standard path reads some line of the block its own way (a byte order mark,
    CR, NUL or U+FFFD), so polars leaves the block to it."""
    if body.startswith(_BOM) or b"\r" in body or b"\x00" in body:
        return True
    return b"\xef" in body and b"\xef\xbf\xbd" in body


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


class Frame:
    """The lines of a group of blocks (`frame`: line, blk, last) and one Counted per block."""

    def __init__(self, frame: Any, sizes: list[int]):
        pl = _polars()
        ends, total = [], 0
        for n in sizes:
            total += n
            ends.append(total - 1)
        blk = pl.concat([pl.repeat(i, n, eager=True, dtype=pl.UInt32) for i, n in enumerate(sizes)])
        self.frame = frame.with_columns(blk=blk, last=pl.int_range(pl.len()).is_in(ends))
        self.sizes = sizes
        self.found: list[Counted | None] = [None] * len(sizes)

    def keep(self, fits: Any) -> bool:
        """Drop the blocks with a row that does not fit (`fits`: a boolean Series or expression);
        make a Counted for each block left, with its last line. False when none is left."""
        pl = _polars()
        bad = self.frame.filter(~fits.fill_null(False))["blk"].unique().to_list()
        if bad:
            self.frame = self.frame.filter(~pl.col("blk").is_in(bad))
        for index, tail in self.frame.filter("last").select("blk", "line").iter_rows():
            self.found[index] = Counted(self.sizes[index], tail)
        return bool(self.frame.height)

    def drop(self, blocks: Iterable[int]) -> None:
        """Leave these blocks to the standard path."""
        pl = _polars()
        gone = list(set(blocks))
        if gone:
            self.frame = self.frame.filter(~pl.col("blk").is_in(gone))
            for index in gone:
                self.found[index] = None

    def at(self, index: int) -> Counted:
        counted = self.found[index]
        assert counted is not None
        return counted

    def notes(self, rows: Any) -> None:
        """The notable rows (blk, lvl: the raw level, message, iso) grouped per block by level and
        message, and counted per block by minute and level."""
        pl = _polars()
        stamp = pl.col("iso")
        # in the order of each message's first row, so signatures enter the analysis's counters in
        # the order the standard path's records bring them (the order ties keep when it prunes)
        # (the rows come block by block, so the groups do too)
        grouped = rows.group_by("blk", "lvl", "message", maintain_order=True).agg(
            pl.len(), stamp.min(), stamp.max().alias("high")
        )
        columns = [grouped[name].to_list() for name in ("lvl", "message", "len", "iso")]
        # a message seen once (the usual case) has one time: its earliest is its latest
        columns.append(columns[3] if grouped.height == rows.height else grouped["high"].to_list())
        start = 0
        for index, n in grouped.group_by("blk", maintain_order=True).len().iter_rows():
            notes = tuple(column[start : start + n] for column in columns)
            self.at(index).notes = notes  # type: ignore[assignment]
            start += n
        for index, minute, raw, n in rows.group_by("blk", stamp.str.slice(0, 16), "lvl").len().iter_rows():
            kinds = self.at(index).minute_kinds
            kinds[(minute, raw)] = kinds.get((minute, raw), 0) + n


def _numbered(frame: Any, sizes: list[int]) -> Frame:
    return Frame(frame, sizes)


def notable(levels: Iterable[str]) -> list[str]:
    """The raw level names that the analysis notes (WARN and worse)."""
    return [raw for raw in levels if canonical_level(raw)[0] in _NOTABLE]


class Zookeeper:
    """The common log4j layout, `yyyy-MM-dd HH:mm:ss,SSS - LEVEL [thread] - message`: the time and
    the level sit at fixed columns, so they are sliced out; the thread is skipped by a search."""

    def __init__(self, text: Any):
        self.text = text

    doubtful = staticmethod(doubtful)

    def tail_row(self, line: str) -> tuple[Any, ...] | None:
        return self.text.zookeeper_row(line)  # type: ignore[no-any-return]

    def tail_record(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return self.text.zookeeper_record(row)  # type: ignore[no-any-return]

    def counted(self, found: Frame) -> list[Counted | None]:
        pl = _polars()
        line = pl.col("line")
        # the level is the word at column 26, read from a short window (`INFO  [main` -> INFO)
        found.frame = found.frame.with_columns(win=line.str.slice(26, _WINDOW))
        lines = found.frame.get_column("line")
        fits = lines.str.contains(_PLAIN)
        nested = not fits.all()
        if nested:  # a thread with brackets of its own, or a line that does not fit: the whole regex
            fits = lines.str.contains(_LINE)
        if not found.keep(fits):
            return found.found
        frame = found.frame
        windows: dict[str, str] = {}
        for index, minute, window, n in frame.group_by("blk", line.str.slice(0, 16), "win").len().iter_rows():
            raw = windows.get(window) or windows.setdefault(window, window.partition(" ")[0])
            counted = found.at(index)
            counted.levels[raw] = counted.levels.get(raw, 0) + n
            iso = f"{minute[:10]}T{minute[11:]}"
            counted.minutes[iso] = counted.minutes.get(iso, 0) + n
        # the earliest and latest line of a block hold its earliest and latest time (the time is
        # the lines' first 23 characters)
        for index, low, high in frame.group_by("blk").agg(line.min(), line.max().alias("high")).iter_rows():
            counted = found.at(index)
            counted.first, counted.last = _iso(low), _iso(high)
            tail = counted.tail
            counted.tail_out(windows[tail[26 : 26 + _WINDOW]], f"{tail[:10]}T{tail[11:16]}")
            # the clock takes any two-digit seconds as real: one second stands for its minute
            counted.check = {f"{m[:10]} {m[11:]}:00" for m in counted.minutes} | {tail[:19]}
            counted.assumed_utc = counted.lines
        raws = set(notable(set(windows.values())))
        picks = [window for window, raw in windows.items() if raw in raws]
        if picks:
            rows = frame.filter(pl.col("win").is_in(picks) & ~pl.col("last"))
            rows = rows.with_columns(lvl=pl.col("win").replace_strict(windows))
            found.notes(self._messages(rows, nested))
        return found.found

    @staticmethod
    def _messages(rows: Any, nested: bool) -> Any:
        """The rows' blk, lvl, message and ISO time (`nested`: some thread may hold brackets)."""
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
        # the message follows the thread's `] - `: the first one in the line unless a thread holds
        # brackets of its own (then the regex reads it)
        message = (
            line.str.extract(_MESSAGE, 1)
            if nested
            else line.str.slice(line.str.find("] - ", literal=True) + 4)
        )
        return rows.select("blk", "lvl", message=message, iso=iso)


def _iso(stamp: str) -> str:
    """`2026-03-14T09:00:01.639Z` from the layout's `2026-03-14 09:00:01,639`, as the standard path
    writes it."""
    return f"{stamp[:10]}T{stamp[11:19]}.{stamp[20:23]}Z"


def _polars() -> Any:
    """polars (frames.py imports it with the allocator set to give memory back)."""
    from .frames import _polars as imported

    return imported()
