"""The running tally of an analysis: counters that a batch at a time updates, for analyze.py.

Standard library only. Everything it holds merges by addition, min or max (see partial.py), so
an analysis of shards equals the analysis of the whole.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from itertools import compress, repeat
from operator import attrgetter, itemgetter
from typing import Any

from .diagnose import Signatures
from .logformats import ERRORISH, Columns, canonical_level
from .timestamps import BadTimestamp, check_stamp

_get: Any = dict.get
_minute: Any = itemgetter(slice(0, 16))
_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")
_NOTABLE = ("WARN", "ERROR", "FATAL")
_BAD_SECOND = re.compile(r"T\d\d:\d\d:[6-9]")  # seconds 60-99 (60, a leap second, takes the slow path)
_COLON_HIGH = re.compile(":[6-9]")  # what every match of _BAD_SECOND holds


class Analysis:
    """Accumulates counts batch by batch; the report functions turn them into JSON.

    Counters are keyed by the level values as they appear in the input ("warning", 40, "WARN")
    and mapped to canonical levels once, at the end. Per record the work is a few C-level
    counter updates; only WARN/ERROR/FATAL records have their message turned into a signature.
    That is what makes a million records take about a second.
    """

    def __init__(self, top: int = 10):
        self.top = top
        self.levels: Counter[Any] = Counter()  # raw level -> records
        self.minutes: Counter[Any] = Counter()  # minute prefix ("2026-03-14T09:00") -> records
        self.minute_kinds: Counter[tuple[Any, str]] = Counter()  # (minute prefix, ERROR|WARN) -> records
        self.services: Counter[Any] = Counter()
        self.sig_counts: Counter[tuple[str, str]] = Counter()  # (ERROR|WARN, signature) -> records
        self.sig_where: Counter[tuple[tuple[str, str], Any, Any]] = Counter()  # (key, service, host)
        self.first_seen: dict[tuple[str, str], str] = {}
        self.last_seen: dict[tuple[str, str], str] = {}
        self.examples: dict[tuple[str, str], str] = {}
        self.first: str | None = None
        self.last: str | None = None
        self.signature = Signatures()
        self._real: set[str] = set()  # seconds (`yyyy-MM-ddTHH:mm:ss`) known to be real times
        self._canonical: dict[Any, str] = {}
        self._kind: dict[Any, str] = {}  # raw level -> ERROR or WARN, for the notable ones
        for name in _NOTABLE:  # Columns keep raw levels ("E"), their records canonical ones
            self.canonical(name)

    def canonical(self, raw: Any) -> str:
        level = self._canonical.get(raw)
        if level is None:
            level = self._canonical[raw] = canonical_level(raw)[0]
            if level in _NOTABLE:
                self._kind[raw] = "ERROR" if level in ERRORISH else "WARN"
        return level

    def add_columns(self, batch: list[Any]) -> bool:
        """The fast path for a batch whose records all carry the usual keys and UTC timestamps.

        Returns False, having counted nothing, when the batch does not have that shape.
        """
        take = _attribute if hasattr(batch, "standard") else _key  # msgspec's rows (jsondoc.Rows), or dicts
        try:
            levels = take(batch, "level")
            stamps = take(batch, "timestamp")
            services = take(batch, "service")
            present = Counter(levels)  # TypeError for unhashable levels or services
            by_service = Counter(services)
            if not batch or None in present or None in by_service:
                return False
            joined = "".join(stamps)  # TypeError if a timestamp is not a string
            if joined.count("Z") != len(stamps) or (_maybe_bad_second(joined) and _BAD_SECOND.search(joined)):
                return False  # not each in UTC ("...Z"), or seconds 60-99
            minutes, low, high = _by_minute(stamps)
            if not self._real_times({f"{m}:00" for m in minutes}):
                return False  # "2026-02-30...": the general path counts the record as malformed
        except (TypeError, AttributeError):  # not dicts, timestamps not strings, unhashable levels
            return False
        for raw in present:
            self.canonical(raw)
        notable: list[list[Any]] = []
        if not self._kind.keys().isdisjoint(present):
            chosen = list(map(self._kind.__contains__, levels))
            rows = list(compress(batch, chosen))
            messages = take(rows, "message")
            hosts = take(rows, "host")
            if None in messages or None in hosts:
                return False  # "msg", "hostname"...: the general path knows the aliases
            notable = [
                list(compress(levels, chosen)),
                messages,
                list(compress(stamps, chosen)),
                list(compress(services, chosen)),
                hosts,
            ]
        self.levels.update(present)
        self.services.update(by_service)
        self.minutes.update(minutes)
        self._span(low, high)
        if notable:
            self._note_columns(*notable)
        return True

    def add_frame(self, frame: Any) -> bool:
        """The polars engine's fast path (a `frames.Frame`): the same counts as add_columns for
        the same records, or False, having counted nothing, when add_columns would refuse them."""
        counts = frame.counts()
        if counts is None:
            return False
        levels, services, minutes, low, high = counts
        if not self._real_times({f"{m}:00" for m in minutes}):
            return False
        for raw in levels:
            self.canonical(raw)
        notable = [raw for raw in levels if raw in self._kind]
        columns = frame.notable(notable) if notable else None
        if notable and columns is None:
            return False
        self.levels.update(levels)
        self.services.update(services)
        self.minutes.update(minutes)
        self._span(low, high)
        if columns:
            self._note_columns(*columns)
        return True

    def _real_times(self, seconds: set[str]) -> bool:
        """True when every second is a real time (checked once each, then remembered)."""
        new = seconds - self._real
        try:
            for second in new:
                check_stamp(second)
        except BadTimestamp:
            return False
        if len(self._real) > 100_000:
            self._real.clear()
        self._real |= new
        return True

    def add_block(self, block: Columns) -> None:
        """Text rows kept as columns: the same counts as add_columns, records only for WARN and worse."""
        levels = block.levels
        present = set(levels)
        for raw in present:
            self.canonical(raw)
        self.levels.update(levels)
        self.services[block.service] += len(levels)
        self.minutes.update(block.minutes)
        if block.first and block.last:
            self._span(block.first, block.last)
        if not self._kind.keys().isdisjoint(present):
            self._note(block.records(map(self._kind.__contains__, levels)))

    def add_counted(self, block: Any) -> None:
        """Text rows counted by the polars engine (a `textframes.Counted`): the same tally add_block
        makes of the same rows, their WARN-and-worse rows grouped by message."""
        for raw in block.levels:
            self.canonical(raw)
        self.levels.update(block.levels)
        self.services[block.service] += block.rows
        self.minutes.update(block.minutes)
        if block.first and block.last:
            self._span(block.first, block.last)
        levels, messages, counts, firsts, lasts = block.notes
        if not levels:
            return
        for (minute, raw), n in block.minute_kinds.items():
            self.minute_kinds[(minute, self._kind[raw])] += n
        kinds = list(map(self._kind.__getitem__, levels))
        self._note_groups(kinds, messages, counts, firsts, lasts, (block.service, block.host))

    def _note_groups(
        self,
        kinds: list[str],
        messages: list[str],
        counts: list[int],
        firsts: list[str],
        lasts: list[str],
        where: tuple[Any, Any],
    ) -> None:
        """Rows grouped by message (their counts, earliest and latest times), all from one
        service and host: counted per signature, a key at a time where the rows allow it. Only the
        groups of more than one row (few: most messages differ) are looked at one by one."""
        keys = list(zip(kinds, self.signature.many(messages)))
        several = list(compress(range(len(counts)), map((1).__ne__, counts)))
        per_key = Counter(keys)  # in the order keys first came, as a row at a time
        for i in several:
            per_key[keys[i]] += counts[i] - 1
        sig_counts, sig_where = self.sig_counts, self.sig_where
        for key, n in per_key.items():
            sig_counts[key] += n
            sig_where[(key, *where)] += n
        if not self._seen_in_order(keys, firsts, messages):
            self._seen(keys, firsts, messages)
        # both took every group's earliest time as a latest one too: a group of one row has no other
        last = self.last_seen
        for i in several:
            if lasts[i] > last[keys[i]]:
                last[keys[i]] = lasts[i]
        if len(self.sig_counts) > 100_000:
            self._prune()

    def add_record(self, rec: dict[str, Any]) -> None:
        """The general path: one normalised record (its timestamp may be None)."""
        stamp = rec.get("timestamp")
        self.canonical(rec["level"])
        self.services[rec.get("service")] += 1
        self.levels[rec["level"]] += 1
        self.minutes[stamp[:16] if isinstance(stamp, str) else None] += 1
        if stamp:
            self._span(stamp, stamp)
        if rec["level"] in self._kind:
            self._note([rec])

    def _span(self, low: str, high: str) -> None:
        if self.first is None or low < self.first:
            self.first = low
        if self.last is None or high > self.last:
            self.last = high

    def _note(self, rows: list[dict[str, Any]]) -> None:
        """Signatures and where they happened, for WARN/ERROR/FATAL records, a batch at a time."""
        self._note_columns(
            *(
                list(map(_get, rows, repeat(key)))
                for key in ("level", "message", "timestamp", "service", "host")
            )
        )

    def _note_columns(
        self, levels: list[Any], messages: list[Any], stamps: list[Any], services: list[Any], hosts: list[Any]
    ) -> None:
        """_note over columns: the records' levels, messages, timestamps, services and hosts."""
        if not {*map(type, messages)} <= {str}:
            messages = [m if isinstance(m, str) else "" if m is None else json.dumps(m) for m in messages]
        kinds = list(map(self._kind.__getitem__, levels))
        signature: Any = self.signature
        keys = list(zip(kinds, signature.many(messages)))
        try:
            minutes = list(map(_minute, stamps))
        except TypeError:  # a record without a time (the general path)
            minutes = [s[:16] if isinstance(s, str) else None for s in stamps]
        self.minute_kinds.update(zip(minutes, kinds))
        where = Counter(zip(keys, services, hosts))
        self.sig_where.update(where)
        counts = self.sig_counts
        for (key, _, _), n in where.items():  # keys in the order they first came, as update(keys)
            counts[key] += n
        if not self._seen_in_order(keys, stamps, messages):
            self._seen(keys, stamps, messages)
        if len(self.sig_counts) > 100_000:
            self._prune()

    def _seen(self, keys: list[tuple[str, str]], stamps: list[Any], messages: list[str]) -> None:
        """First and last times and the example of each key, record by record."""
        first, last, examples = self.first_seen, self.last_seen, self.examples
        for key, stamp, message in zip(keys, stamps, messages):
            # the example is the earliest record's message (the smallest one on a tie): the same
            # whichever order the records, or the shards holding them, come in
            if stamp:
                seen = first.get(key)
                if seen is not None and stamp > seen:  # the common case: not the earliest
                    if key not in last or stamp > last[key]:
                        last[key] = stamp
                    continue
                if seen is None or stamp < seen:
                    first[key], examples[key] = stamp, message[:500]
                elif stamp == seen and message[:500] < examples[key]:
                    examples[key] = message[:500]
                if key not in last or stamp > last[key]:
                    last[key] = stamp
            elif key not in first and (key not in examples or message[:500] < examples[key]):
                examples[key] = message[:500]

    def _seen_in_order(self, keys: list[tuple[str, str]], stamps: list[Any], messages: list[str]) -> bool:
        """`_seen` for records in time order (the usual case), a key at a time: False, having done
        nothing, when they are not in order or one has no time."""
        try:
            if not all(stamps) or not _in_order(stamps):
                return False
        except TypeError:  # times that do not compare (not strings)
            return False
        n = len(keys)
        firsts = dict(zip(reversed(keys), range(n - 1, -1, -1)))  # key -> its first record
        lasts = dict(zip(keys, stamps))  # key -> its latest time (dict() keeps the last value)
        pairs = []
        for key, i in firsts.items():
            stamp, message = stamps[i], messages[i][:500]
            if i + 1 < n and stamps[i + 1] == stamp:  # records at the same time: the smallest message
                end = bisect_right(stamps, stamp, i)
                if end - i > 64:
                    return False  # many at one time (whole seconds): record by record is cheaper
                message = min(m[:500] for k, m in zip(keys[i:end], messages[i:end]) if k == key)
            pairs.append((key, stamp, message))
        self._seen([k for k, _, _ in pairs], [t for _, t, _ in pairs], [m for _, _, m in pairs])
        last = self.last_seen
        for key, stamp in lasts.items():
            if key not in last or stamp > last[key]:
                last[key] = stamp
        return True

    def _prune(self) -> None:
        """Free-text errors can make every signature unique: keep the 50,000 commonest, fold the rest."""
        keep = {key for key, _ in self.sig_counts.most_common(50_000)}
        folded: Counter[tuple[str, str]] = Counter()
        for key, n in self.sig_counts.items():
            if key not in keep:
                folded[(key[0], "<other signatures>")] += n
        self.sig_counts = Counter({k: n for k, n in self.sig_counts.items() if k in keep}) + folded
        where: Counter[tuple[tuple[str, str], Any, Any]] = Counter()
        for (key, service, host), n in self.sig_where.items():
            where[(key if key in keep else (key[0], "<other signatures>"), service, host)] += n
        self.sig_where = where
        for table in (self.first_seen, self.last_seen, self.examples):
            for key in [k for k in table if k not in keep]:
                del table[key]

    def level_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for raw, n in self.levels.items():
            counts[self.canonical(raw)] += n
        order = ("FATAL", "ERROR", "WARN", "INFO", "DEBUG", "UNKNOWN")
        return {name: counts[name] for name in order if counts[name]}

    def timeline(self) -> tuple[dict[str, Any], int]:
        """Per-minute totals (wider buckets past a day, so at most ~1,440 points) and the count of
        records whose minute could not be read."""
        per_minute: dict[str, list[int]] = {}
        unreadable = 0
        for prefix, n in self.minutes.items():
            minute = _minute_key(prefix)
            if minute is None:
                unreadable += n
            else:
                per_minute.setdefault(minute, [0, 0, 0])[0] += n
        for (prefix, kind), n in self.minute_kinds.items():
            minute = _minute_key(prefix)
            if minute is not None:
                per_minute[minute][1 if kind == "ERROR" else 2] += n
        return _bucketed(per_minute), unreadable

    def where(
        self, kind: str
    ) -> tuple[Counter[str], Counter[str], dict[tuple[str, str], tuple[Counter[str], Counter[str]]]]:
        """Records of one kind by service and by host, overall and per signature."""
        by_service: Counter[str] = Counter()
        by_host: Counter[str] = Counter()
        per_key: dict[tuple[str, str], tuple[Counter[str], Counter[str]]] = {}
        for (key, service, host), n in self.sig_where.items():
            if key[0] != kind:
                continue
            service, host = str(service or "unknown"), str(host or "unknown")
            by_service[service] += n
            by_host[host] += n
            services, hosts = per_key.setdefault(key, (Counter(), Counter()))
            services[service] += n
            hosts[host] += n
        return by_service, by_host, per_key

    def signatures(self, kind: str, total: int, limit: int | None) -> list[dict[str, Any]]:
        _, _, per_key = self.where(kind)
        rows = [key for key, _ in ranked(self.sig_counts) if key[0] == kind][:limit]
        return [
            {
                "signature": key[1],
                "count": self.sig_counts[key],
                "share": round(self.sig_counts[key] / total, 6) if total else 0.0,
                "first_seen": self.first_seen.get(key),
                "last_seen": self.last_seen.get(key),
                "services": dict(ranked(per_key[key][0], 5)),
                "hosts": dict(ranked(per_key[key][1], 5)),
                "example": self.examples.get(key, ""),
            }
            for key in rows
        ]


