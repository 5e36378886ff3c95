"""The content of an incident report, derived once from analyze.py's JSON, rendered twice.

The xlsx and the pdf writers both take a `Report`, so the two files always say the same thing.
Standard library only: this module works even where openpyxl/reportlab are missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUS_COLORS = {"healthy": "2E7D32", "degraded": "F9A825", "critical": "C62828", "unknown": "757575"}
SEVERITY_COLORS = {
    "critical": "C62828",
    "high": "EF6C00",
    "medium": "F9A825",
    "low": "1565C0",
    "info": "757575",
}


@dataclass
class Report:
    """Everything a report shows, as plain rows of text and numbers."""

    title: str
    source: str
    period: str
    status: str
    rule: str
    reasons: list[str]
    metrics: list[tuple[str, Any]]
    error_rows: list[list[Any]]
    service_rows: list[list[Any]]
    recommendations: list[list[Any]]
    timeline: list[list[Any]]
    bucket_minutes: int
    anomalies: list[list[Any]]
    notes: list[str] = field(default_factory=list)

    ERROR_HEADER = ("Signature", "Level", "Count", "Share", "First seen", "Last seen", "Services", "Example")
    SERVICE_HEADER = ("Service", "Records", "Errors", "Error rate")
    RECOMMENDATION_HEADER = (
        "Priority",
        "Severity",
        "Finding",
        "Events",
        "Services",
        "Recommended action",
        "Evidence",
    )
    TIMELINE_HEADER = ("Minute (UTC)", "Total", "Errors", "Warnings")
    ANOMALY_HEADER = ("Start", "End", "Errors", "Peak", "Baseline", "Rule")


def _pct(value: Any) -> str:
    return f"{float(value or 0):.2%}"


def _services(counts: dict[str, Any] | None) -> str:
    return ", ".join(f"{name} ({n:,})" for name, n in list((counts or {}).items())[:4])


def _require(analysis: Any) -> dict[str, Any]:
    if not isinstance(analysis, dict) or not isinstance(analysis.get("summary"), dict):
        raise ValueError(
            "the input is not analyze.py output: it needs a 'summary' object (run analyze.py first)"
        )
    return analysis


def _metrics(a: dict[str, Any]) -> list[tuple[str, Any]]:
    s, h = a["summary"], a.get("health", {})
    diagnostics = a.get("diagnostics") or []
    top = diagnostics[0] if diagnostics else None
    return [
        ("Health status", str(h.get("status", "unknown")).upper()),
        ("Decided by", h.get("rule", "")),
        ("Total records", s.get("total", 0)),
        ("Errors (ERROR + FATAL)", s.get("errors", 0)),
        ("Error rate", _pct(s.get("error_rate"))),
        ("Warnings", s.get("warnings", 0)),
        ("Warning rate", _pct(s.get("warn_rate"))),
        ("First record", s.get("first_timestamp") or "-"),
        ("Last record", s.get("last_timestamp") or "-"),
        ("Services", s.get("services", 0)),
        ("Error bursts", len(a.get("anomalies") or [])),
        ("Top finding", f"{top['title']} ({top['severity']}, {top['count']:,} events)" if top else "none"),
        ("Malformed input lines", (a.get("parse") or {}).get("malformed", 0)),
    ]


def _error_rows(a: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for kind, items in (("ERROR", a.get("top_errors") or []), ("WARN", a.get("top_warnings") or [])):
        for item in items:
            rows.append(
                [
                    item.get("signature", ""),
                    kind,
                    item.get("count", 0),
                    _pct(item.get("share")),
                    item.get("first_seen") or "-",
                    item.get("last_seen") or "-",
                    _services(item.get("services")),
                    str(item.get("example", ""))[:300],
                ]
            )
    return rows


def _service_rows(a: dict[str, Any]) -> list[list[Any]]:
    errors = a.get("errors_by_service") or {}
    totals = a.get("records_by_service") or {}
    names = sorted(set(errors) | set(totals), key=lambda n: (-errors.get(n, 0), n))
    return [
        [n, totals.get(n, 0), errors.get(n, 0), _pct(errors.get(n, 0) / totals[n] if totals.get(n) else 0)]
        for n in names
    ]


def _recommendations(a: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for i, d in enumerate(a.get("diagnostics") or [], 1):
        evidence = (d.get("evidence") or [{}])[0]
        rows.append(
            [
                i,
                d.get("severity", ""),
                d.get("title", d.get("id", "")),
                d.get("count", 0),
                _services(d.get("services")),
                d.get("recommendation", ""),
                f"{evidence.get('count', 0):,} x {evidence.get('signature', '')}" if evidence else "",
            ]
        )
    for burst in a.get("anomalies") or []:
        rows.append(
            [
                len(rows) + 1,
                "high",
                f"Error burst {burst.get('start')} to {burst.get('end')}",
                burst.get("errors", 0),
                "",
                "Line the burst up with deploys, config changes and dependency incidents in the same minutes.",
                burst.get("rule", ""),
            ]
        )
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    rows.sort(key=lambda row: rank.get(str(row[1]), 4))  # stable: diagnostics keep their order
    for priority, row in enumerate(rows, 1):
        row[0] = priority
    if not rows:
        rows.append(
            [
                1,
                "info",
                "No known failure pattern matched",
                a["summary"].get("errors", 0),
                "",
                "Review the top error signatures in Error Details; no action needed if they are expected.",
                "",
            ]
        )
    return rows


def build(analysis: Any, title: str | None = None) -> Report:
    """A Report from analyze.py's JSON; ValueError when the input is not that."""
    a = _require(analysis)
    s, h = a["summary"], a.get("health") or {}
    timeline = a.get("timeline") or {}
    points = timeline.get("points") or []
    return Report(
        title=title or "Incident report",
        source=str(a.get("source", "")),
        period=f"{s.get('first_timestamp') or '-'} to {s.get('last_timestamp') or '-'}",
        status=str(h.get("status", "unknown")),
        rule=str(h.get("rule", "")),
        reasons=[str(r) for r in h.get("reasons") or []],
        metrics=_metrics(a),
        error_rows=_error_rows(a),
        service_rows=_service_rows(a),
        recommendations=_recommendations(a),
        timeline=[
            [p.get("minute"), p.get("total", 0), p.get("errors", 0), p.get("warnings", 0)] for p in points
        ],
        bucket_minutes=int(timeline.get("bucket_minutes") or 1),
        anomalies=[
            [
                b.get("start"),
                b.get("end"),
                b.get("errors"),
                b.get("peak_errors"),
                b.get("baseline_errors"),
                b.get("rule"),
            ]
            for b in a.get("anomalies") or []
        ],
        notes=[str(n) for n in (a.get("parse") or {}).get("notes") or []],
    )


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    import sys

    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by make_report.py, not a command; run those with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
