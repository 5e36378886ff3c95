"""The small part of LogQL the demo server understands, and the time parsing both dialects share.

Enough LogQL to exercise a real client: a stream selector `{service="api", level=~"error|warn"}`
with `=`, `!=`, `=~`, `!~` matchers (regexes fully anchored, as in Loki), followed by line filters
`|= "text"`, `!= "text"`, `|~ "regex"`, `!~ "regex"`.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

if sys.version_info >= (3, 11):
    import re._parser as _sre
else:  # pragma: no cover - Python 3.10
    import sre_parse as _sre

__all__ = ["MAX_PATTERN", "LokiQuery", "check_pattern", "parse_loki_query", "parse_time"]

MAX_PATTERN = 256
"""The longest regex a query may carry: Loki runs RE2 (linear time), Python's `re` backtracks."""
_MAX_UNBOUNDED = 2

_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*"((?:[^"\\]|\\.)*)"')


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@dataclass
class LokiQuery:
    """A parsed query: label matchers and line filters, each as (operator, operand)."""

    matchers: list[tuple[str, str, str]] = field(default_factory=list)
    filters: list[tuple[str, str]] = field(default_factory=list)

    def matches(self, labels: dict[str, str], line: str) -> bool:
        """Whether a log line with these stream labels passes every matcher and filter."""
        for name, op, value in self.matchers:
            actual = labels.get(name, "")
            hit = actual == value if op in ("=", "!=") else re.fullmatch(value, actual) is not None
            if hit != (op in ("=", "=~")):
                return False
        for op, value in self.filters:
            hit = value in line if op in ("|=", "!=") else re.search(value, line) is not None
            if hit != (op in ("|=", "|~")):
                return False
        return True


def parse_loki_query(query: str) -> LokiQuery:
    """Parse `{selector} | filters`; raise ValueError naming what is wrong."""
    text = query.strip()
    if not text.startswith("{") or "}" not in text:
        raise ValueError(f'query must start with a stream selector such as {{service="api"}}, got {query!r}')
    close = text.index("}")
    inner, rest = text[1:close].strip(), text[close + 1 :]
    parsed = LokiQuery()
    while inner:
        m = _MATCHER.match(inner)
        if m is None:
            raise ValueError(f"bad label matcher near {inner!r}")
        parsed.matchers.append((m.group(1), m.group(2), _unquote(m.group(3))))
        inner = inner[m.end() :]
    if not parsed.matchers:
        raise ValueError("the stream selector needs at least one label matcher")
    rest = rest.strip()
    while rest:
        f = _FILTER.match(rest)
        if f is None:
            raise ValueError(f"unsupported pipeline stage near {rest!r}: use |= != |~ !~ line filters")
        parsed.filters.append((f.group(1), _unquote(f.group(2))))
        rest = rest[f.end() :].strip()
    patterns = [v for _, op, v in parsed.matchers if op in ("=~", "!~")] + [
        v for op, v in parsed.filters if op in ("|~", "!~")
    ]
    for pattern in patterns:
        check_pattern(pattern)
    return parsed


def check_pattern(pattern: str) -> None:
    """Refuse regexes that can backtrack for seconds on one line; ValueError says why.

    Python's `re` backtracks, so `(.*){2}Q` or `(a|aa)*Q` take exponential or high-polynomial time.
    What stays allowed is what log queries use: literals, classes, alternation, and at most two
    unbounded repeats, none of them inside another repeat.
    """
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regex is {len(pattern):,} characters; the limit is {MAX_PATTERN}")
    try:
        tree = _sre.parse(pattern)
    except re.error as exc:
        raise ValueError(f"bad regex {pattern!r}: {exc}") from None
    unbounded = _walk(tree, inside_repeat=False)
    if unbounded > _MAX_UNBOUNDED:
        raise ValueError(
            f"regex {pattern!r} has {unbounded} unbounded repeats (* + {{n,}}); the limit is "
            f"{_MAX_UNBOUNDED}: use |= for plain text or a more specific pattern"
        )


def _walk(items: Any, *, inside_repeat: bool) -> int:
    """Count unbounded repeats; raise on a repeat nested in a repeat or over an alternation."""
    count = 0
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _low, high, body = arg
            if inside_repeat and high != 1:
                raise ValueError("nested repeats such as (a+)* or (.*){2} are refused: they backtrack")
            if high != 1 and _has_branch(body):
                raise ValueError("a repeat over an alternation such as (a|aa)* is refused: it backtracks")
            count += (high == _sre.MAXREPEAT) + _walk(body, inside_repeat=inside_repeat or high != 1)
        elif name == "SUBPATTERN":
            count += _walk(arg[-1], inside_repeat=inside_repeat)
        elif name == "BRANCH":
            count += sum(_walk(branch, inside_repeat=inside_repeat) for branch in arg[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            count += _walk(arg[1], inside_repeat=inside_repeat)
        elif name == "GROUPREF_EXISTS":
            raise ValueError("conditional groups are refused")
    return count


def _has_branch(items: Any) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "BRANCH":
            return True
        if name == "SUBPATTERN" and _has_branch(arg[-1]):
            return True
    return False


def parse_time(value: str) -> int:
    """Nanoseconds since the epoch from ns/ms/s digits or an RFC 3339 time (no zone means UTC)."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or not 0 <= number < 1e19:
            raise ValueError(f"time {value!r} is out of range: use RFC 3339 or epoch seconds/ms/ns")
        if number > 1e17:
            return int(text) if text.isdigit() else int(number)
        if number > 1e11:
            return int(number * 1_000_000)
        return int(number * 1_000_000_000)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError):
        raise ValueError(
            f"cannot read time {value!r}: use RFC 3339 (2026-03-14T09:00:00Z) or epoch seconds/ns"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
