"""What reading an input met (counts, malformed lines, assumptions), and progress on stderr.

Standard library only; used by parse_logs.py.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from .timestamps import Clock

ENGINE_ENV = "LOGANALYZER_JSON"
"""Which engine reads JSON: `stdlib` (the standard library even where orjson is installed),
`orjson` (never polars nor msgspec), `polars` (polars for JSON Lines of any size, never msgspec),
`msgspec` (msgspec for JSON arrays and JSON Lines of any size); unset, the fastest there is for
the input. The tests compare them on the same inputs."""
ROWS_MIN = 16 << 20
"""JSON arrays (and JSON Lines) smaller than this are not read with msgspec (its import would cost
more)."""
_CGROUP = "/sys/fs/cgroup"


def rows_engine(size: int | None) -> bool:
    """Whether a JSON array of `size` bytes is read with msgspec (`jsondoc.rows_loads`): msgspec
    0.18 or later and orjson are importable, and either LOGANALYZER_JSON is `msgspec` or, unset,
    the input has at least ROWS_MIN bytes."""
    choice = os.environ.get(ENGINE_ENV, "").strip().lower()
    if choice not in ("", "msgspec") or (choice == "" and (size or 0) < ROWS_MIN):
        return False
    if json_engine() != "orjson":  # the chunks msgspec turns down go to orjson (see rows_loads)
        return False
    return _version("msgspec") >= (0, 18)


def json_engine() -> str:
    """Which JSON reader this process uses: "orjson" (installed, 3.9.15 or later, not turned off
    with LOGANALYZER_JSON=stdlib) or "stdlib". The report names it as `parse.engine`."""
    if os.environ.get(ENGINE_ENV, "").strip().lower() == "stdlib":
        return "stdlib"
    # a bare python3 has no orjson: the standard json module is slower but enough
    return "orjson" if _version("orjson") >= (3, 9, 15) else "stdlib"


def _version(module: str) -> tuple[int, ...]:
    """The installed version of `module` as numbers, () when it cannot be imported."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return ()
    return tuple(int(p) for p in re.findall(r"\d+", getattr(found, "__version__", "0"))[:3])


