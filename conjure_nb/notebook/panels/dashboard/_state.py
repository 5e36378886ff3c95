"""What the dashboard shows, read from one monitoring run: a `Snapshot`.

A snapshot is plain data built from a `MonitoringResult`, a `FleetResult` or the analyzer's JSON,
so the widgets, the static HTML (nbconvert) and the tests all read the same thing. Keys the analysis
lacks are left empty rather than guessed; the window analysed comes from `window` when the run
states it, else from the first and last record it saw (and says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Snapshot", "incidents", "series_by_service", "snapshot", "source_name"]

LOGS_FILE = "logs.jsonl"
_LOGS_CAP = 32 * 1024 * 1024  # the per-service chart reads the fetched logs only up to this size
_MAX_SERIES = 6


@dataclass
class Snapshot:
    """One run as the dashboard shows it."""

    status: str = "unknown"
    rule: str = ""
    records: int = 0
    errors: int = 0
    warnings: int = 0
    error_rate: float = 0.0
    thresholds: dict[str, float] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    window: dict[str, Any] = field(default_factory=dict)
    sources: list[dict[str, Any]] = field(default_factory=list)
    report_files: list[Path] = field(default_factory=list)
    series: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    bucket_minutes: int | None = None
    mode: str = ""
    backend: str = ""
    url: str = ""

    @property
    def ongoing(self) -> int:
        return sum(1 for i in self.incidents if i["status"] == "ongoing")

    @property
    def resolved(self) -> int:
        return sum(1 for i in self.incidents if i["status"] == "resolved")


def snapshot(result: Any) -> Snapshot:
    """The snapshot of a `MonitoringResult`, a `FleetResult` or an analysis dict."""
    analysis: dict[str, Any] = result if isinstance(result, dict) else dict(getattr(result, "analysis", {}))
    summary = analysis.get("summary") or {}
    health = analysis.get("health") or {}
    snap = Snapshot(
        status=str(health.get("status", "unknown")),
        rule=str(health.get("rule", "")),
        records=int(summary.get("total", 0)),
        errors=int(summary.get("errors", 0)),
        warnings=int(summary.get("warnings", 0)),
        error_rate=float(summary.get("error_rate", 0.0)),
        thresholds={k: float(v) for k, v in (health.get("thresholds") or {}).items()},
        incidents=incidents(analysis),
        signatures=list(analysis.get("top_errors") or []),
        window=_window(result, analysis),
        report_files=[Path(p) for p in getattr(result, "report_files", [])],
        bucket_minutes=(analysis.get("timeline") or {}).get("bucket_minutes"),
        mode=str(getattr(result, "mode", "")),
        backend=str(getattr(result, "backend", "")),
        url=str(getattr(result, "url", "")),
    )
    fleet = getattr(result, "sources", None)
    if isinstance(fleet, dict):
        snap.sources = list(result.table())
        snap.series = {source_name(n): _points(a) for n, a in fleet.items() if _points(a)}
    else:
        workdir = getattr(result, "working_dir", None)
        logs = Path(workdir) / LOGS_FILE if workdir is not None else None
        snap.series = series_by_service(logs, snap.bucket_minutes) if logs else {}
    if not snap.series and _points(analysis):
        snap.series = {"all services": _points(analysis)}
    return snap


def source_name(source: str) -> str:
    """A short name for a fleet source: its `service=` filter, else its file or host name."""
    parts = urlsplit(source)
    service = dict(parse_qsl(parts.query)).get("service")
    if service:
        return service
    return Path(parts.path).name or parts.netloc or source


def incidents(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    """The incidents of a run, oldest first, each `ongoing` or `resolved`.

    The analysis's own `incidents` list is used when it has one; else each error burst is an
    incident, ongoing when it lasts to the last bucket of the window analysed. A window too short
    or too quiet for a burst to stand out can still hold a diagnosed problem that is ongoing: then
    the critical and high findings are the incidents, so the table never says "none" beside a
    verdict that names one.
    """
    own = analysis.get("incidents")
    if isinstance(own, list) and own:
        return [_own_incident(i) for i in own if isinstance(i, dict)]
    if not any(isinstance(b, dict) for b in analysis.get("anomalies") or []):
        return _finding_incidents(analysis)
    points = (analysis.get("timeline") or {}).get("points") or []
    last = points[-1].get("minute") if points else None
    return [
        {
            "start": str(b.get("start", "")),
            "end": str(b.get("end", "")),
            "errors": int(b.get("errors", 0)),
            "peak": int(b.get("peak_errors", 0)),
            "status": b["state"]  # the analyzer's own rule: errors up to the window's end
            if b.get("state") in ("ongoing", "resolved")
            else "ongoing"
            if last is not None and b.get("end") == last
            else "resolved",
            "what": str(b.get("rule", b.get("kind", ""))),
        }
        for b in analysis.get("anomalies") or []
        if isinstance(b, dict)
    ]


def _finding_incidents(analysis: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        {
            "start": str(d.get("first_seen", "")),
            "end": str(d.get("last_seen", "") or ""),
            "errors": int(d.get("count", 0) or 0),
            "peak": 0,
            "status": "ongoing" if d.get("state") == "ongoing" else "resolved",
            "what": str(d.get("title", d.get("id", ""))),
        }
        for d in analysis.get("diagnostics") or []
        if isinstance(d, dict) and d.get("severity") in ("critical", "high")
    ]
    return sorted(found, key=lambda i: i["start"])


def _own_incident(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("status")
    if status not in ("ongoing", "resolved"):
        status = "ongoing" if item.get("ongoing") else "resolved"
    return {
        "start": str(item.get("start", "")),
        "end": str(item.get("end", "") or ""),
        "errors": int(item.get("errors", 0) or 0),
        "peak": int(item.get("peak_errors", item.get("peak", 0)) or 0),
        "status": status,
        "what": str(item.get("title", item.get("rule", item.get("kind", "")))),
    }


def _window(result: Any, analysis: dict[str, Any]) -> dict[str, Any]:
    """The window analysed: the run's own statement, else the span of the records it saw."""
    stated = getattr(result, "window", None) or analysis.get("window")
    if isinstance(stated, dict) and stated:
        return {**stated, "stated": True}
    summary = analysis.get("summary") or {}
    return {
        "start": summary.get("first_timestamp"),
        "end": summary.get("last_timestamp"),
        "records": summary.get("total", 0),
        "stated": False,
    }


