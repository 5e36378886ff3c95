"""The content of an incident report, derived once from analyze.py's JSON, rendered twice.

The xlsx and the pdf writers both take a `Report`, so the two files always say the same thing.
Values stay typed (datetimes, counts, fractions) and each renderer formats them: the workbook
stores numbers and dates, the pdf prints them. Sections follow the incident reviews SRE teams
write: summary, impact, timeline, evidence, where it hit (services, hosts), action items, and an
appendix with the rules in words. Standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .report_story import (
    Event,
    Incident,
    Signature,
    events,
    incidents,
    locate_examples,
    signatures,
    top,
    when,
)

STATUS_COLORS = {"healthy": "2E7D32", "degraded": "F9A825", "critical": "C62828", "unknown": "757575"}
PRIORITY_COLORS = {"P1": "C62828", "P2": "EF6C00", "P3": "F9A825", "P4": "1565C0"}
PRIORITIES = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}

# What each of analyze.py's rules looks for, in words (an unknown rule falls back to its title).
RULE_WORDS = {
    "oom_kill": "processes killed by the kernel or the runtime for using too much memory (OOMKilled, OutOfMemoryError)",
    "connection_pool_exhausted": "a database connection pool with no free connection (pool exhausted, connection not available, requests waiting)",
    "disk_full": "a disk or filesystem with no space left",
    "upstream_timeout": "calls to another service that timed out (upstream timed out, 504 Gateway Timeout, deadline exceeded)",
    "http_5xx": "HTTP 5xx answers (500 Internal Server Error, 503 Service Unavailable, 502 Bad Gateway)",
    "connection_refused": "connections refused or reset by the other side",
    "deadlock": "database deadlocks",
    "certificate_expiry": "TLS certificates that are expiring or have expired",
    "auth_failures": "failed logins and rejected credentials or tokens",
    "rate_limited": "requests throttled or close to a rate limit (429, rate limit)",
}


@dataclass
class Fact:
    """One row of the impact table: `kind` is text, int, pct, time or minutes."""

    label: str
    value: Any
    kind: str = "text"
    whole_range: bool = False


@dataclass
class Action:
    priority: str
    action: str
    why: str
    services: str
    events: int
    owner: str = ""
    due: str = ""
    status: str = ""


@dataclass
class Report:
    """Everything a report shows."""

    title: str
    generated_at: datetime
    source: str
    query: str
    status: str
    status_reason: str
    summary: str
    facts: list[Fact]
    incidents: list[Incident]
    events: list[Event]
    evidence: list[Signature]
    per_minute: list[tuple[datetime, int, int, int, bool]]
    bucket_minutes: int
    services: list[tuple[str, int, int, float]]
    hosts: list[tuple[str, str, int, float]]
    actions: list[Action]
    appendix: list[tuple[str, str]]
    notes: list[str] = field(default_factory=list)
    multi_day: bool = False
    window: dict[str, Any] = field(default_factory=dict)
    """What was analysed: analysis.json's `window` (start, end, records, available, query, asked, truncated)."""
    headline: str = ""
    """The verdict with its window: "critical in the newest 500 records, 09:44–10:00 UTC; the last hour was asked"."""

    TIMELINE_HEADER = ("Time (UTC)", "Service", "Hosts", "Event", "Detail")
    EVIDENCE_HEADER = (
        "Finding",
        "Level",
        "Count",
        "Share",
        "First seen (UTC)",
        "Last seen (UTC)",
        "Example at (UTC)",
        "Example host",
        "Services",
        "Example line",
    )
    SERVICE_HEADER = ("Service", "Records", "Errors", "Error rate")
    HOST_HEADER = ("Host", "Services", "Errors", "Share of errors")
    ACTION_HEADER = ("Priority", "Action", "Why", "Services", "Events", "Owner", "Due", "Status")
    MINUTE_HEADER = ("Minute (UTC)", "Records", "Errors", "Warnings", "In error burst")
    APPENDIX_HEADER = ("Topic", "Rule")

    def stamp(self, moment: datetime | None, seconds: bool = True) -> str:
        """A time as the report prints it: the date only when the range spans days."""
        if moment is None:
            return "-"
        fmt = ("%d %b %H:%M" if self.multi_day else "%H:%M") + (":%S" if seconds else "")
        return moment.astimezone(timezone.utc).strftime(fmt)