def ranked(counter: Counter[Any], limit: int | None = None) -> list[tuple[Any, int]]:
    """Counts, highest first, ties by key: the same order however the counts were gathered
    (`most_common` breaks ties by insertion order, which differs between shards)."""
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:limit]


def _key(records: list[Any], key: str) -> list[Any]:
    """Each record's value of `key` (None where it has none); TypeError when one is not a dict."""
    return list(map(_get, records, repeat(key)))


def _attribute(rows: list[Any], name: str) -> list[Any]:
    """Each row's attribute `name` (msgspec's rows: every one has it)."""
    return list(map(attrgetter(name), rows))


def _maybe_bad_second(text: str) -> bool:
    """False when no `:` in `text` is followed by a digit 6-9, so `_BAD_SECOND` cannot match (the
    usual case: minutes and seconds are 00-59): a search that skips from colon to colon."""
    return _COLON_HIGH.search(text) is not None


def _in_order(texts: list[Any]) -> bool:
    """Whether each string is at most the next: sorting a sorted list compares neighbours once, in
    C (about 3 times quicker than `all(map(le, ...))`). TypeError for values that do not compare."""
    return sorted(texts) == texts


def _by_minute(stamps: list[str]) -> tuple[dict[str, int], str, str]:
    """Records per minute prefix (the first 16 characters), and the lowest and highest time: one
    bisection per minute when the times are in order (the usual case), else every record's prefix
    counted."""
    if _in_order(stamps):
        counts: dict[str, int] = {}
        start, n = 0, len(stamps)
        while start < n:
            minute = stamps[start][:16]
            if len(minute) < 16 or minute[-1] == "\U0010ffff":
                break  # no string is just above every one with this prefix
            end = bisect_left(stamps, minute[:-1] + chr(ord(minute[-1]) + 1), start)
            counts[minute] = end - start
            start = end
        else:
            return counts, stamps[0], stamps[-1]
    return Counter(map(_minute, stamps)), min(stamps), max(stamps)


