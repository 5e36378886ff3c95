"""The window an analysis looked at: from when to when, how many records, asked how, cut or not.

Every verdict is about the records it was given, not about the system: "healthy" over the newest
200 records (six minutes) says nothing about the hour before them. analyze.py therefore puts a
top-level `window` in its JSON, built here from the analysed records (first and last timestamp,
count) and, when the logs were fetched, the fetch summary beside them (`<logs>.fetch.json`, written
by fetch_logs.py and the native LogFetcher: the query, the range asked, whether a limit stopped the
fetch before that range was covered, and how many records the source holds when it says):

    {"start": ISO, "end": ISO, "duration_seconds": float, "records": int, "available": int | None,
     "query": str, "asked": str, "truncated": bool, "limit": int | None, "order": str}

`headline` turns a verdict and its window into the sentence every summary leads with, e.g.
"critical in the newest 500 records, 09:44–10:00 UTC; the last hour was asked". Windows of many
sources merge exactly (`merge`): earliest start, latest end, records summed, truncated if any was.

Standard library only.
"""

from __future__ import annotations

import json
import os
from datetime import timezone
from typing import Any

from .timestamps import moment


def read_fetch(path: str | None) -> dict[str, Any] | None:
    """The fetch summary saved beside a logs file (`<path>.fetch.json`), or None."""
    if not path or path == "-":
        return None
    meta = f"{path}.fetch.json"
    if not os.path.isfile(meta):
        return None
    try:
        with open(meta, encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def window(
    summary: dict[str, Any], fetches: list[dict[str, Any] | None], sources: list[str]
) -> dict[str, Any]:
    """The window of an analysis: its summary's span and count, and what each source's fetch asked.

    A source without a fetch summary (a file) was read whole: nothing asked, nothing cut."""
    start, end = summary.get("first_timestamp"), summary.get("last_timestamp")
    first, last = moment(start), moment(end)
    known = [f for f in fetches if f]
    queries = [str(f.get("query_text") or f.get("source") or "") for f in known]
    queries += [f"file {s}" for s, f in zip(sources, fetches) if not f]
    available = [f.get("available") for f in known]
    asks = list(dict.fromkeys(str(f.get("asked") or "everything the source holds") for f in known))
    limits = list(dict.fromkeys((f.get("query") or {}).get("limit") for f in known))
    orders = list(dict.fromkeys(str((f.get("query") or {}).get("order") or "newest first") for f in known))
    return {
        "start": start,
        "end": end,
        "duration_seconds": round((last - first).total_seconds(), 3) if first and last else None,
        "records": int(summary.get("total") or 0),
        "available": sum(available)
        if known and len(known) == len(fetches) and None not in available
        else None,
        "query": "; ".join(q for q in queries if q) or "-",
        "asked": "; ".join(asks) if known else "the whole input",
        "truncated": any(bool(f.get("truncated")) for f in known),
        "limit": limits[0] if len(limits) == 1 else None,
        "order": orders[0] if len(orders) == 1 else "mixed",
        "sources": len(fetches),
    }


def merge(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Many sources' windows as one: earliest start, latest end, records summed, truncated if any was."""
    if not windows:
        raise ValueError("nothing to merge: give at least one window")
    starts = [w["start"] for w in windows if w.get("start")]
    ends = [w["end"] for w in windows if w.get("end")]
    first, last = moment(min(starts, key=_key, default=None)), moment(max(ends, key=_key, default=None))
    available = [w.get("available") for w in windows]
    asks = list(dict.fromkeys(str(w.get("asked")) for w in windows))
    limits = list(dict.fromkeys(w.get("limit") for w in windows))
    orders = list(dict.fromkeys(str(w.get("order")) for w in windows))
    return {
        "start": min(starts, key=_key, default=None),
        "end": max(ends, key=_key, default=None),
        "duration_seconds": round((last - first).total_seconds(), 3) if first and last else None,
        "records": sum(int(w.get("records") or 0) for w in windows),
        "available": None if None in available else sum(int(a) for a in available if a is not None),
        "query": "; ".join(str(w.get("query")) for w in windows),
        "asked": "; ".join(asks),
        "truncated": any(bool(w.get("truncated")) for w in windows),
        "limit": limits[0] if len(limits) == 1 else None,
        "order": orders[0] if len(orders) == 1 else "mixed",
        "sources": sum(int(w.get("sources") or 1) for w in windows),
    }


def _key(stamp: str) -> Any:
    found = moment(stamp)
    return found.timestamp() if found else 0.0


def span(w: dict[str, Any]) -> str:
    """`09:44–10:00 UTC` (with the dates when the window crosses midnight), or "no timestamps"."""
    first, last = moment(w.get("start")), moment(w.get("end"))
    if first is None or last is None:
        return "no timestamps"
    first, last = first.astimezone(timezone.utc), last.astimezone(timezone.utc)
    if first.date() == last.date():
        return f"{first:%H:%M}–{last:%H:%M} UTC"
    return f"{first:%d %b %H:%M}–{last:%d %b %H:%M} UTC"


def duration(seconds: float | None) -> str:
    """A duration in words: "16 min", "2 h 5 min", "45 s"."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def headline(status: str, w: dict[str, Any]) -> str:
    """The verdict with the window it is about; a window cut by a limit says so and what was asked."""
    records = int(w.get("records") or 0)
    if records == 0:
        return f"{status}: no records in the window ({w.get('asked') or 'nothing'} was asked)"
    available = w.get("available")
    if w.get("truncated"):
        order = "oldest" if str(w.get("order")).startswith("oldest") else "newest"
        there = f" of {int(available):,}" if available is not None else ""
        return f"{status} in the {order} {records:,}{there} records, {span(w)}; {w.get('asked')} was asked"
    if w.get("asked") in (None, "the whole input"):
        return f"{status} in {records:,} records, {span(w)}"
    asked = str(w.get("asked"))
    if asked == "everything the source holds":
        return f"{status} in all {records:,} records the source holds, {span(w)}"
    if not asked.startswith(("the last", "everything")):
        asked = f"the records {asked}"  # "since 2026-03-14T09:00:00Z", "from ... to ..."
    return f"{status} in {asked}, {span(w)} ({records:,} records)"


def describe(w: dict[str, Any]) -> str:
    """The window in one line for a report or a progress line (without a `query`, the line leaves it
    out: a progress line that has just named the source says the rest in words)."""
    available = w.get("available")
    count = f"{int(w.get('records') or 0):,} records" + (
        f" (of {int(available):,} available)" if available is not None else ""
    )
    cut = f"cut by the limit of {w['limit']:,}" if w.get("truncated") and w.get("limit") else "cut by a limit"
    query = f"query: {w['query']}; " if w.get("query") else ""
    return (
        f"{count}, {span(w)} ({duration(w.get('duration_seconds'))}); asked: {w.get('asked')}; "
        + query
        + (cut if w.get("truncated") else "not cut")
    )