def _require(analysis: Any) -> dict[str, Any]:
    if not isinstance(analysis, dict) or not isinstance(analysis.get("summary"), dict):
        raise ValueError(
            "the input is not analyze.py output: it needs a 'summary' object (run analyze.py first)"
        )
    return analysis


def _source(a: dict[str, Any], fetch: dict[str, Any] | None) -> tuple[str, str]:
    """Where the logs came from and the query that got them, in words."""
    if not fetch:
        return f"file {a.get('source') or '-'} ({a.get('format') or 'unknown'} format)", "the whole file"
    q = fetch.get("query") or {}
    parts = [f"{k} {q[k]}" for k in ("service", "level", "host") if q.get(k)]
    since, until = q.get("since_arg"), q.get("until_arg")
    if since or until:
        parts.append(f"time {since or 'start'} to {until or 'now'}")
    parts.append(f"the {q.get('order', 'newest first').split()[0]} {int(q.get('limit') or 0):,} records")
    got = f"; got {int(fetch.get('records') or 0):,} records, {fetch.get('first_timestamp') or '-'} to {fetch.get('last_timestamp') or '-'}"
    more = " (more were available)" if fetch.get("more_available") else ""
    return f"{q.get('url') or fetch.get('source')} ({q.get('api', 'json')} API)", ", ".join(
        parts
    ) + got + more


def _window(a: dict[str, Any], fetch: dict[str, Any] | None) -> dict[str, Any]:
    """analysis.json's window; for an older analysis without one, what its summary and fetch say."""
    found = a.get("window")
    if isinstance(found, dict):
        return found
    s, f = a["summary"], fetch or {}
    return {
        "start": s.get("first_timestamp"),
        "end": s.get("last_timestamp"),
        "records": int(s.get("total") or 0),
        "available": f.get("available"),
        "query": f.get("query_text") or f.get("source") or f"file {a.get('source') or '-'}",
        "asked": f.get("asked") or ("everything the source holds" if fetch else "the whole input"),
        "truncated": bool(f.get("truncated") if "truncated" in f else f.get("more_available")),
        "limit": (f.get("query") or {}).get("limit"),
        "order": (f.get("query") or {}).get("order") or "newest first",
    }


def window_words(w: dict[str, Any]) -> str:
    """The window in one sentence: records (of how many), from when to when, asked, cut or not."""
    first, last = when(w.get("start")), when(w.get("end"))
    span = "no timestamps"
    if first and last:
        fmt = "%H:%M:%S" if first.date() == last.date() else "%d %b %H:%M"
        span = f"{first:{fmt}} to {last:{fmt}} UTC ({max(0, round((last - first).total_seconds() / 60))} min)"
    available = w.get("available")
    count = f"{int(w.get('records') or 0):,} records" + (
        f" (of the {int(available):,} the source holds)" if available is not None else ""
    )
    cut = (
        f"A limit cut it short: the {str(w.get('order') or 'newest first').split()[0]} "
        f"{int(w.get('records') or 0):,} records were taken of {w.get('asked')}."
        if w.get("truncated")
        else "No limit cut it short."
    )
    return f"{count}, {span}; asked: {w.get('asked')}. {cut} Query: {w.get('query')}."


def _status_reason(a: dict[str, Any]) -> str:
    """Why the health status is what it is, in words (the analysis' own rule names ids)."""
    s, h = a["summary"], a.get("health") or {}
    t = h.get("thresholds") or {}
    status = str(h.get("status", "unknown"))
    if status == "unknown":
        return "No log records to judge."
    findings = [d for d in a.get("diagnostics") or [] if d.get("severity") in ("critical", "high")]
    why = []
    if findings:
        names = ", ".join(f"{d.get('title')} ({_events(d)})" for d in findings[:3])
        why.append(
            f"{'critical' if findings[0].get('severity') == 'critical' else 'high-severity'} findings: {names}"
        )
    rate = float(s.get("error_rate") or 0)
    why.append(
        f"error rate {rate:.1%} (degraded from {float(t.get('error_degraded', 0.02)):.0%}, "
        f"critical from {float(t.get('error_critical', 0.10)):.0%})"
    )
    bursts = len(a.get("anomalies") or [])
    if bursts:
        why.append(f"{bursts} error burst{'s' if bursts > 1 else ''}")
    return f"{status.capitalize()} because of " + "; ".join(why) + "."