def _minute_key(prefix: Any) -> str | None:
    """`2026-03-14T09:00` from a timestamp's first 16 characters, or None when they are not that."""
    minute = prefix.replace(" ", "T") if isinstance(prefix, str) else None
    if minute is None or not _MINUTE.match(minute):
        return None
    try:
        check_stamp(minute + ":00")
    except BadTimestamp:  # the readers never let one through; a record handed in directly might
        return None
    return minute


def _epoch(minute: str) -> int:
    """Seconds since 1970 of a `yyyy-MM-ddTHH:mm` that `_minute_key` checked (ASCII digits, a real
    time): its numbers read with int(), which costs less than time.strptime and its import."""
    parts = (minute[:4], minute[5:7], minute[8:10], minute[11:13], minute[14:16])
    return calendar.timegm((*map(int, parts), 0))


def _minutes_between(first: str, last: str) -> int:
    return (_epoch(last) - _epoch(first)) // 60


def _bucketed(per_minute: dict[str, list[int]]) -> dict[str, Any]:
    if not per_minute:
        return {"bucket_minutes": 1, "points": []}
    keys = sorted(per_minute)
    span = _minutes_between(keys[0], keys[-1]) + 1
    width = max(1, math.ceil(span / 1440))
    start = _epoch(keys[0])
    points: list[dict[str, Any]] = []
    for index in range(math.ceil(span / width)):
        label = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(start + index * width * 60))
        points.append({"minute": label, "total": 0, "errors": 0, "warnings": 0})
    for key in keys:
        row = per_minute[key]
        point = points[_minutes_between(keys[0], key) // width]
        point["total"] += row[0]
        point["errors"] += row[1]
        point["warnings"] += row[2]
    return {"bucket_minutes": width, "points": points}
