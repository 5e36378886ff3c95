"""The polars engine: a big JSON Lines input read a group of blocks at a time as data frames.

Only analyze.py uses it, only where polars is importable, and only for inputs big enough to repay
its import (about 0.3 s). A group is counted from its frame only when every check below says the
standard path would count the same records the same way (its `Analysis.add_columns` fast path);
any doubt sends the group's blocks, unchanged, through the standard path. So the report is the
same whichever engine ran (tests/monitoring/test_json_engine.py compares them), and the engine
that read the input is named in `parse.engine`.

polars reads a value that is not a string (`"level": 1.5`, `{"x": 1}`, `true`) into a string
column as text and a lone surrogate escape (`"\\ud800"`) as NUL, where the standard library
keeps the value itself: a group with a value that could be either goes the standard path.
One difference is left: a record that names the same key twice keeps the first value here and the
last one on the standard path (JSON leaves duplicate keys undefined).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .logformats import canonical_level
from .readstats import ENGINE_ENV, cores

FRAME_MIN = 16 << 20
"""Inputs smaller than this are read by the standard path (polars' import would cost more)."""
GROUP = 1
"""Blocks (about 1 MB each) that one polars call reads. Two cost ~6% less CPU time in polars'
parse but take the peak RSS of 1M records over 100 MB (polars' library is ~45 MB of it, and a
parse holds about 7 times its input; bench_analyze.py measures)."""
WORKERS = 2
"""Threads that read and count groups at once (no more than the machine has cores), each handing
its parse to polars' thread pool: with two, both cores stay busy while the caller adds a frame
up (a third group in flight: a few MB more peak RSS than one)."""
_ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
_ALLOCATOR = "dirty_decay_ms:20,muzzy_decay_ms:0"
"""polars' jemalloc gives freed pages back at once instead of keeping them for reuse (the peak
RSS of 1M records is ~20 MB lower)."""
T = TypeVar("T")
Block = tuple[bytes, int, int]  # (whole lines, the number of lines before them, lines in it)
KEYS = ("timestamp", "level", "service", "host", "message")
_NOTABLE = ("WARN", "ERROR", "FATAL")  # levels whose records' messages are read (as analysis._NOTABLE)
_BAD_SECOND = r"T\d\d:\d\d:[6-9]"  # seconds 60-99, as analysis._BAD_SECOND
# a timestamp the standard path reads differently: seconds 60-99, a Z before its end, no Z at its
# end, nothing at all (so each has exactly one Z, at its end), or a NUL (polars' text for a lone
# surrogate escape, which the standard path keeps)
_ODD_STAMP = _BAD_SECOND + r"|Z[\s\S]|[^Z]\z|^\z|\x00"
# a string that polars may have made from a number, a boolean, an object or an array, or (NUL)
# from a lone surrogate escape
_COERCED_MESSAGE = r"^(?:[\[{]|-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?$|true$|false$)|\x00"


def wanted(size: int | None) -> bool:
    """Whether an input of `size` bytes is read with polars: polars is importable and either
    LOGANALYZER_JSON is `polars` or, unset, the input has at least FRAME_MIN bytes (`stdlib` and
    `orjson` keep polars out)."""
    choice = os.environ.get(ENGINE_ENV, "").strip().lower()
    if choice in ("stdlib", "orjson") or (choice != "polars" and (size or 0) < FRAME_MIN):
        return False
    return "polars" in sys.modules or importlib.util.find_spec("polars") is not None


def grouped(blocks: Iterable[Block], size: int = GROUP) -> Iterator[list[Block]]:
    """The blocks (body, first line number, lines) in groups of `size`."""
    group: list[Block] = []
    for block in blocks:
        group.append(block)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def read_ahead(
    groups: Iterable[list[Block]], processes: int = 1
) -> Iterator[tuple[list[Block], Frame | None]]:
    """Each group with its frame (None: polars refused it), in order; the next groups are read in
    WORKERS threads while the caller counts this one (see `ahead` for `processes`)."""
    return ahead(groups, read, WORKERS, "loganalyzer-polars", processes)


def ahead(
    groups: Iterable[list[Block]],
    work: Callable[[list[Block]], T],
    workers: int,
    name: str,
    processes: int = 1,
) -> Iterator[tuple[list[Block], T]]:
    """Each group with `work(group)`, in order, the next groups worked on in up to `workers`
    threads while the caller takes this one: polars lets go of the GIL while it works. No more
    threads than this process's share of the CPUs it may use (`processes` read one input side by
    side): a thread more only holds another group in memory."""
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    _polars()  # imported here, once: threads importing it at once could see it half made
    pending: deque[tuple[list[Block], Future[T]]] = deque()
    workers = max(1, min(workers, cores() // max(1, processes)))
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        for group in groups:
            pending.append((group, pool.submit(work, group)))
            if len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


Counts = tuple[dict[Any, int], dict[Any, int], dict[str, int], str, str]


class Frame:
    """A group of JSON Lines blocks and the frame polars read from them (one row per line).

    `blocks` stay at hand: when the analysis turns the frame down, they go the standard path.
    `prepare` works out the counts and the notable records' columns where the frame was read
    (the read-ahead thread: polars lets go of the GIL), so the analysis only adds them up.
    """

    def __init__(self, blocks: list[Block], frame: Any, lines: int):
        self.blocks, self.frame, self.lines = blocks, frame, lines
        self._counts: Counts | None = None
        # the levels asked for, and their records: a checked frame until the analysis first asks
        # (it turns them into lists on its own thread), then the lists; None: refused
        self._notable: tuple[frozenset[Any], Any] | None = None
        self._counted = False

    def prepare(self) -> None:
        """Count, and take the columns of the records whose level is WARN or worse; the frame
        itself is then let go (the analysis asks for nothing else: memory for the next one)."""
        counts = self.counts()
        if counts is not None:
            levels = [raw for raw in counts[0] if canonical_level(raw)[0] in _NOTABLE]
            self._notable = frozenset(levels), self._columns(levels)
        self.frame = None

    def counts(self) -> Counts | None:
        """(records per level, per service, per minute prefix, the lowest and highest timestamp),
        or None unless every record has a level, a service and a UTC timestamp ending in its
        only `Z`, with levels, services and timestamps that polars cannot have made from other
        JSON values."""
        if not self._counted and self.frame is not None:
            self._counts, self._counted = self._count(), True
        return self._counts

    def _count(self) -> Counts | None:
        frame = self.frame
        level, service, stamps = (frame.get_column(name) for name in ("level", "service", "timestamp"))
        if not frame.height or level.null_count() or service.null_count() or stamps.null_count():
            return None  # a null (or missing) value
        if stamps.str.contains(_ODD_STAMP).any():
            return None  # a time not in UTC, seconds past 59, a lone surrogate
        levels, services = _tally(level), _tally(service)
        if not _plain(levels) or not _plain(services):
            return None
        minutes, low, high = _by_minute(stamps)
        return levels, services, minutes, low, high

    def notable(self, levels: list[Any]) -> list[list[Any]] | None:
        """The columns (level, message, timestamp, service, host) of the records at these levels,
        or None when one has no message or host, or a value polars may have made from another."""
        wanted = frozenset(levels)
        if self._notable is None or self._notable[0] != wanted:
            if self.frame is None:  # let go after `prepare` (which took the same levels)
                return None
            self._notable = wanted, self._columns(levels)
        found = self._notable[1]
        if found is not None and not isinstance(found, list):
            found = [found[name].to_list() for name in ("level", "message", "timestamp", "service", "host")]
            self._notable = wanted, found
        return found  # type: ignore[no-any-return]

    def _columns(self, levels: list[Any]) -> Any:
        """The records at these levels (level, message, timestamp, service, host), checked, or None."""
        import polars as pl

        df = self.frame.filter(pl.col("level").is_in(levels))
        row = df.select(
            nulls=pl.sum_horizontal(pl.col("message", "host").null_count()),
            coerced=pl.col("message").str.contains(_COERCED_MESSAGE).any(),
            nul=pl.any_horizontal(pl.col("timestamp", "host").str.contains("\x00", literal=True)).any(),
            hosts=pl.col("host").unique().implode(),
        ).row(0, named=True)
        if row["nulls"] or row["coerced"] or row["nul"] or not _plain(row["hosts"]):
            return None
        return df.select("level", "message", "timestamp", "service", "host")


def _polars() -> Any:
    """polars, imported with its allocator set to return memory (when this imports it first)."""
    if "polars" in sys.modules:
        return sys.modules["polars"]
    before = os.environ.get(_ALLOCATOR_ENV)
    os.environ[_ALLOCATOR_ENV] = _ALLOCATOR  # read once, when polars' library loads
    try:
        import polars
    finally:
        if before is None:
            del os.environ[_ALLOCATOR_ENV]
        else:
            os.environ[_ALLOCATOR_ENV] = before
    return polars


def read(blocks: list[Block]) -> Frame | None:
    """The group read by polars, or None when polars refuses it or skips a line (a blank one)."""
    pl = _polars()

    lines = sum(n for _, _, n in blocks)
    try:
        frame = pl.read_ndjson(
            b"\n".join(body for body, _, _ in blocks), schema=dict.fromkeys(KEYS, pl.String)
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None  # bad JSON, bad UTF-8, a line that is not an object, nesting too deep
    if frame.height != lines:
        return None
    found = Frame(blocks, frame, lines)
    try:
        found.prepare()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None  # whatever polars cannot count goes the standard path
    return found


def _tally(column: Any) -> dict[Any, int]:
    """How many times each value occurs in a polars Series."""
    found = column.value_counts()
    return dict(zip(found.to_series(0).to_list(), found.to_series(1).to_list()))


_RUNS = 64
"""Minutes a sorted frame's times may span before they are counted row by row instead."""


def _by_minute(stamps: Any) -> tuple[dict[str, int], str, str]:
    """Rows per minute prefix (the first 16 characters), and the lowest and highest time, of a
    polars Series of strings: in order (the usual case), one binary search per minute."""
    if stamps.is_sorted():
        first, last = stamps[0], stamps[-1]
        counts: dict[str, int] = {}
        start, end = 0, len(stamps)
        minute = first[:16]
        while minute != last[:16] and len(counts) < _RUNS:
            if len(minute) < 16 or minute[-1] == "\U0010ffff":
                break  # no string is just above every one with this prefix
            cut = stamps.search_sorted(minute[:-1] + chr(ord(minute[-1]) + 1), side="left")
            counts[minute] = cut - start
            start, minute = cut, stamps[cut][:16]
        else:
            if minute == last[:16]:
                counts[minute] = end - start
                return counts, first, last
    return _tally(stamps.str.slice(0, 16)), stamps.min(), stamps.max()


def _plain(values: Iterable[Any]) -> bool:
    """True when no value could be polars' text for a non-string JSON value (a number, true,
    false, an object or an array) or its NUL for a lone surrogate."""
    for value in values:
        if not isinstance(value, str) or "\x00" in value or value in ("true", "false"):
            return False
        if value[:1] in ("[", "{") or (value and value[0] in "-0123456789"):
            return False
    return True
