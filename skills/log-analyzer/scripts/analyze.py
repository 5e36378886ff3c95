#!/usr/bin/env python3
"""Analyse a log file and print the findings as one JSON document on stdout.

Reads every format parse_logs.py reads (streamed, bounded memory) and reports totals, the level
breakdown, error/warn rates, a health status with the rule that decided it, the top error and
warning signatures, errors by service and host, a per-minute timeline, error bursts, and
diagnostics with a severity and a recommended action.

Progress and notes go to stderr; stdout carries only the JSON. Exit codes: 0 ok, 1 input error,
2 usage error, 3 health is critical and --fail-on-critical was given.
"""

from __future__ import annotations

import argparse
import calendar
import json
import math
import os
import re
import sys
import time
from collections import Counter
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diagnose import Signatures, Thresholds, bursts, diagnose
from jsondoc import ParseError
from logformats import ERRORISH, Columns, canonical_level
from parse_logs import FORMATS, LogReader, add_input_options, reader_from_args
from readstats import confidence
from timestamps import BadTimestamp, Clock, check_stamp

_get: Any = dict.get
_minute: Any = itemgetter(slice(0, 16))
_second: Any = itemgetter(slice(0, 19))
_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")
_NOTABLE = ("WARN", "ERROR", "FATAL")


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
        try:
            levels = list(map(_get, batch, repeat("level")))
            stamps = list(map(_get, batch, repeat("timestamp")))
            services = list(map(_get, batch, repeat("service")))
            if not batch or None in levels or None in services:
                return False
            if "".join(stamps).count("Z") != len(stamps):  # each one UTC, "...Z" (TypeError if not str)
                return False
            present = set(levels)
            if not self._real_times(set(map(_second, stamps))):
                return False  # "2026-02-30...": the general path counts the record as malformed
        except (TypeError, AttributeError):  # not dicts, timestamps not strings, unhashable levels
            return False
        for raw in present:
            self.canonical(raw)
        notable = []
        if not self._kind.keys().isdisjoint(present):
            notable = list(compress(batch, map(self._kind.__contains__, levels)))
            if None in map(_get, notable, repeat("message")) or None in map(_get, notable, repeat("host")):
                return False  # "msg", "hostname"...: the general path knows the aliases
        self.levels.update(levels)
        self.services.update(services)
        self.minutes.update(map(_minute, stamps))
        self._span(min(stamps), max(stamps))
        if notable:
            self._note(notable)
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
        messages = list(map(_get, rows, repeat("message")))
        if not all(isinstance(m, str) for m in messages):
            messages = [m if isinstance(m, str) else "" if m is None else json.dumps(m) for m in messages]
        kinds = list(map(self._kind.__getitem__, map(_get, rows, repeat("level"))))
        signature: Any = self.signature
        keys = list(zip(kinds, map(signature, messages)))
        stamps = list(map(_get, rows, repeat("timestamp")))
        self.minute_kinds.update(zip((s[:16] if isinstance(s, str) else None for s in stamps), kinds))
        self.sig_counts.update(keys)
        self.sig_where.update(zip(keys, map(_get, rows, repeat("service")), map(_get, rows, repeat("host"))))
        first, last = self.first_seen, self.last_seen
        for key, stamp in zip(keys, stamps):
            if stamp:
                if key not in first or stamp < first[key]:
                    first[key] = stamp
                if key not in last or stamp > last[key]:
                    last[key] = stamp
        for key, message in dict(zip(reversed(keys), reversed(messages))).items():
            self.examples.setdefault(key, message[:500])
        if len(self.sig_counts) > 100_000:
            self._prune()

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
        rows = [key for key, _ in self.sig_counts.most_common() if key[0] == kind][:limit]
        return [
            {
                "signature": key[1],
                "count": self.sig_counts[key],
                "share": round(self.sig_counts[key] / total, 6) if total else 0.0,
                "first_seen": self.first_seen.get(key),
                "last_seen": self.last_seen.get(key),
                "services": dict(per_key[key][0].most_common(5)),
                "hosts": dict(per_key[key][1].most_common(5)),
                "example": self.examples.get(key, ""),
            }
            for key in rows
        ]


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


