"""Excel number formats: a cell's value as Excel shows it (`0.0%` -> 30.7%, `#,##0` -> 5,000).

A workbook stores numbers and dates as numbers and says how to show each cell through its style:
`styles.xml` maps a cell's style index (`<c s="4">`) to an `<xf numFmtId=...>`, and a format id
to a built-in format or a `<numFmt formatCode=...>` of the workbook. `_styles.read_styles` reads
that part; `format_value` applies a format code.

The codes covered are the ones spreadsheets write: General, digits with `0`/`#`/`?`, decimals,
thousands separators and scaling commas, percent, scientific, literal text ("…", \\x, `_x`, `*x`),
sections for positive;negative;zero;text, colours and locale tags (dropped), currency tags
(`[$€-407]`), dates and times (y m d h s, AM/PM, elapsed `[h]`, fractions of a second). Anything
else (conditions such as `[>100]`, fractions `# ?/?`) shows as General. Times are rounded to what
the format shows, as Excel does: `hh:mm:ss` shows 09:24:07.728 as 09:24:08.

A format code comes from an untrusted file: it is only ever read as data, its literal text ends up
in the cell's text, and the caller escapes that text like any other.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

__all__ = ["BUILTIN", "MAX_CODE", "format_value", "is_date_format"]

BUILTIN = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
    18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "yyyy-mm-dd h:mm",
    37: "#,##0 ;(#,##0)", 38: "#,##0 ;(#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;(#,##0.00)",
    45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0", 48: "##0.0E+0", 49: "@",
}  # fmt: skip
"""Built-in format ids. 14 and 22 follow the reader's locale in Excel; they show as ISO dates here."""

MAX_CODE = 255  # Excel's own limit on a format code's length


# --- format codes -------------------------------------------------------------------------------

_EPOCH = datetime.datetime(1899, 12, 30)
_BRACKET = re.compile(r"\[([^\]]*)\]")
_DATE_TOKEN = re.compile(r"(?i)yyyy|yy|m{1,5}|d{1,4}|h{1,2}|s{1,2}(?:\.0{1,3})?|am/pm|a/p")


@lru_cache(maxsize=512)
def _sections(code: str) -> tuple[str, ...]:
    """`code` split at the `;` that are not inside quotes or after a backslash."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(code):
        ch = code[i]
        if ch == "\\" and i + 1 < len(code):
            current.append(code[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


@lru_cache(maxsize=512)
def _literal_free(section: str) -> str:
    """The section without quoted text, escaped characters and `_x`/`*x` padding."""
    return re.sub(r'"[^"]*"|\\.|_.|\*.', "", section)


@lru_cache(maxsize=512)
def is_date_format(code: str) -> bool:
    """Whether `code`'s first section shows a date or a time."""
    section = _literal_free(_sections(code)[0])
    section = _BRACKET.sub(lambda m: m.group(0) if re.fullmatch(r"(?i)[hms]+", m.group(1)) else "", section)
    return section.strip().lower() != "general" and bool(re.search(r"(?i)[ymdhs]", section))