def _events(d: dict[str, Any]) -> str:
    count = int(d.get("count") or 0)
    state = {"ongoing": ", ongoing", "resolved": ", resolved"}.get(str(d.get("state")), "")
    return f"{count:,} event" + ("" if count == 1 else "s") + state


def _summary(a: dict[str, Any], found: list[Incident], risks: list[dict[str, Any]], report: Report) -> str:
    """The summary paragraph: what happened, in order, in plain words."""
    s = a["summary"]
    total, errors = int(s.get("total") or 0), int(s.get("errors") or 0)
    if total == 0:
        return "The input held no log records, so nothing can be said about the system's health."
    day = f"{found[0].start.day} {found[0].start:%B %Y}" if found else ""
    parts: list[str] = []
    for n, incident in enumerate(found):
        parts.append(_incident_sentence(incident, report, first=n == 0, day=day))
    if risks:
        names = "; ".join(f"{d.get('title')} ({_main(d)})" for d in risks[:3])
        parts.append(f"Recurring through the range: {names}.")
    if not found:
        parts.append("No incident was found: no error burst and no critical or high finding.")
    parts.append(f"In all, {errors:,} of {total:,} records ({errors / total:.1%}) were errors.")
    return " ".join(parts)


def _incident_sentence(incident: Incident, report: Report, first: bool, day: str) -> str:
    window = f"{report.stamp(incident.start, False)} to {report.stamp(incident.end, False)} UTC ({incident.minutes} min)"
    opening = f"On {day} from {window}: " if first and day else f"Later, from {window}: "
    if incident.ongoing:
        since = f"{report.stamp(incident.start, False)} UTC"
        opening = (
            f"ONGOING since {since} ({incident.minutes} min), still failing at the end of the window "
            f"({report.stamp(incident.end, False)} UTC): "
        )
    if not incident.findings:
        return opening + f"a burst of {incident.errors:,} errors with no known failure pattern."
    parts = []
    for n, f in enumerate(
        sorted(incident.findings, key=lambda f: when(f.get("first_seen")) or incident.start)
    ):
        hosts = " and ".join(_hosts_of(f, report)[:3])
        verb = "" if n == 0 else " followed"
        parts.append(
            f"{f.get('title')}{verb} in {_main(f)} from {report.stamp(when(f.get('first_seen')), False)} "
            f"({int(f.get('count') or 0):,} errors{' on ' + hosts if hosts else ''})"
        )
    text = opening + "; ".join(parts) + "."
    if incident.symptoms:
        text += f" Users saw {incident.symptoms[0]}."
    if incident.warnings:
        w = min(incident.warnings, key=lambda w: w.first or incident.start)
        text += f' The first warning sign came at {report.stamp(w.first, False)} from {_main_of(w.services)}: "{w.example}".'
    if incident.burst and not incident.ongoing:
        text += f" Errors were back to the usual level at {report.stamp(incident.end, False)}."
    elif not incident.ongoing:
        text += f" Resolved: the last of these errors came at {report.stamp(incident.end, False)} UTC."
    return text


def _hosts_of(finding: dict[str, Any], report: Report) -> list[str]:
    sigs = {e.get("signature") for e in finding.get("evidence") or []}
    hosts: dict[str, int] = {}
    for s in report.evidence:
        if s.signature in sigs:
            for h, n in s.hosts.items():
                hosts[h] = hosts.get(h, 0) + n
    return top(hosts, 4)


def _main(d: dict[str, Any]) -> str:
    return _main_of(d.get("services") or {})


def _main_of(services: dict[str, Any]) -> str:
    return " and ".join(top(services, 2)) or "an unknown service"


def main_incident(found: list[Incident]) -> Incident:
    """The incident a report leads with: an ongoing one before a resolved one, then the most
    severe, then the earliest."""
    return min(
        found,
        key=lambda i: (
            not i.ongoing,
            list(PRIORITIES).index(i.severity) if i.severity in PRIORITIES else 4,
            i.start,
        ),
    )