class ParseStats:
    """What reading the input met: counts, the first malformed lines, and what was assumed."""

    def __init__(self, year: int | None = None):
        self.format = "auto"
        self.lines = 0
        self.records = 0
        self.blank = 0
        self.malformed = 0
        self.continuation_lines = 0
        self.decode_errors = 0
        self.missing_timestamps = 0
        self.levels_inferred = 0
        self.long_lines = 0
        self.layout: dict[str, Any] | None = None
        self.malformed_examples: list[dict[str, Any]] = []
        self.unknown_levels: dict[str, int] = {}
        self.clock = Clock(year)
        self.engine = json_engine()
        self.engine_records: dict[str, int] = {}  # records read by another engine (polars)

    def bad_line(self, lineno: int | None, line: bytes | str, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            self.malformed_examples.append({"line": lineno, "reason": reason, "text": text[:200]})

    def long_line(self, lineno: int, start: bytes, size: int, limit: int) -> None:
        """Count a line that was skipped for being longer than `limit` bytes."""
        self.lines += 1
        self.long_lines += 1
        self.bad_line(
            lineno,
            start,
            f"line is {size:,} bytes long, over the {limit >> 20} MB limit for one line; skipped "
            "(raise it with --max-line-mb; a whole JSON document on one line reads with --format json)",
        )

    def as_dict(self) -> dict[str, Any]:
        notes = []
        if self.clock.assumed_utc:
            notes.append(f"{self.clock.assumed_utc} timestamps had no time zone and were read as UTC")
        if self.clock.assumed_year:
            notes.append(
                f"{self.clock.assumed_year} timestamps had no year and were read as {self.clock.year}"
            )
        if self.decode_errors:
            notes.append(f"{self.decode_errors} lines were not valid UTF-8; bad bytes became U+FFFD")
        if self.long_lines:
            notes.append(
                f"{self.long_lines} lines were too long to read and were skipped (see malformed_examples)"
            )
        if self.levels_inferred:
            notes.append(
                f"{self.levels_inferred} records had no level; it was guessed from failure words in the message"
            )
        if self.layout is not None:
            notes.append(f"the line layout was inferred: {self.layout['description']}")
        found: dict[str, Any] = {"layout": self.layout} if self.layout is not None else {}
        engine = self.engine if self.format in ("json", "jsonl") else "stdlib"
        if self.engine_records:  # polars read the input, the standard path what polars left
            rest = self.records - sum(self.engine_records.values())
            found["engine_records"] = {**self.engine_records, engine: rest}
            engine = "+".join(name for name, n in found["engine_records"].items() if n)
        return {
            "format": self.format,
            "engine": engine,
            "lines": self.lines,
            "records": self.records,
            "malformed": self.malformed,
            "blank": self.blank,
            "continuation_lines": self.continuation_lines,
            "decode_errors": self.decode_errors,
            "missing_timestamps": self.missing_timestamps,
            "levels_inferred": self.levels_inferred,
            "timestamps_assumed_utc": self.clock.assumed_utc,
            "timestamps_assumed_year": self.clock.assumed_year,
            "unknown_levels": dict(self.unknown_levels),
            "malformed_examples": self.malformed_examples,
            "notes": notes,
            **found,
        }


def confidence(parse: dict[str, Any]) -> tuple[str, list[str]]:
    """How far the numbers can be trusted, from what reading met: (high|medium|low, reasons).

    Low when little of the input was read or the levels were guessed; medium when something had
    to be assumed (an inferred layout, times without a zone or year, unreadable timestamps)."""
    records, malformed = parse["records"], parse["malformed"]
    reasons: list[str] = []
    low = records == 0
    if malformed:
        share = malformed / max(1, records + malformed)
        reasons.append(f"{malformed:,} unreadable lines or records ({share:.1%} of the input)")
        low = low or share > 0.10
    if parse["levels_inferred"]:
        reasons.append(f"{parse['levels_inferred']:,} records had no level (guessed from failure words)")
        low = low or parse["levels_inferred"] * 2 > records
    medium = [
        (parse.get("layout") is not None, "the line layout was inferred"),
        (
            parse["timestamps_assumed_utc"] > 0,
            f"{parse['timestamps_assumed_utc']:,} timestamps without a zone",
        ),
        (
            parse["timestamps_assumed_year"] > 0,
            f"{parse['timestamps_assumed_year']:,} timestamps without a year",
        ),
        (
            parse.get("timestamps_unreadable", 0) > 0,
            f"{parse.get('timestamps_unreadable', 0):,} records without a readable time",
        ),
    ]
    reasons += [text for hit, text in medium if hit]
    if records == 0:
        reasons.insert(0, "no records were read")
    level = "low" if low else "medium" if reasons else "high"
    return level, reasons


def blocks(
    handle: BinaryIO, progress: Progress, stats: ParseStats, max_line: int, chunk: int = 1 << 20
) -> Iterator[tuple[bytes, int, int]]:
    """Whole lines, about `chunk` bytes at a time: (block, lines before it, lines in it).

    A leading UTF-8 byte order mark is dropped. A line longer than `max_line` bytes (its newline
    aside) is skipped as it streams past, never held whole, and counted as malformed with its
    length: a 2 GB file without a newline costs one pass over the disk and `max_line` of memory.
    A last line without a newline is kept unless it is blank.

    The input is read into one reused buffer, and each block copied out of it once: a fresh
    buffer for every read costs more in page faults than the copy.
    """
    reader = _Lines(handle, stats, max_line, chunk)
    for body in reader:
        lines = _lines(body)
        yield body, reader.lineno, lines
        reader.lineno += lines
        progress.update(reader.done, stats.records)


def _lines(body: bytes) -> int:
    """The lines in a block (its newlines and one). Deleting the newlines, each found by memchr,
    takes half the time of bytes.count (a byte at a time) for lines of 60 bytes, but many times
    as long for very short ones: a block whose first 4 KB hold over 128 lines is counted."""
    if body.count(b"\n", 0, 4096) > 128:
        return body.count(b"\n") + 1
    return len(body) - len(body.replace(b"\n", b"")) + 1


class _Lines:
    """The blocks of whole lines of `blocks` (each without its last newline). A line over the
    limit is reported to `stats` as it is skipped; `lineno` counts the lines before the next
    block (the skipped ones here, the blocks' by the caller)."""

    def __init__(self, handle: BinaryIO, stats: ParseStats, max_line: int, chunk: int):
        self.handle, self.stats, self.max_line = handle, stats, max_line
        self.chunk = max(1, min(chunk, max_line))  # so a line within one read is within the limit
        self.lineno = self.done = 0
        self.buf = bytearray(max(3, self.chunk))
        self.held = 0  # bytes at the front of `buf` not handed out yet

    def __iter__(self) -> Iterator[bytes]:
        # A read takes at most `chunk` bytes (no more than the limit) and the buffer grows to at
        # most max_line + 1 bytes, so every line over the limit is met unfinished and skipped.
        fresh = 0  # buf[:fresh] is known to hold no newline (the start of an unfinished line)
        while True:
            if fresh == self.held:
                if self.held == len(self.buf):  # an unfinished line fills the buffer: make room
                    self.buf += bytes(min(len(self.buf), self.max_line + 1 - len(self.buf)))
                if not self._read():
                    break
            cut = self.buf.rfind(b"\n", fresh, self.held)
            if cut < 0:
                fresh = self.held
                if self.held > self.max_line:
                    if not self._skip(bytes(self.buf[: min(200, self.held)]), self.held):
                        return
                    fresh = 0
                continue
            yield bytes(memoryview(self.buf)[:cut])
            self._keep(cut + 1)
            fresh = self.held
        tail = bytes(self.buf[: self.held])
        if tail.strip():
            yield tail

    def _read(self) -> int:
        """Read up to `chunk` bytes into the free end of the buffer: how many (0 at the end)."""
        read = self._fill()
        if read and self.done - read < 3:  # the input's first bytes: drop a byte order mark
            while self.done < 3 and (more := self._fill()):
                read += more
            if self.buf.startswith(b"\xef\xbb\xbf"):
                self.buf[: self.held - 3] = self.buf[3 : self.held]
                self.held -= 3
        return read

    def _fill(self) -> int:
        with memoryview(self.buf) as view:
            into = view[self.held : self.held + self.chunk]
            read: int = self.handle.readinto(into) or 0  # type: ignore[attr-defined]
        self.done += read
        self.held += read
        return read

    def _keep(self, start: int) -> None:
        """Move buf[start:held] (an unfinished line) to the front of the buffer, which goes back
        to its usual size when a long line made it grow."""
        rest = self.buf[start : self.held]
        if len(self.buf) > max(3, self.chunk) and len(rest) <= self.chunk:
            self.buf = bytearray(max(3, self.chunk))
        self.buf[: len(rest)] = rest
        self.held = len(rest)

    def _skip(self, start: bytes, size: int) -> bool:
        """Read past the rest of a line over the limit, `size` bytes of it (all that the buffer
        holds) seen so far; False when the input ends within it."""
        self.held = 0
        while self._read():
            cut = self.buf.find(b"\n", 0, self.held)
            if cut >= 0:
                self.stats.long_line(self.lineno + 1, start, size + cut, self.max_line)
                self.lineno += 1
                self._keep(cut + 1)
                return True
            size += self.held
            self.held = 0
        self.stats.long_line(self.lineno + 1, start, size, self.max_line)
        self.lineno += 1
        return False


class Progress:
    """A line on stderr every few seconds while a big input is read; never on stdout."""

    def __init__(self, name: str, total: int | None, quiet: bool = False):
        self.name, self.total, self.quiet = name, total, quiet
        self.next_at = time.monotonic() + 2.0

    def update(self, done: int, records: int) -> None:
        if self.quiet or time.monotonic() < self.next_at:
            return
        self.next_at = time.monotonic() + 2.0
        share = f" ({100 * done / self.total:.0f}%)" if self.total else ""
        print(
            f"{self.name}: {done / 1e6:,.0f} MB read{share}, {records:,} records", file=sys.stderr, flush=True
        )


def cores(cgroup: str = _CGROUP, proc: str = "/proc/self/cgroup") -> int:
    """The CPUs this process may use: those it may run on, fewer when its control group has a CPU
    quota (a container started with `--cpus 1` sees all of the machine's, but gets one's time)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        usable = os.cpu_count() or 1
    quota = _quota(cgroup, proc)
    return max(1, min(usable, quota) if quota else usable)


def _quota(cgroup: str, proc: str) -> int | None:
    """The CPU quota of this process's control group in whole CPUs (rounded up), or None for none:
    `cpu.max` (cgroup v2) or `cpu.cfs_quota_us` over `cpu.cfs_period_us` (v1), in the group's own
    folder when it can be seen, else at the root of the mount (a container's own group)."""
    try:
        with open(proc, encoding="utf-8") as handle:
            groups = [line.rstrip("\n").split(":", 2) for line in handle]
    except OSError:
        groups = []
    for _, controllers, path in (g for g in groups if len(g) == 3):
        if controllers == "":  # v2: "0::/path"
            found = _read_quota([f"{cgroup}{path.rstrip('/')}/cpu.max", f"{cgroup}/cpu.max"], None)
        elif "cpu" in controllers.split(","):
            folders = [
                f"{cgroup}/{controllers}{path.rstrip('/')}",
                f"{cgroup}/{controllers}",
                f"{cgroup}/cpu",
            ]
            found = _read_quota([f"{folder}/cpu.cfs_quota_us" for folder in folders], "cpu.cfs_period_us")
        else:
            continue
        if found is not None:
            return found
    return None


def _read_quota(paths: list[str], period_name: str | None) -> int | None:
    """The first of `paths` that exists, read as a quota (v2 when `period_name` is None)."""
    for path in paths:
        try:
            with open(path, encoding="ascii") as handle:
                text = handle.read().split()
            if period_name is not None:
                with open(os.path.join(os.path.dirname(path), period_name), encoding="ascii") as handle:
                    text.append(handle.read().strip())
        except (OSError, UnicodeDecodeError):
            continue
        try:
            quota, period = int(text[0]), int(text[1])
        except (ValueError, IndexError):  # "max": no quota
            return None
        return -(-quota // period) if quota > 0 and period > 0 else None
    return None


def line_windows(
    handle: BinaryIO, size: int, parts: int, starts: Callable[[str], bool] | None = None
) -> list[tuple[int, int | None]]:
    """Byte windows of about equal size over a file of lines, each cut just before a line, the
    last running to the end; with `starts`, before the first line within 1 MB after the cut's
    place that it says starts a record (given the line as the reader decodes it), so continuation
    lines (a stack trace) stay in the window of their record. Fewer windows where a line over 1 MB
    runs across a cut, or no record starts near it."""
    cuts = [0]
    for part in range(1, parts):
        at = max(cuts[-1], size * part // parts)
        handle.seek(at)
        chunk = handle.read(1 << 20)
        begin = chunk.find(b"\n") + 1
        while begin and at + begin < size:
            end = chunk.find(b"\n", begin)
            if starts is None or (
                end >= 0 and starts(chunk[begin:end].decode("utf-8", "replace").removesuffix("\r"))
            ):
                cuts.append(at + begin)
                break
            if end < 0:
                break  # the line runs past what was read
            begin = end + 1
    return [(start, end) for start, end in zip(cuts, [*cuts[1:], None])]


def lines_before(source: str, offset: int) -> int:
    """How many lines of the file `source` end before byte `offset` (a line start)."""
    count, left = 0, offset
    with open(source, "rb") as handle:
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    return count
