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
import json
import os
import re
import sys
import time
from types import SimpleNamespace
from typing import Any

from . import shards
from . import window as windows
from .analysis import Analysis, ranked
from .diagnose import Thresholds, bursts, diagnose, mark_ongoing
from .frames import Frame
from .jsondoc import ParseError, Rows, writable
from .logformats import Columns
from .parse_logs import FORMATS, LogReader, add_input_options, reader_from_args
from .partial import merge, to_partial
from .readstats import confidence, lines_before
from .textframes import Counted
from .timestamps import BadTimestamp, Clock


def analyze(
    reader: LogReader,
    *,
    top: int = 10,
    thresholds: Thresholds | None = None,
    burst_k: float = 5.0,
    burst_min: int = 5,
    jobs: int = 0,
    fetch: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Stream the reader's input through an Analysis and build the report (a JSON-ready dict).

    `fetch` is what the fetch asked and got (default: the `<input>.fetch.json` beside the input,
    when there is one); the report's `window` states it."""
    started = time.perf_counter()
    acc = tally(reader, top, jobs)
    fetched = fetch if fetch is not None else windows.read_fetch(reader.source)
    report = _report(acc, reader, thresholds or Thresholds(), burst_k, burst_min, started)
    return _windowed(report, [fetched], [reader.source])


def tally(reader: LogReader, top: int = 10, jobs: int = 0) -> Analysis:
    """Every record of the reader's input counted into an Analysis (the report is built later).

    A big JSON array, JSON Lines file or text log is read by `jobs` processes at once (0: one per
    CPU, up to 4, for arrays of 128 MB and other inputs of 32 MB or more, in a process with no
    other thread), each over a window of whole records, and their partials merged exactly;
    `reader.stats` then holds the merged reading statistics."""
    windows = shards.of_array(reader, jobs)
    if windows:
        return _tally_windows(reader, windows, top, "json")
    windows = shards.of_lines(reader, jobs)
    if windows:
        return _tally_windows(reader, windows, top, "jsonl")
    found = shards.of_text(reader, jobs)
    if found:
        return _tally_windows(reader, found[0], top, found[1], found[2])
    acc = Analysis(top)
    reader.columns = True
    for batch in reader.raw_batches():
        if isinstance(batch, Columns):
            acc.add_block(batch)
        elif isinstance(batch, Counted):
            acc.add_counted(batch)
        elif isinstance(batch, Frame):
            if acc.add_frame(batch):
                reader.took(batch)
            else:
                for values in reader.standard(batch):
                    _add(acc, reader, values)
        elif isinstance(batch, Rows):  # msgspec's: counted as they are, or read again the standard way
            if acc.add_columns(batch):
                batch.taken(reader.stats)
            else:
                _add(acc, reader, batch.standard())
        else:
            _add(acc, reader, batch)
    return acc


def _add(acc: Analysis, reader: LogReader, batch: list[Any]) -> None:
    if acc.add_columns(batch):
        return
    records = batch if reader.prenormalized else reader.normalize_all(batch)
    if not acc.add_columns(records):
        for rec in records:
            acc.add_record(rec)


def _tally_windows(
    reader: LogReader, windows: list[tuple[int, int | None]], top: int, fmt: str, layout: Any = None
) -> Analysis:
    import multiprocessing  # here: only a big input needs it, and it costs every run ~10 ms to import
    import warnings

    settings = (
        reader.text.service, reader.text.host, reader.stats.clock.year, top, reader.max_line, layout, len(windows)
    )  # fmt: skip
    tasks = [(reader.source, fmt, start, end, settings) for start, end in windows]
    with warnings.catch_warnings():  # polars, where this process has it, warns of any fork: the
        # workers never use it then (shards.of_text leaves such a process to one pass)
        warnings.filterwarnings("ignore", "Using fork", RuntimeWarning)
        pool = multiprocessing.get_context("fork").Pool(len(windows) - 1)
    with pool:
        others = pool.map_async(_window, tasks[1:])
        first = _window(tasks[0])  # this process reads the first window meanwhile
        partials = [first, *others.get()]
    acc, reader.stats, _ = merge(partials, top)
    return acc


def _window(task: tuple[str, str, int, int | None, tuple[Any, ...]]) -> dict[str, Any]:
    """One window's partial (in a worker process, or in this one for the first window). The
    malformed lines of a window of lines are numbered from the start of the file, as one pass
    numbers them."""
    source, fmt, start, end, (service, host, year, top, max_line, layout, processes) = task
    reader = LogReader(
        source, fmt, service=service, host=host, year=year, quiet=True, start=start, end=end,
        elements=fmt == "json", max_line=max_line, layout=layout, processes=processes,
    )  # fmt: skip
    found = partial(reader, top)
    examples = found["stats"]["malformed_examples"]
    if fmt != "json" and start and examples:
        before = lines_before(source, start)
        for example in examples:
            example["line"] += before
    return found


def partial(reader: LogReader, top: int = 10) -> dict[str, Any]:
    """The partial analysis of one input or shard: JSON that `merge_partials` combines exactly.

    It carries the input's fetch summary (`fetch`, None for a plain file), so the merged report
    can state its window."""
    found = to_partial(tally(reader, top), reader.source, reader.stats)
    found["fetch"] = windows.read_fetch(reader.source)
    return found


def merge_partials(
    partials: list[dict[str, Any]],
    *,
    top: int = 10,
    thresholds: Thresholds | None = None,
    burst_k: float = 5.0,
    burst_min: int = 5,
) -> dict[str, Any]:
    """The report of many partials (in any order): equal to the single pass over all their input.

    `source` is the sources joined with ", " and `sources` lists them."""
    started = time.perf_counter()
    acc, stats, sources = merge(partials, top)
    merged = SimpleNamespace(source=", ".join(sources), stats=stats)
    report = _report(acc, merged, thresholds or Thresholds(), burst_k, burst_min, started)  # type: ignore[arg-type]
    report["sources"] = sources
    fetches: dict[str, dict[str, Any] | None] = {}
    for part in partials:
        for source in part["sources"]:
            if fetches.get(source) is None:
                fetches[source] = part.get("fetch")
    return _windowed(report, list(fetches.values()), list(fetches))


def _windowed(
    report: dict[str, Any], fetches: list[dict[str, Any] | None], sources: list[str]
) -> dict[str, Any]:
    """The report with its `window` first and the verdict's `headline` stating it."""
    found = windows.window(report["summary"], fetches, sources)
    report["health"]["headline"] = windows.headline(report["health"]["status"], found)
    return {"window": found, **report}


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
    services = {str(k if k is not None else "unknown"): v for k, v in ranked(acc.services)}
    error_services, error_hosts, _ = acc.where("ERROR")
    summary = _summary(acc, services, len(error_hosts))
    total = summary["total"]
    timeline, unreadable = acc.timeline()
    anomalies = bursts(timeline["points"], burst_k, burst_min)
    diagnostics = diagnose(
        [*acc.signatures("ERROR", total, None), *acc.signatures("WARN", total, None)], total
    )
    mark_ongoing(diagnostics, anomalies, summary["last_timestamp"], timeline["bucket_minutes"])
    parse = _parse_notes(acc, reader, unreadable)
    guessed = total > 0 and parse["levels_inferred"] * 2 > total
    return {
        "source": reader.source,
        "format": reader.stats.format,
        "summary": summary,
        "health": thresholds.verdict(summary, diagnostics, anomalies, estimated=guessed),
        "top_errors": acc.signatures("ERROR", total, acc.top),
        "top_warnings": acc.signatures("WARN", total, acc.top),
        "errors_by_service": dict(ranked(error_services)),
        "errors_by_host": dict(ranked(error_hosts)),
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
    parser.add_argument("input", nargs="?", help="log file, or - for stdin")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="print the partial analysis (JSON to merge later with --merge) instead of the report",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="PARTIAL",
        help="merge partial analyses (files from --partial) into one report",
    )
    parser.add_argument("-o", "--output", help="write the full JSON here; stdout then gets a short summary")
    parser.add_argument(
        "--fetch",
        help="the fetch summary that says what was asked (default: <input>.fetch.json when it exists)",
    )
    parser.add_argument(
        "--format", default="auto", choices=FORMATS, help="input format (default: auto-detect)"
    )
    parser.add_argument("--regex", help="line regex with named groups, for formats not built in")
    parser.add_argument("--service", default="unknown", help="service name for records that carry none")
    parser.add_argument("--host", default="unknown", help="host name for records that carry none")
    parser.add_argument("--year", type=int, help="year for syslog timestamps without one")
    add_input_options(parser)
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="processes for a big input (default 0: one per CPU, up to 4, from 128 MB for a JSON array "
        "and 32 MB for JSON Lines and text logs; 1: one pass)",
    )
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
    text, replaced = writable(json.dumps(report, indent=args.indent, ensure_ascii=False))
    if replaced:
        report["parse"]["replaced_characters"] = replaced
        report["parse"]["notes"].append(
            f"{replaced:,} characters that no UTF-8 text can hold (lone surrogates such as \\ud800 in the "
            "records' JSON) were written as U+FFFD"
        )
        text = writable(json.dumps(report, indent=args.indent, ensure_ascii=False))[0]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        short = {
            "output": args.output,
            "window": report["window"],
            "summary": report["summary"],
            "health": report["health"],
        }
        text = json.dumps(short, indent=args.indent)
    sys.stdout.write(text + "\n")
    if not args.quiet:
        s, p, h = report["summary"], report["parse"], report["health"]
        print(
            f"analyze.py: {s['total']:,} records ({p['format']}), {p['malformed']:,} malformed, "
            f"health {h['headline']} ({h['rule']}), {report['elapsed_seconds']} s",
            file=sys.stderr,
        )
        for note in p["notes"]:
            print(f"analyze.py: note: {writable(note)[0]}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if (args.input is None) == (args.merge is None):
        print("analyze.py: error: give one log file, or --merge PARTIAL...", file=sys.stderr)
        return 2
    thresholds = Thresholds(args.error_critical, args.error_degraded, args.warn_degraded)
    options = {"thresholds": thresholds, "burst_k": args.burst_k, "burst_min": args.burst_min}
    try:
        if args.merge:
            report = merge_partials([_load_partial(path) for path in args.merge], top=args.top, **options)
        elif args.partial:
            return _emit_partial(partial(reader_from_args(args), args.top), args)
        else:
            fetch = _load_partial(args.fetch, "fetch_logs.py -o") if args.fetch else None
            report = analyze(reader_from_args(args), top=args.top, jobs=args.jobs, fetch=fetch, **options)
    except (ParseError, re.error, ValueError) as exc:
        print(f"analyze.py: error: {exc}", file=sys.stderr)
        return 1
    _emit(report, args)
    if report["summary"]["total"] == 0 and report["parse"]["malformed"]:
        first = report["parse"]["malformed_examples"][0]
        print(
            f"analyze.py: error: no line could be read as {report['format']} "
            f"(line {first['line']}: {first['reason']})",
            file=sys.stderr,
        )
        return 1
    return 3 if args.fail_on_critical and report["health"]["status"] == "critical" else 0


def _load_partial(path: str, made_by: str = "analyze.py --partial") -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            loaded: dict[str, Any] = json.load(handle)
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError:
        raise ParseError(f"{path} is not JSON: pass files written by {made_by}") from None
    return loaded


def _emit_partial(found: dict[str, Any], args: argparse.Namespace) -> int:
    text = writable(json.dumps(found, ensure_ascii=False))[0]
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    if not args.quiet:
        print(
            f"analyze.py: partial of {found['stats']['records']:,} records ({found['format']})",
            file=sys.stderr,
        )
    return 0


def run() -> None:
    """Run as a command: exit with `main()`'s status.

    The exit skips the interpreter's own shutdown once stdout and stderr are flushed: every file
    is closed and every worker joined by then, and freeing the run's objects one by one (with
    polars' library and thread pool, when a big input loaded them) took ~70 ms of a 1.5 s run."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.stderr.flush()
    os._exit(status)
