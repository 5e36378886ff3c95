"""Partial analyses: the tally of one shard as JSON, and the exact merge of any number of them.

Standard library only; used by analyze.py (`--partial`, `--merge`) and by conjure_nb's fleet
analysis. Every part of the tally merges by addition (counters), min (first times, examples:
the earliest record's message, the smallest on a tie) or max (last times), so the merge of the
shards of a file, in any order, equals the analysis of the whole file (the records each engine
read, `engine_records`, add up too). Bursts, diagnostics and health are computed from the merged
tally, never merged themselves.

Two things are not exact across a shard cut: a stack trace whose first lines fall in the next
shard (they have no record to join there, so they are malformed), and line numbers in
`malformed_examples`, which count from the start of each shard.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .analysis import Analysis
from .readstats import ParseStats

VERSION = 1
_COUNTERS = ("levels", "minutes", "minute_kinds", "services", "sig_counts", "sig_where")
_TABLES = ("first_seen", "last_seen", "examples")
_STATS = (
    "lines",
    "records",
    "blank",
    "malformed",
    "continuation_lines",
    "decode_errors",
    "missing_timestamps",
    "levels_inferred",
    "long_lines",
)


def _key(value: Any) -> Any:
    """JSON turns tuple keys into lists; make them tuples (hashable) again."""
    return tuple(_key(v) for v in value) if isinstance(value, list) else value


def to_partial(acc: Analysis, source: str, stats: ParseStats) -> dict[str, Any]:
    """The tally and the reading statistics of one input (or shard) as a JSON-ready dict."""
    return {
        "partial": VERSION,
        "sources": [source],
        "format": stats.format,
        "layout": stats.layout,
        "year": stats.clock.year,
        "first": acc.first,
        "last": acc.last,
        **{name: [[k, n] for k, n in getattr(acc, name).items()] for name in _COUNTERS},
        **{name: [[k, v] for k, v in getattr(acc, name).items()] for name in _TABLES},
        "stats": {
            **{name: getattr(stats, name) for name in _STATS},
            "assumed_utc": stats.clock.assumed_utc,
            "assumed_year": stats.clock.assumed_year,
            "unknown_levels": dict(stats.unknown_levels),
            "malformed_examples": stats.malformed_examples,
            "engine_records": dict(stats.engine_records),
        },
    }


def merge(partials: list[dict[str, Any]], top: int = 10) -> tuple[Analysis, ParseStats, list[str]]:
    """(the merged tally, the merged reading statistics, every source) of partials in any order.

    Raises ValueError for something that is not a partial of this version.
    """
    if not partials:
        raise ValueError("nothing to merge: give at least one partial analysis")
    for part in partials:
        if not isinstance(part, dict) or part.get("partial") != VERSION:
            raise ValueError(f"not a partial analysis of version {VERSION} (made by analyze.py --partial)")
    acc = Analysis(top)
    for part in partials:
        _merge_tally(acc, part)
    stats = _merge_stats(partials)
    return acc, stats, [source for part in partials for source in part["sources"]]


def _merge_tally(acc: Analysis, part: dict[str, Any]) -> None:
    for name in _COUNTERS:
        counter: Counter[Any] = getattr(acc, name)
        for key, n in part[name]:
            counter[_key(key)] += n
    seen = {_key(k): v for k, v in part["first_seen"]}
    for key, message in part["examples"]:  # before first_seen takes this side's times in
        key = _key(key)
        acc.examples[key] = _earlier(acc, key, seen.get(key), message)
    for key, stamp in seen.items():
        if key not in acc.first_seen or stamp < acc.first_seen[key]:
            acc.first_seen[key] = stamp
    for key, stamp in part["last_seen"]:
        key = _key(key)
        if key not in acc.last_seen or stamp > acc.last_seen[key]:
            acc.last_seen[key] = stamp
    if part["first"] is not None:
        acc._span(part["first"], part["last"])


def _earlier(acc: Analysis, key: Any, stamp: str | None, message: str) -> str:
    """The example the single pass would have kept: the earliest record's, the smallest on a tie.

    `stamp` is the other side's first time for the key (None: it saw none)."""
    current = acc.examples.get(key)
    if current is None:
        return message
    best = acc.first_seen.get(key)
    if stamp is None:  # this side saw only records without a time
        return message if best is None and message < current else current
    if best is None or stamp < best:
        return message
    if stamp == best:
        return min(message, current)
    return current


def _merge_stats(partials: list[dict[str, Any]]) -> ParseStats:
    formats = sorted({part["format"] for part in partials})
    stats = ParseStats(partials[0]["year"])
    stats.format = formats[0] if len(formats) == 1 else "mixed: " + ", ".join(formats)
    layouts = [part["layout"] for part in partials if part["layout"]]
    stats.layout = layouts[0] if layouts and len(formats) == 1 else None
    for part in partials:
        counts = part["stats"]
        for name in _STATS:
            setattr(stats, name, getattr(stats, name) + counts[name])
        stats.clock.assumed_utc += counts["assumed_utc"]
        stats.clock.assumed_year += counts["assumed_year"]
        for level, n in counts["unknown_levels"].items():
            stats.unknown_levels[level] = stats.unknown_levels.get(level, 0) + n
        for engine, n in counts.get("engine_records", {}).items():  # older partials: none
            stats.engine_records[engine] = stats.engine_records.get(engine, 0) + n
        stats.malformed_examples.extend(counts["malformed_examples"])
    stats.malformed_examples = stats.malformed_examples[:5]
    return stats
