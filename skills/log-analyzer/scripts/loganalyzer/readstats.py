"""What reading an input met (counts, malformed lines, assumptions), and progress on stderr.

Standard library only; used by parse_logs.py.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from .timestamps import Clock

ENGINE_ENV = "LOGANALYZER_JSON"
"""Which engine reads JSON: `stdlib` (the standard library even where orjson is installed),
`orjson` (never polars nor msgspec), `polars` (polars for JSON Lines of any size), `msgspec`
(msgspec for JSON arrays of any size); unset, the fastest there is for the input. The tests
compare them on the same inputs."""
ROWS_MIN = 16 << 20
"""JSON arrays smaller than this are not read with msgspec (its import would cost more)."""


def rows_engine(size: int | None) -> bool:
    """Whether a JSON array of `size` bytes is read with msgspec (`jsondoc.rows_loads`): msgspec
    0.18 or later and orjson are importable, and either LOGANALYZER_JSON is `msgspec` or, unset,
    the input has at least ROWS_MIN bytes."""
    choice = os.environ.get(ENGINE_ENV, "").strip().lower()
    if choice not in ("", "msgspec") or (choice == "" and (size or 0) < ROWS_MIN):
        return False
    if json_engine() != "orjson":  # the chunks msgspec turns down go to orjson (see rows_loads)
        return False
    try:
        import msgspec
    except ImportError:
        return False
    version = tuple(int(p) for p in re.findall(r"\d+", getattr(msgspec, "__version__", "0"))[:2])
    return version >= (0, 18)


def json_engine() -> str:
    """Which JSON reader this process uses: "orjson" (installed, 3.9.15 or later, not turned off
    with LOGANALYZER_JSON=stdlib) or "stdlib". The report names it as `parse.engine`."""
    if os.environ.get(ENGINE_ENV, "").strip().lower() == "stdlib":
        return "stdlib"
    try:
        import orjson
    except ImportError:  # a bare python3: the standard json module is slower but enough
        return "stdlib"
    version = tuple(int(p) for p in re.findall(r"\d+", getattr(orjson, "__version__", "0"))[:3])
    return "orjson" if version >= (3, 9, 15) else "stdlib"


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

    A leading UTF-8 byte order mark is dropped. A line longer than `max_line` bytes is skipped as
    it streams past, never held whole, and counted as malformed with its length: a 2 GB file
    without a newline costs one pass over the disk and `max_line` of memory.
    """
    parts: list[bytes] = []  # the unfinished last line
    held = lineno = done = 0
    skipped = -1  # bytes of an over-long line skipped so far; -1 when not skipping
    first: bytes = b""
    while True:
        data = handle.read(chunk)
        if not data:
            break
        if done == 0 and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        done += len(data)
        if skipped >= 0:
            cut = data.find(b"\n")
            if cut < 0:
                skipped += len(data)
                continue
            stats.long_line(lineno + 1, first, skipped + cut, max_line)
            lineno, skipped, data = lineno + 1, -1, data[cut + 1 :]
        cut = data.rfind(b"\n")
        if cut < 0:
            parts.append(data)
            held += len(data)
            if held > max_line:
                first, skipped, parts, held = parts[0][:200], held, [], 0
            continue
        body = b"".join((*parts, memoryview(data)[:cut]))  # one copy of the block, not two
        parts, held = [data[cut + 1 :]], len(data) - cut - 1
        lines = body.count(b"\n") + 1
        yield body, lineno, lines
        lineno += lines
        progress.update(done, stats.records)
    if skipped >= 0:
        stats.long_line(lineno + 1, first, skipped, max_line)
    tail = b"".join(parts)
    if tail.strip():
        yield tail, lineno, tail.count(b"\n") + 1


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
