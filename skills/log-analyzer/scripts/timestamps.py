"""Timestamps in many formats to ISO 8601 UTC, remembering what had to be assumed.

Standard library only (Python >= 3.9); used by logformats.py and parse_logs.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,](\d{1,9}))?\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_SLASHED = re.compile(r"(\d{2}|\d{4})/(\d{2})/(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?$")
_APACHE = re.compile(
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? (\d{4})$"
)
_ACCESS = re.compile(r"(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})$")
_SYSLOG = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")


class Clock:
    """Turns timestamps in many formats into ISO 8601 UTC (`2026-03-14T09:00:01.639Z`).

    Remembers what it had to assume: `assumed_utc` counts timestamps without a zone (read as UTC)
    and `assumed_year` those without a year (syslog; read as `year`).
    """

    def __init__(self, year: int | None = None):
        self.year = year if year is not None else datetime.now(timezone.utc).year
        self.assumed_utc = 0
        self.assumed_year = 0
        self._cache: dict[tuple[str, str], str] = {}

    def iso(self, value: Any) -> str | None:
        """ISO 8601 UTC with milliseconds, or None when the value is not a timestamp we can read."""
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            return _from_epoch(float(value))
        text = str(value).strip()
        m = _ISO.match(text)
        if m is not None:
            return self._iso_match(m)
        if text.replace(".", "", 1).isdigit():
            return _from_epoch(float(text))
        return self._other(text)

    def _iso_match(self, m: re.Match[str]) -> str:
        y, mo, d, h, mi, s, frac, tz = m.groups()
        if tz is None:
            self.assumed_utc += 1
            tz = "Z"
        key = (f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}", tz)
        base = self._cache.get(key)
        if base is None:
            base = self._shift(key[0], tz)
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[key] = base
        return f"{base}.{(frac or '') + '000'}"[: len(base) + 4] + "Z"

    @staticmethod
    def _shift(base: str, tz: str) -> str:
        if tz in ("Z", "z", "UTC", "GMT") or tz.replace(":", "") in ("+00", "-00", "+0000", "-0000"):
            return base
        digits = tz.replace(":", "")
        minutes = int(digits[1:3]) * 60 + (int(digits[3:5]) if len(digits) >= 5 else 0)
        delta = timedelta(minutes=minutes if digits[0] == "+" else -minutes)
        return (datetime.fromisoformat(base) - delta).strftime("%Y-%m-%dT%H:%M:%S")

    def _other(self, text: str) -> str | None:
        m = _SLASHED.match(text)
        if m is not None:
            y, mo, d, h, mi, s, frac = m.groups()
            year = f"20{y}" if len(y) == 2 else y
            return self.iso(f"{year}-{mo}-{d}T{h}:{mi}:{s}" + (f".{frac}" if frac else ""))
        m = _APACHE.match(text)
        if m is not None:
            mon, d, h, mi, s, frac, y = m.groups()
            return self.iso(
                f"{y}-{_MONTHS.get(mon, 1):02d}-{int(d):02d}T{h}:{mi}:{s}" + (f".{frac}" if frac else "")
            )
        m = _ACCESS.match(text)
        if m is not None:
            d, mon, y, h, mi, s, tz = m.groups()
            return self.iso(f"{y}-{_MONTHS.get(mon, 1):02d}-{d}T{h}:{mi}:{s}{tz[:3]}:{tz[3:]}")
        m = _SYSLOG.match(text)
        if m is not None:
            mon, d, h, mi, s, frac = m.groups()
            self.assumed_year += 1
            return self.iso(
                f"{self.year}-{_MONTHS.get(mon, 1):02d}-{int(d):02d}T{h}:{mi}:{s}"
                + (f".{frac}" if frac else "")
            )
        try:
            from email.utils import parsedate_to_datetime  # slow to import, rarely needed

            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            self.assumed_utc += 1
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _from_epoch(number: float) -> str | None:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    scale = 1e9 if number > 1e17 else 1e6 if number > 1e14 else 1e3 if number > 1e11 else 1.0
    seconds = number / scale
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    import sys

    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by parse_logs.py and analyze.py, not a command; run those with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