def _points(analysis: dict[str, Any]) -> list[tuple[str, int]]:
    points = (analysis.get("timeline") or {}).get("points") or []
    return [(str(p.get("minute", "")), int(p.get("errors", 0))) for p in points]


def series_by_service(logs: Path, bucket_minutes: int | None) -> dict[str, list[tuple[str, int]]]:
    """Errors per service per time bucket, from the fetched records (JSON lines with `timestamp`,
    `level` and `service`); the busiest services by errors, the rest summed as "other". Empty when
    the file is missing, too big or not of that shape."""
    try:
        if not logs.is_file() or logs.stat().st_size > _LOGS_CAP:
            return {}
        lines = logs.read_bytes().splitlines()
    except OSError:
        return {}
    step = max(1, int(bucket_minutes or 1)) * 60
    counts: dict[str, dict[int, int]] = {}
    for line in lines:
        try:
            rec = json.loads(line)
            if str(rec.get("level", "")).upper() not in ("ERROR", "FATAL", "CRITICAL"):
                continue
            when = datetime.fromisoformat(str(rec["timestamp"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        bucket = int(when.timestamp()) // step * step
        per = counts.setdefault(str(rec.get("service") or "unknown"), {})
        per[bucket] = per.get(bucket, 0) + 1
    if not counts:
        return {}
    seen = {b for per in counts.values() for b in per}
    buckets = list(range(min(seen), max(seen) + step, step))  # buckets with no errors are zeros
    ranked = sorted(counts, key=lambda s: -sum(counts[s].values()))
    keep, rest = ranked[:_MAX_SERIES], ranked[_MAX_SERIES:]
    if rest:
        counts["other"] = {b: sum(counts[s].get(b, 0) for s in rest) for b in buckets}
        keep.append("other")
    stamp = [datetime.fromtimestamp(b, timezone.utc).strftime("%Y-%m-%dT%H:%M") for b in buckets]
    return {s: [(t, counts[s].get(b, 0)) for t, b in zip(stamp, buckets)] for s in keep}