def format_value(value: Any, code: str | None) -> str:
    """`value` (a cell's value as calamine gives it) as Excel shows it with the format `code`."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if code is None or code == "General":  # most cells: no parsing at all
        return value if isinstance(value, str) else _general(value)
    if isinstance(value, str):
        sections = _sections(code)
        return _text_section(sections[3], value) if len(sections) > 3 else value
    try:
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)):
            return _date(value, code)
        if isinstance(value, (int, float)):
            return _date(value, code) if is_date_format(code) else _number(float(value), code)
    except (ValueError, OverflowError, ArithmeticError):
        pass
    return _general(value)


def _text_section(section: str, text: str) -> str:
    return "".join(text if kind == "@" else piece for kind, piece in _literals(section, "@"))


@lru_cache(maxsize=512)
def _pieces(section: str, specials: str, elapsed: bool = False) -> list[tuple[str, str]]:
    """`_literals` as a list, kept per section: a sheet repeats a few formats many times."""
    return list(_literals(section, specials, elapsed))


def _literals(section: str, specials: str, elapsed: bool = False) -> Iterator[tuple[str, str]]:
    """The section as (kind, text) pieces: quoted or escaped text, padding and currency symbols are
    ("'", text), never read as codes; any other character is ("", char), or (char, char) when it is
    in `specials`; `[h]`/`[mm]`/`[ss]` are ("[", text) when `elapsed`, other brackets are dropped."""
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            yield "'", section[i + 1 : end]
            i = end + 1
        elif ch == "\\" and i + 1 < len(section):
            yield "'", section[i + 1]
            i += 2
        elif ch == "_" and i + 1 < len(section):
            yield "'", " "
            i += 2
        elif ch == "*" and i + 1 < len(section):
            i += 2
        elif ch == "[":
            end = section.find("]", i)
            end = len(section) if end < 0 else end
            inner = section[i + 1 : end]
            if inner.startswith("$"):
                yield "'", inner[1:].split("-", 1)[0]
            elif elapsed and re.fullmatch(r"(?i)h+|m+|s+", inner):
                yield "[", section[i : end + 1]
            i = end + 1
        elif ch in specials:
            yield ch, ch
            i += 1
        else:
            yield "", ch
            i += 1


# --- numbers ------------------------------------------------------------------------------------


def _general(value: Any) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e11:
            return str(int(value))
        text = f"{value:.10g}"
        return text.replace("e+", "E+").replace("e-", "E-")
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


@lru_cache(maxsize=512)
def _conditional(code: str) -> bool:
    return any(re.search(r"\[[<>=]", s) for s in _sections(code))


def _pick(code: str, value: float) -> tuple[str, float, bool] | None:
    """The section for `value`, the value it formats, and whether a minus sign must be added;
    None when the code has conditions (shown as General)."""
    if _conditional(code):
        return None
    sections = _sections(code)
    if value < 0 and len(sections) >= 2:
        return sections[1], -value, False
    if value == 0 and len(sections) >= 3:
        return sections[2], value, False
    return sections[0], abs(value), value < 0


def _number(value: float, code: str) -> str:
    picked = _pick(code, value)
    if picked is None:
        return _general(value)
    section, value, minus = picked
    sign = "-" if minus else ""
    plan = _number_plan(section)
    if plan == "general":  # General, perhaps with text around it: General" ms"
        text = "".join(piece for _, piece in _literals(section, ""))
        return sign + re.sub("(?i)general", lambda _: _general(value), text, count=1)
    if plan == "text":  # text only, e.g. a zero section "-"
        return "".join(piece for _, piece in _literals(section, ""))
    if plan == "fraction":
        return sign + _general(value)
    assert isinstance(plan, _Plan)
    value = value * plan.multiply / plan.divide
    if plan.exponent:
        text = _scientific(value, plan.decimals, plan.min_decimals, plan.exponent)
    else:
        text = _fixed(value, plan.decimals, plan.min_decimals, plan.min_int, plan.grouping, plan.point)
    return sign + plan.before + text + plan.after


_TEXT = ("", "'", "%", "-", "+", "/")


@dataclass(frozen=True)
class _Plan:
    """A number section read once: where the digits go and how they are written."""

    multiply: float
    divide: float
    decimals: int
    min_decimals: int
    min_int: int
    grouping: bool
    point: bool
    exponent: str
    before: str
    after: str


@lru_cache(maxsize=512)
def _number_plan(section: str) -> _Plan | str:
    """The section's `_Plan`, or "general", "text" (no digits) or "fraction" (shown as General)."""
    bare = _BRACKET.sub("", _literal_free(section))
    if "general" in bare.lower():
        return "general"
    if not re.search(r"[0#?]", bare):
        return "text"
    pieces = _pieces(section, "0#?.,%Ee+-/@")
    if any(k == "/" for k, _ in pieces):
        return "fraction"
    kinds = "".join(k if k and k != "'" else " " for k, _ in pieces)
    exp_at = re.search(r"[Ee][+-]", kinds)
    digits = [i for i, k in enumerate(kinds) if k in "0#?" and (exp_at is None or i < exp_at.start())]
    first, last = digits[0], digits[-1]
    trailing = kinds[last + 1 :]
    scale = len(trailing) - len(trailing.lstrip(","))
    int_part, point, dec_part = kinds[first : last + 1].partition(".")
    after_start = last + 1 + scale if exp_at is None else len(pieces)
    return _Plan(
        multiply=100.0 ** kinds.count("%"),
        divide=1000.0**scale,
        decimals=sum(1 for c in dec_part if c in "0#?"),
        min_decimals=sum(1 for c in dec_part.rstrip("#") if c in "0?"),
        min_int=int_part.count("0"),
        grouping="," in int_part,
        point=bool(point),
        exponent=kinds[exp_at.start() :] if exp_at else "",
        before="".join(p for k, p in pieces[:first] if k in _TEXT),
        after="".join(p for k, p in pieces[after_start:] if k in _TEXT),
    )