def _facts(a: dict[str, Any], found: list[Incident], w: dict[str, Any]) -> list[Fact]:
    s = a["summary"]
    facts: list[Fact] = []
    if found:
        main = main_incident(found)
        facts += [
            Fact("Main incident", main.title),
            Fact(
                "State",
                "ONGOING: errors continue to the end of the window"
                if main.ongoing
                else f"resolved: the last errors came at {main.end:%H:%M} UTC",
            ),
            Fact("Incident window start", main.start, "time"),
            Fact("Incident window end", main.end, "time"),
            Fact("Duration (minutes)", main.minutes, "minutes"),
            Fact("First warning sign", main.first_warning, "time")
            if main.first_warning
            else Fact("First warning sign", "none in the logs"),
            Fact("Affected services", ", ".join(main.services) or "-"),
            Fact("Affected hosts", ", ".join(main.hosts) or "-"),
            Fact("Errors in the window", main.errors, "int"),
            Fact("Error rate in the window", main.errors / main.records if main.records else 0.0, "pct"),
            Fact("User-facing symptoms", "; ".join(main.symptoms) or "none visible in the logs"),
            Fact(
                "Other incidents",
                "; ".join(
                    f"{i.title} ({i.errors:,} errors, {'ongoing' if i.ongoing else 'resolved'})"
                    for i in found
                    if i is not main
                )
                or "none",
            ),
        ]
    available = w.get("available")
    facts += [
        Fact("Records analysed", int(w.get("records") or s.get("total") or 0), "int", True),
        Fact(
            "Records the source holds",
            int(available) if available is not None else "not stated by the source",
            "int" if available is not None else "text",
            True,
        ),
        Fact("Window start", when(w.get("start") or s.get("first_timestamp")), "time", True),
        Fact("Window end", when(w.get("end") or s.get("last_timestamp")), "time", True),
        Fact("Asked for", str(w.get("asked") or "-"), "text", True),
        Fact(
            "Cut by a limit",
            f"YES: only the {str(w.get('order') or 'newest first').split()[0]} {int(w.get('records') or 0):,} records"
            if w.get("truncated")
            else "no",
            "text",
            True,
        ),
        Fact("Errors (ERROR and FATAL)", int(s.get("errors") or 0), "int", True),
        Fact("Error rate", float(s.get("error_rate") or 0), "pct", True),
        Fact("Warnings", int(s.get("warnings") or 0), "int", True),
        Fact("Warning rate", float(s.get("warn_rate") or 0), "pct", True),
        Fact(
            "Services with errors",
            sum(1 for v in (a.get("errors_by_service") or {}).values() if v),
            "int",
            True,
        ),
        Fact("Hosts with errors", sum(1 for v in (a.get("errors_by_host") or {}).values() if v), "int", True),
    ]
    return facts


def _actions(a: dict[str, Any], found: list[Incident], risks: list[dict[str, Any]]) -> list[Action]:
    rows = []
    order = {id(d): n for n, d in enumerate([f for i in found for f in i.findings] + risks)}
    for d in sorted(
        a.get("diagnostics") or [],
        key=lambda d: (
            PRIORITIES.get(str(d.get("severity")), "P4"),
            d.get("state") != "ongoing",
            order.get(id(d), 99),
        ),
    ):
        example = (d.get("evidence") or [{}])[0].get("example", "")
        span = f"{_short(d.get('first_seen'))}-{_short(d.get('last_seen'))}"
        rows.append(
            Action(
                priority=PRIORITIES.get(str(d.get("severity")), "P4"),
                action=str(d.get("recommendation", "")),
                why=f'{d.get("title")}: {int(d.get("count") or 0):,} events, {span} UTC, e.g. "{example}"',
                services=", ".join(top(d.get("services"), 4)),
                events=int(d.get("count") or 0),
            )
        )
    for incident in found:
        if not incident.findings:
            rows.append(
                Action(
                    "P2",
                    "Find the cause of the error burst: line it up with deploys, config changes and dependency incidents in the same minutes.",
                    f"Error burst {incident.start:%H:%M}-{incident.end:%H:%M} UTC with {incident.errors:,} errors and no known failure pattern",
                    ", ".join(incident.services),
                    incident.errors,
                )
            )
    if not rows:
        rows.append(
            Action(
                "P4",
                "No action needed if the top error signatures in Evidence are expected.",
                "No known failure pattern matched",
                "",
                int(a["summary"].get("errors") or 0),
            )
        )
    return sorted(rows, key=lambda r: r.priority)  # stable: ongoing findings first within a priority


