"""What reading an input met (counts, malformed lines, assumptions), and progress on stderr.

Standard library only; used by parse_logs.py.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from timestamps import Clock


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
        self.malformed_examples: list[dict[str, Any]] = []
        self.unknown_levels: dict[str, int] = {}
        self.clock = Clock(year)

    def bad_line(self, lineno: int | None, line: bytes | str, reason: str) -> None:
        self.malformed += 1
        if len(self.malformed_examples) < 5:
            text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
            self.malformed_examples.append({"line": lineno, "reason": reason, "text": text[:200]})

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
        return {
            "format": self.format,
            "lines": self.lines,
            "records": self.records,
            "malformed": self.malformed,
            "blank": self.blank,
            "continuation_lines": self.continuation_lines,
            "decode_errors": self.decode_errors,
            "missing_timestamps": self.missing_timestamps,
            "timestamps_assumed_utc": self.clock.assumed_utc,
            "timestamps_assumed_year": self.clock.assumed_year,
            "unknown_levels": dict(self.unknown_levels),
            "malformed_examples": self.malformed_examples,
            "notes": notes,
        }


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


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by parse_logs.py, not a command; run it with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