def _fixed(value: float, decimals: int, min_decimals: int, min_int: int, grouping: bool, point: bool) -> str:
    """`value` rounded half away from zero, as Excel does (2.675 with 0.00 is 2.68)."""
    scaled = abs(value) * 10.0**decimals
    if scaled < 1e9 and abs(scaled - math.floor(scaled) - 0.5) > 1e-6:
        whole, _, frac = f"{value:.{decimals}f}".partition(".")  # not near a tie: any rounding agrees
    else:
        exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        whole, _, frac = f"{exact:f}".partition(".")
    frac = frac.rstrip("0").ljust(min_decimals, "0")
    whole = whole.lstrip("0").rjust(min_int, "0")
    if grouping and whole:
        whole = f"{int(whole):,}".rjust(min_int, "0")
    return whole + ("." + frac if point else "")


def _scientific(value: float, decimals: int, min_decimals: int, exp_code: str) -> str:
    mantissa, _, exponent = f"{value:.{decimals}E}".partition("E")
    if "." in mantissa and min_decimals < decimals:
        head, _, frac = mantissa.partition(".")
        frac = frac.rstrip("0").ljust(min_decimals, "0")
        mantissa = head + ("." + frac if frac else "")
    sign = "-" if exponent.startswith("-") else ("+" if exp_code[1] == "+" else "")
    width = max(sum(1 for c in exp_code[2:] if c in "0#?"), 1)
    return f"{mantissa}E{sign}{str(abs(int(exponent))).rjust(width, '0')}"


# --- dates and times ----------------------------------------------------------------------------


def _moment(value: Any) -> tuple[datetime.datetime, datetime.timedelta | None]:
    """(the moment, the elapsed time for [h]/[m]/[s]) of a cell value."""
    if isinstance(value, datetime.datetime):
        return value, value - _EPOCH
    if isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
        return moment, moment - _EPOCH
    if isinstance(value, datetime.time):
        moment = datetime.datetime.combine(_EPOCH.date(), value)
        return moment, moment - _EPOCH
    if isinstance(value, datetime.timedelta):
        return _EPOCH + value, value
    if value < 0 or value > 2_958_465:  # Excel shows ##### for these
        raise ValueError("not a date")
    delta = datetime.timedelta(days=float(value))
    return _EPOCH + delta, delta


def _date(value: Any, code: str) -> str:
    section = _sections(code)[0]
    if not is_date_format(section):
        return _general(value if not isinstance(value, datetime.timedelta) else str(value))
    tokens, step, twelve = _date_plan(section)
    cuts = _iso_cuts(section)
    if cuts is not None and type(value) is datetime.datetime and value.tzinfo is None and step == _SECOND:
        micro = value.microsecond
        if micro > 500_000:  # rounds up (at a tie, half up and half even disagree: the general way)
            value += datetime.timedelta(microseconds=1_000_000 - micro)
        if micro != 500_000:
            iso: str = value.isoformat(" ", "seconds")
            if len(cuts) == 1:  # yyyy-mm-dd hh:mm:ss, yyyy-mm-dd, hh:mm...: one slice of it
                return iso[cuts[0][1] : cuts[0][2]]
            return "".join(iso[a:b] if a >= 0 else text for text, a, b in cuts)
    moment, elapsed = _moment(value)
    moment = _round(moment, step)
    elapsed = None if elapsed is None else _round_delta(elapsed, step)
    return "".join(
        text if not kind else _date_part(kind, moment, elapsed, twelve, minute)
        for kind, text, minute in tokens
    )


@lru_cache(maxsize=512)
def _date_plan(section: str) -> tuple[list[tuple[str, str, bool]], datetime.timedelta, bool]:
    """A date section read once: its tokens (each with whether an `m` is a minute), the rounding
    step (a second, or the fraction of one the format shows), and whether it uses AM/PM."""
    frac = re.search(r"(?i)s+\.(0{1,3})", _literal_free(section))
    step = datetime.timedelta(microseconds=10 ** (6 - (len(frac.group(1)) if frac else 0)))
    twelve = bool(re.search(r"(?i)am/pm|a/p", section))
    tokens, previous = [], ""
    plain = _date_tokens(section)
    for index, (kind, text) in enumerate(plain):
        minute = bool(kind) and kind.startswith("m") and _is_minute(plain, index, previous)
        tokens.append((kind, text, minute))
        previous = kind or previous
    return tokens, step, twelve


_SECOND = datetime.timedelta(seconds=1)
_ISO = {"yyyy": (0, 4), "yy": (2, 4), "month": (5, 7), "dd": (8, 10), "hh": (11, 13), "minute": (14, 16),
        "ss": (17, 19)}  # fmt: skip
"""Where each zero-padded part sits in `datetime.isoformat(" ", "seconds")`: YYYY-MM-DD HH:MM:SS."""