def _short(value: Any) -> str:
    moment = when(value)
    return moment.strftime("%H:%M") if moment else "-"


def _appendix(a: dict[str, Any]) -> list[tuple[str, str]]:
    t = (a.get("health") or {}).get("thresholds") or {}
    bursts = a.get("anomalies") or []
    rows = [
        ("Levels", "ERROR and FATAL records count as errors; WARN records as warnings."),
        (
            "Health",
            f"Critical when the error rate is at least {float(t.get('error_critical', 0.1)):.0%} or a critical finding is present. "
            f"Degraded when the error rate is at least {float(t.get('error_degraded', 0.02)):.0%}, the warning rate at least "
            f"{float(t.get('warn_degraded', 0.1)):.0%}, a high-severity finding is present, or there was an error burst. Otherwise healthy.",
        ),
        (
            "Error burst",
            "A run of minutes with far more errors than usual: more than the median errors per minute plus five times the median "
            "absolute deviation (at least 1)."
            + (
                f" In this range: more than {float(bursts[0].get('threshold') or 0):g} errors in a minute, against a usual {float(bursts[0].get('baseline_errors') or 0):g}."
                if bursts
                else ""
            ),
        ),
        (
            "Signatures",
            "Messages are grouped by signature: numbers, ids, addresses, paths and times are replaced by placeholders, so one "
            "kind of message is counted once. The evidence shows each signature's own first example line, unmasked.",
        ),
        (
            "Incidents",
            "An incident is an error burst together with the findings seen in the same minutes; critical or high findings outside "
            "any burst that overlap in time make one incident. An incident is ongoing when its errors continue to the end of the analysed window "
            "(its last error at most 2 minutes, or 2 timeline buckets, before the window's last record); otherwise it is resolved. "
            "A medium or low finding present through at least half of the range is listed as recurring. An early warning is a "
            "warning of the incident's services that started in the 30 minutes before it and stopped by its end.",
        ),
        (
            "Window",
            "Every number in this report is about the records analysed, from the window's first to its last timestamp, and nothing "
            "else. When a limit cut the window short of the range that was asked, the report says so: anything before the "
            "window is not in it.",
        ),
        (
            "Priorities",
            "P1 for critical findings, P2 high, P3 medium, P4 low. Owner, due date and status are for the team to fill in.",
        ),
    ]
    for d in a.get("diagnostics") or []:
        words = RULE_WORDS.get(str(d.get("id")), str(d.get("title", "")).lower())
        rows.append(
            (f"Finding: {d.get('title')}", f"Messages that show {words}. Severity {d.get('severity')}.")
        )
    p = a.get("parse") or {}
    rows.append(
        (
            "Input",
            f"{int(p.get('records') or a['summary'].get('total') or 0):,} records read from {int(p.get('lines') or 0):,} lines, "
            f"{int(p.get('malformed') or 0):,} malformed; read as {p.get('format') or a.get('format') or 'unknown'}"
            + (f", confidence {p['confidence']}" if p.get("confidence") else "")
            + ".",
        )
    )
    return rows


