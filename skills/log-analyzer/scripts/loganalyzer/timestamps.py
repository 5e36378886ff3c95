"""Timestamps in many formats to ISO 8601 UTC, remembering what had to be assumed.

Standard library only (Python >= 3.9); used by logformats.py and parse_logs.py.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import cached_property
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
_STAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})", re.ASCII)  # not "٢٠٢٦"


class BadTimestamp(ValueError):
    """A value shaped like a timestamp that names no real moment (`2026-02-30`, `99:99:99`).

    Readers count the record as malformed with this message as the reason, and go on.
    """


def check_stamp(base: str) -> None:
    """Raise BadTimestamp unless `yyyy-MM-ddTHH:mm:ss` (the first 19 characters) is a real time."""
    m = _STAMP.match(base)
    if m is None:
        raise BadTimestamp(f"timestamp {base[:40]!r} is not yyyy-MM-dd HH:mm:ss")
    y, mo, d, h, mi, s = map(int, m.groups())
    try:
        datetime(y, mo, d, h, mi, min(s, 59))  # 60 is a leap second: a real moment
    except ValueError as exc:
        raise BadTimestamp(f"timestamp {base[:40]!r} is not a real date and time ({exc})") from None


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
        self._checked: set[str] = set()

    def check(self, stamps: set[str]) -> None:
        """Raise BadTimestamp unless every `yyyy-MM-ddTHH:mm:ss` prefix in `stamps` is a real time.

        The fast paths slice timestamps instead of parsing them; they call this once per batch
        with the distinct seconds they saw, so checking costs little."""
        new = stamps - self._checked
        for stamp in new:
            check_stamp(stamp)
        if len(self._checked) > 100_000:
            self._checked.clear()
        self._checked |= new

    def iso(self, value: Any) -> str | None:
        """ISO 8601 UTC with milliseconds, or None when the value is not a timestamp we can read.

        Raises BadTimestamp for a value of a known shape that names no real time (`2026-02-30`).
        """
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
            check_stamp(key[0])
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
        for shape in SHAPES:
            m = shape.full.match(text)
            if m is not None:
                return self.from_parts(m.groupdict())
        try:
            from email.utils import parsedate_to_datetime  # slow to import, rarely needed

            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            self.assumed_utc += 1
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def from_parts(self, parts: dict[str, str | None]) -> str | None:
        """ISO 8601 UTC from the named groups of a Shape (Y/y year, M/b month, d, H, m, S, f, z, e)."""
        if parts.get("e"):
            return _from_epoch(float(parts["e"] or 0))
        year = parts.get("Y") or (_century(parts["y"]) if parts.get("y") else None)
        if year is None:
            self.assumed_year += 1
            year = str(self.year)
        month = parts.get("M") or f"{_MONTHS.get(parts.get('b') or '', 0):02d}"
        day = f"{int(parts['d'] or 0):02d}"
        text = f"{year}-{month}-{day}T{parts['H']}:{parts['m']}:{parts.get('S') or '00'}"
        return self.iso(text + (f".{parts['f']}" if parts.get("f") else "") + (parts.get("z") or ""))


def _century(yy: str) -> str:
    return ("19" if int(yy) >= 70 else "20") + yy


class Shape:
    """One timestamp layout that format inference looks for in the first fields of lines.

    `pattern` has no capturing groups, so it can sit inside a bigger line regex; `full` matches a
    whole value with named parts for `Clock.from_parts`; `search` finds it inside a line, on
    field boundaries. `second` is how many leading characters hold everything up to the second
    when the layout has a fixed width (None otherwise): the fast path converts each distinct
    second once. `sortable` says whether raw values sort in time order.
    """

    def __init__(
        self, name: str, parts: str, *, second: int | None, sortable: bool = True, year: bool = True
    ):
        self.name = name
        self.parts = parts
        self.pattern = re.sub(r"\(\?P<\w+>", "(?:", parts)
        self.second = second
        self.sortable = sortable
        self.year = year
        self.zoned = "(?P<z>" in parts
        self.epoch = "(?P<e>" in parts

    # compiled on first use: only format inference reads them, and most runs infer nothing (the 28
    # compilations cost every run ~10 ms otherwise)
    @cached_property
    def full(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self.parts})$")

    @cached_property
    def search(self) -> re.Pattern[str]:
        return re.compile(r"(?<![\w.:/-])(?:" + self.pattern + r")(?![\w:])")


_FRAC = r"(?:[.,](?P<f>\d{1,9}))?"
_HMS = r"(?P<H>\d\d):(?P<m>\d\d):(?P<S>\d\d)" + _FRAC
_MON = r"(?P<b>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# Most specific first: inference takes the first shape that fits most of the sample.
SHAPES = (
    Shape(
        "ISO 8601 (yyyy-MM-dd HH:mm:ss[.fff][zone])",
        r"(?P<Y>\d{4})-(?P<M>\d\d)-(?P<d>\d\d)[T ]" + _HMS + r"(?P<z>Z|[+-]\d\d:?\d\d| ?UTC)?",
        second=19,
    ),
    Shape(
        "yyyy-MM-dd-HH.mm.ss.ffffff",
        r"(?P<Y>\d{4})-(?P<M>\d\d)-(?P<d>\d\d)-(?P<H>\d\d)\.(?P<m>\d\d)\.(?P<S>\d\d)(?:\.(?P<f>\d{1,9}))?",
        second=19,
    ),
    Shape(
        "yyyy.MM.dd HH:mm:ss",
        r"(?P<Y>\d{4})\.(?P<M>\d\d)\.(?P<d>\d\d)[ T-]" + _HMS,
        second=19,
    ),
    Shape("yyyy/MM/dd HH:mm:ss", r"(?P<Y>\d{4})/(?P<M>\d\d)/(?P<d>\d\d)[ T]" + _HMS, second=19),
    Shape("yy/MM/dd HH:mm:ss", r"(?P<y>\d\d)/(?P<M>\d\d)/(?P<d>\d\d) " + _HMS, second=17),
    Shape(
        "yyyyMMdd-HH:mm:ss[:SSS]",
        r"(?P<Y>\d{4})(?P<M>\d\d)(?P<d>\d\d)[-T ](?P<H>\d\d):(?P<m>\d\d):(?P<S>\d\d)(?:[.,:](?P<f>\d{1,9}))?",
        second=17,
    ),
    Shape(
        "yyyyMMdd HHmmss",
        r"(?P<Y>\d{4})(?P<M>\d\d)(?P<d>\d\d)[T ]?(?P<H>\d\d)(?P<m>\d\d)(?P<S>\d\d)" + _FRAC + r"(?![\d:])",
        second=None,
    ),
    Shape(
        "yyMMdd HHmmss",
        r"(?P<y>\d\d)(?P<M>\d\d)(?P<d>\d\d) (?P<H>\d\d)(?P<m>\d\d)(?P<S>\d\d)(?![\d:])",
        second=13,
    ),
    Shape(
        "MM-dd HH:mm:ss.SSS (no year)",
        r"(?P<M>\d\d)-(?P<d>\d\d) " + _HMS,
        second=14,
        year=False,
    ),
    Shape(
        "MM.dd HH:mm:ss (no year)",
        r"(?P<M>\d\d)\.(?P<d>\d\d) " + _HMS,
        second=14,
        year=False,
    ),
    Shape(
        "dd-Mmm-yyyy HH:mm:ss",
        r"(?P<d>\d\d)-" + _MON + r"-(?P<Y>\d{4}) " + _HMS,
        second=20,
        sortable=False,
    ),
    Shape(
        "Www Mmm dd HH:mm:ss yyyy",
        r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MON + r" +(?P<d>\d{1,2}) " + _HMS + r" (?P<Y>\d{4})",
        second=None,
        sortable=False,
    ),
    Shape(
        "Mmm dd HH:mm:ss (syslog, no year)",
        _MON + r" +(?P<d>\d{1,2}) " + _HMS,
        second=None,
        sortable=False,
        year=False,
    ),
    Shape(
        "epoch seconds or milliseconds",
        r"(?P<e>1\d{9}(?:\.\d{1,9})?|1\d{12})(?![\d])",
        second=10,
    ),
)


def moment(stamp: Any) -> datetime | None:
    """An ISO 8601 string (as analysis.json holds them) as an aware datetime; None when it is not one.

    A stamp without a zone is read as UTC, like every timestamp here.
    """
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        found = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


def _from_epoch(number: float) -> str | None:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    scale = 1e9 if number > 1e17 else 1e6 if number > 1e14 else 1e3 if number > 1e11 else 1.0
    seconds = number / scale
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