def _minutes_between(first: str, last: str) -> int:
    def stamp(m: str) -> float:
        return calendar.timegm(time.strptime(m, "%Y-%m-%dT%H:%M"))

    return int((stamp(last) - stamp(first)) // 60)


def _bucketed(per_minute: dict[str, list[int]]) -> dict[str, Any]:
    if not per_minute:
        return {"bucket_minutes": 1, "points": []}
    keys = sorted(per_minute)
    span = _minutes_between(keys[0], keys[-1]) + 1
    width = max(1, math.ceil(span / 1440))
    start = calendar.timegm(time.strptime(keys[0], "%Y-%m-%dT%H:%M"))
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


def analyze(
    reader: LogReader,
    *,
    top: int = 10,
    thresholds: Thresholds | None = None,
    burst_k: float = 5.0,
    burst_min: int = 5,
) -> dict[str, Any]:
    """Stream the reader's input through an Analysis and build the report (a JSON-ready dict)."""
    started = time.perf_counter()
    acc = Analysis(top)
    reader.columns = True
    for batch in reader.raw_batches():
        if isinstance(batch, Columns):
            acc.add_block(batch)
            continue
        if acc.add_columns(batch):
            continue
        records = batch if reader.prenormalized else reader.normalize_all(batch)
        if not acc.add_columns(records):
            for rec in records:
                acc.add_record(rec)
    return _report(acc, reader, thresholds or Thresholds(), burst_k, burst_min, started)


def _iso(stamp: str | None) -> str | None:
    """One spelling for first/last (`...:00.000Z`) whichever path counted the record."""
    try:
        return Clock().iso(stamp) or stamp
    except BadTimestamp:
        return stamp


def _summary(acc: Analysis, services: dict[str, int], hosts_with_errors: int) -> dict[str, Any]:
    levels = acc.level_counts()
    total = sum(levels.values())
    errors = levels.get("ERROR", 0) + levels.get("FATAL", 0)
    warnings = levels.get("WARN", 0)
    return {
        "total": total,
        "levels": levels,
        "errors": errors,
        "warnings": warnings,
        "error_rate": round(errors / total, 6) if total else 0.0,
        "warn_rate": round(warnings / total, 6) if total else 0.0,
        "first_timestamp": _iso(acc.first),
        "last_timestamp": _iso(acc.last),
        "services": len(services),
        "hosts_with_errors": hosts_with_errors,
    }


def _parse_notes(acc: Analysis, reader: LogReader, unreadable: int) -> dict[str, Any]:
    parse = reader.stats.as_dict()
    for raw, n in acc.levels.items():
        if acc.canonical(raw) == "UNKNOWN" and raw != "UNKNOWN":
            parse["unknown_levels"][str(raw)] = n
    parse["timestamps_unreadable"] = unreadable
    parse["confidence"], parse["confidence_reasons"] = confidence(parse)
    return parse


def _report(
    acc: Analysis, reader: LogReader, thresholds: Thresholds, burst_k: float, burst_min: int, started: float
) -> dict[str, Any]:
    services = {str(k if k is not None else "unknown"): v for k, v in acc.services.most_common()}
    error_services, error_hosts, _ = acc.where("ERROR")
    summary = _summary(acc, services, len(error_hosts))
    total = summary["total"]
    timeline, unreadable = acc.timeline()
    anomalies = bursts(timeline["points"], burst_k, burst_min)
    diagnostics = diagnose(
        [*acc.signatures("ERROR", total, None), *acc.signatures("WARN", total, None)], total
    )
    parse = _parse_notes(acc, reader, unreadable)
    guessed = total > 0 and parse["levels_inferred"] * 2 > total
    return {
        "source": reader.source,
        "format": reader.stats.format,
        "summary": summary,
        "health": thresholds.verdict(summary, diagnostics, anomalies, estimated=guessed),
        "top_errors": acc.signatures("ERROR", total, acc.top),
        "top_warnings": acc.signatures("WARN", total, acc.top),
        "errors_by_service": dict(error_services.most_common()),
        "errors_by_host": dict(error_hosts.most_common()),
        "records_by_service": services,
        "error_rate_by_service": {
            s: round(error_services.get(s, 0) / n, 6) for s, n in services.items() if n
        },
        "timeline": timeline,
        "anomalies": anomalies,
        "diagnostics": diagnostics,
        "parse": parse,
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="analyze.py",
        description="Analyse a log file (any format parse_logs.py reads); JSON on stdout.",
        epilog="Exit codes: 0 ok, 1 input error, 2 usage error, 3 critical health with --fail-on-critical.",
    )
    parser.add_argument("input", help="log file, or - for stdin")
    parser.add_argument("-o", "--output", help="write the full JSON here; stdout then gets a short summary")
    parser.add_argument(
        "--format", default="auto", choices=FORMATS, help="input format (default: auto-detect)"
    )
    parser.add_argument("--regex", help="line regex with named groups, for formats not built in")
    parser.add_argument("--service", default="unknown", help="service name for records that carry none")
    parser.add_argument("--host", default="unknown", help="host name for records that carry none")
    parser.add_argument("--year", type=int, help="year for syslog timestamps without one")
    add_input_options(parser)
    parser.add_argument("--top", type=int, default=10, help="how many error/warning signatures to list (10)")
    parser.add_argument(
        "--error-critical", type=float, default=0.10, help="error rate that is critical (0.10)"
    )
    parser.add_argument(
        "--error-degraded", type=float, default=0.02, help="error rate that is degraded (0.02)"
    )
    parser.add_argument("--warn-degraded", type=float, default=0.10, help="warn rate that is degraded (0.10)")
    parser.add_argument("--burst-k", type=float, default=5.0, help="burst when errors > median + k*MAD (5)")
    parser.add_argument(
        "--burst-min", type=int, default=5, help="fewest errors in a bucket to call a burst (5)"
    )
    parser.add_argument("--fail-on-critical", action="store_true", help="exit 3 when the health is critical")
    parser.add_argument("--indent", type=int, default=None, help="pretty-print the JSON with this indent")
    parser.add_argument("--quiet", action="store_true", help="nothing on stderr but errors")
    return parser.parse_args(argv)


def _emit(report: dict[str, Any], args: argparse.Namespace) -> None:
    """The JSON on stdout (or in -o FILE, with a short summary on stdout); the one-line verdict on stderr."""
    text = json.dumps(report, indent=args.indent, ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        short = {"output": args.output, "summary": report["summary"], "health": report["health"]}
        text = json.dumps(short, indent=args.indent)
    sys.stdout.write(text + "\n")
    if not args.quiet:
        s, p, h = report["summary"], report["parse"], report["health"]
        print(
            f"analyze.py: {s['total']:,} records ({p['format']}), {p['malformed']:,} malformed, health "
            f"{h['status']} ({h['rule']}), {report['elapsed_seconds']} s",
            file=sys.stderr,
        )
        for note in p["notes"]:
            print(f"analyze.py: note: {note}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    reader = reader_from_args(args)
    thresholds = Thresholds(args.error_critical, args.error_degraded, args.warn_degraded)
    try:
        report = analyze(
            reader, top=args.top, thresholds=thresholds, burst_k=args.burst_k, burst_min=args.burst_min
        )
    except (ParseError, re.error) as exc:
        print(f"analyze.py: error: {exc}", file=sys.stderr)
        return 1
    _emit(report, args)
    if report["summary"]["total"] == 0 and report["parse"]["malformed"]:
        print(f"analyze.py: error: no line could be read as {report['format']}", file=sys.stderr)
        return 1
    return 3 if args.fail_on_critical and report["health"]["status"] == "critical" else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