def _where(a: dict[str, Any]) -> tuple[list[tuple[str, int, int, float]], list[tuple[str, str, int, float]]]:
    errors = a.get("errors_by_service") or {}
    totals = a.get("records_by_service") or {}
    names = sorted(set(errors) | set(totals), key=lambda n: (-errors.get(n, 0), n))
    services = [
        (
            n,
            int(totals.get(n, 0)),
            int(errors.get(n, 0)),
            errors.get(n, 0) / totals[n] if totals.get(n) else 0.0,
        )
        for n in names
    ]
    on_host: dict[str, set[str]] = {}
    for item in (a.get("top_errors") or []) + (a.get("top_warnings") or []):
        if len(item.get("services") or {}) == 1:
            for host in item.get("hosts") or {}:
                on_host.setdefault(host, set()).update(item["services"])
    all_errors = sum((a.get("errors_by_host") or {}).values()) or 1
    hosts = [
        (h, ", ".join(sorted(on_host.get(h, set()))) or "-", int(n), n / all_errors)
        for h, n in sorted((a.get("errors_by_host") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return services, hosts


def _inside(moment: datetime, windows: list[tuple[datetime | None, datetime | None]]) -> bool:
    return any(lo is not None and hi is not None and lo <= moment <= hi for lo, hi in windows)


def _title(found: list[Incident], status: str) -> str:
    if not found:
        return (
            "No incident found: system " + ("healthy" if status == "healthy" else status) + " in the window"
        )
    main = main_incident(found)
    if main.ongoing:
        return f"ONGOING: {main.title}, since {main.start:%H:%M} UTC, {main.start.day} {main.start:%b %Y}"
    return f"{main.title}, {main.start.day} {main.start:%b %Y}, {main.start:%H:%M}-{main.end:%H:%M} UTC (resolved)"


def build(
    analysis: Any,
    title: str | None = None,
    *,
    fetch: dict[str, Any] | None = None,
    generated_at: datetime | None = None,
    logs: str | None = None,
) -> Report:
    """A Report from analyze.py's JSON (and the fetch summary, when there is one); ValueError when
    the input is not analyze.py output. `logs` is the analysed file, read to place each example."""
    a = _require(analysis)
    s, h = a["summary"], a.get("health") or {}
    timeline = a.get("timeline") or {}
    bucket = int(timeline.get("bucket_minutes") or 1)
    sigs_all = [*(a.get("top_errors") or []), *(a.get("top_warnings") or [])]
    found_at = (
        locate_examples(logs, {str(i.get("example", "")) for i in sigs_all})
        if logs and os.path.isfile(logs)
        else {}
    )
    sigs = signatures(a, found_at)
    found, risks = incidents(a, sigs, timedelta(minutes=bucket))
    first, last = when(s.get("first_timestamp")), when(s.get("last_timestamp"))
    source, query = _source(a, fetch)
    w = _window(a, fetch)
    windows = [(when(b.get("start")), when(b.get("end"))) for b in a.get("anomalies") or []]
    services, hosts = _where(a)
    report = Report(
        title=title or _title(found, str(h.get("status", "unknown"))),
        generated_at=(generated_at or datetime.now(timezone.utc)).astimezone(timezone.utc),
        source=source,
        query=query,
        status=str(h.get("status", "unknown")),
        status_reason=_status_reason(a),
        summary="",
        facts=_facts(a, found, w),
        incidents=found,
        events=events(found, risks, sigs),
        evidence=sigs,
        per_minute=[
            (
                m,
                int(p.get("total") or 0),
                int(p.get("errors") or 0),
                int(p.get("warnings") or 0),
                _inside(m, windows),
            )
            for p in timeline.get("points") or []
            if (m := when(p.get("minute"))) is not None
        ],
        bucket_minutes=bucket,
        services=services,
        hosts=hosts,
        actions=_actions(a, found, risks),
        appendix=_appendix(a),
        notes=[str(n) for n in (a.get("parse") or {}).get("notes") or []]
        + [str(n) for n in (fetch or {}).get("notes") or []],
        multi_day=bool(first and last and first.date() != last.date()),
        window=w,
        headline=str(
            h.get("headline") or f"{h.get('status', 'unknown')} in {int(w.get('records') or 0):,} records"
        ),
    )
    report.summary = _summary(a, found, risks, report)
    return report


def console_lines(report: Report) -> list[str]:
    """Page 1 of the report as console lines: the same story, for the main job's summary."""
    lines = [
        report.title,
        f"Health: {report.status.upper()}: {report.headline}. {report.status_reason}",
        f"Window: {window_words(report.window)}",
        "",
        report.summary,
        "",
    ]
    for fact in report.facts[:10]:
        value = fact.value
        if fact.kind == "time":
            value = report.stamp(value) + " UTC"
        elif fact.kind == "pct":
            value = f"{value:.1%}"
        elif fact.kind in ("int", "minutes"):
            value = f"{value:,}"
        lines.append(f"  {fact.label}: {value}")
    lines += ["", "Action items:"] + [f"  {a.priority} {a.action}" for a in report.actions[:3]]
    return lines