@lru_cache(maxsize=512)
def _iso_cuts(section: str) -> tuple[tuple[str, int, int], ...] | None:
    """The section as pieces of a datetime's ISO text (text, start, end; start -1 for literal text)
    when it only has zero-padded numeric parts (yyyy-mm-dd hh:mm:ss and the like: most dates in a
    sheet), else None: month and day names, AM/PM, one-digit parts and fractions of a second go the
    general way. The ISO text is one C call; `strftime` costs several times more."""
    tokens, _step, twelve = _date_plan(section)
    if twelve:
        return None
    out = []
    for kind, text, minute in tokens:
        part = ("minute" if minute else "month") if kind == "mm" else kind
        if not kind:
            out.append((text, -1, -1))
        elif part in _ISO:
            out.append(("", *_ISO[part]))
        else:
            return None
    return _one_cut(out) or tuple(out)


def _one_cut(cuts: list[tuple[str, int, int]]) -> tuple[tuple[str, int, int]] | None:
    """The pieces as one slice of the ISO text when they are a stretch of it, separators included."""
    if not cuts or cuts[0][1] < 0:
        return None
    first, at = cuts[0][1], cuts[0][1]
    for text, a, b in cuts:
        if a < 0 and _ISO_TEXT[at : at + len(text)] == text:
            at += len(text)
        elif a == at:
            at = b
        else:
            return None
    return (("", first, at),)


_ISO_TEXT = "0000-00-00 00:00:00"


def _round(moment: datetime.datetime, step: datetime.timedelta) -> datetime.datetime:
    base = datetime.datetime(moment.year, moment.month, moment.day)
    return base + _round_delta(moment - base, step)


def _round_delta(delta: datetime.timedelta, step: datetime.timedelta) -> datetime.timedelta:
    return step * round(delta / step)


@lru_cache(maxsize=512)
def _date_tokens(section: str) -> list[tuple[str, str]]:
    """(token, text) pieces: a date token as its lower-case code, literal text with kind ''."""
    out: list[tuple[str, str]] = []
    run: list[str] = []
    for kind, piece in _literals(section, "", elapsed=True):
        if kind == "":
            run.append(piece)
            continue
        out += _split_date("".join(run))
        run = []
        out.append((piece.lower(), piece) if kind == "[" else ("", piece))
    return out + list(_split_date("".join(run)))


def _split_date(text: str) -> Iterator[tuple[str, str]]:
    at = 0
    for m in _DATE_TOKEN.finditer(text):
        if m.start() > at:
            yield "", text[at : m.start()]
        yield m.group(0).lower(), m.group(0)
        at = m.end()
    if at < len(text):
        yield "", text[at:]


def _is_minute(tokens: list[tuple[str, str]], index: int, previous: str) -> bool:
    """`m`/`mm` means minutes right after an hour or right before a second (Excel's rule)."""
    if previous.startswith("h") or previous.startswith("[h"):
        return True
    for kind, _ in tokens[index + 1 :]:
        if kind:
            return kind.startswith("s")
    return False


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _date_part(
    kind: str, moment: datetime.datetime, elapsed: datetime.timedelta | None, twelve: bool, minute: bool
) -> str:
    if kind.startswith("["):
        seconds = int((elapsed or datetime.timedelta()).total_seconds())
        unit = {"h": 3600, "m": 60, "s": 1}[kind[1]]
        return str(seconds // unit).rjust(len(kind) - 2, "0")
    if kind in ("yyyy", "yy"):
        return f"{moment.year:04d}" if kind == "yyyy" else f"{moment.year % 100:02d}"
    if kind.startswith("m") and minute:
        return f"{moment.minute:0{min(len(kind), 2)}d}"
    if kind.startswith("m"):
        return _month(kind, moment.month)
    if kind.startswith("d"):
        return _day(kind, moment)
    if kind.startswith("h"):
        hour = (moment.hour % 12 or 12) if twelve else moment.hour
        return f"{hour:0{len(kind)}d}"
    if kind.startswith("s"):
        whole, _, frac = kind.partition(".")
        text = f"{moment.second:0{len(whole)}d}"
        return text + ("." + f"{moment.microsecond:06d}"[: len(frac)] if frac else "")
    if kind == "am/pm":
        return "AM" if moment.hour < 12 else "PM"
    return "A" if moment.hour < 12 else "P"  # a/p


def _month(kind: str, month: int) -> str:
    name = _MONTHS[month - 1]
    return {1: str(month), 2: f"{month:02d}", 3: name[:3], 4: name, 5: name[0]}[len(kind)]


def _day(kind: str, moment: datetime.datetime) -> str:
    name = _DAYS[moment.weekday()]
    return {1: str(moment.day), 2: f"{moment.day:02d}", 3: name[:3], 4: name}[len(kind)]
