"""The story in an analysis: incidents, their impact, and the timeline that orders them.

analyze.py reports counts, findings and error bursts; an incident review needs them joined up:
which findings happened together, what came first, how long it lasted, who was hit. This module
does that joining, with rules simple enough to state in the report's appendix:

- an **incident** is an error burst together with the findings seen in the same minutes (critical
  or high findings outside any burst that overlap in time make one incident);
- an incident is **ongoing** when its errors continue to the end of the analysed window (analyze.py
  marks each finding and burst `state: ongoing` when its last event is at most max(2 minutes,
  2 buckets) before the window's last record), and **resolved** otherwise;
- a medium or low finding present through most of the analysed range is a **recurring risk**, not
  an incident;
- an **early warning** is a warning signature of the incident's services that started in the 30
  minutes before it and stopped by its end.

Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
EARLY_WINDOW = timedelta(minutes=30)
CHRONIC_SHARE = 0.5
_HTTP_5XX = re.compile(r"\bHTTP(?:/\d\.\d)? (5\d\d)((?: [A-Z][a-z]+)+)?")
_REQUEST = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/\S*)")


def when(value: Any) -> datetime | None:
    """A UTC datetime from analyze.py's ISO strings ("2026-03-14T09:24Z" or with seconds)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def top(counts: dict[str, Any] | None, n: int = 4) -> list[str]:
    return [name for name, _ in sorted((counts or {}).items(), key=lambda kv: -kv[1])[:n]]


@dataclass
class Signature:
    """One message signature with everything known about it, its example unmasked."""

    level: str
    signature: str
    count: int
    share: float
    first: datetime | None
    last: datetime | None
    services: dict[str, int]
    hosts: dict[str, int]
    example: str
    example_time: datetime | None = None
    example_host: str | None = None
    finding: str = ""


@dataclass
class Incident:
    """Findings that happened together, the window they cover and what they did."""

    findings: list[dict[str, Any]]
    start: datetime
    end: datetime
    burst: dict[str, Any] | None = None
    warnings: list[Signature] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    errors: int = 0
    records: int = 0
    symptoms: list[str] = field(default_factory=list)

    @property
    def ongoing(self) -> bool:
        """Its errors continue to the window's end (a finding or its burst is `state: ongoing`)."""
        parts = [*self.findings, *([self.burst] if self.burst else [])]
        return any(p.get("state") == "ongoing" for p in parts)

    @property
    def severity(self) -> str:
        return min(
            (f.get("severity", "low") for f in self.findings),
            key=lambda s: SEVERITY_RANK.get(s, 4),
            default="high",
        )

    @property
    def minutes(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 60))

    @property
    def lead(self) -> dict[str, Any] | None:
        """The finding that started first: where the chain of events begins."""
        return min(self.findings, key=lambda f: when(f.get("first_seen")) or self.start, default=None)

    @property
    def title(self) -> str:
        lead = self.lead
        if lead is None:
            return "Error burst with no known failure pattern"
        where = ", ".join(top(lead.get("services"), 2))
        return f"{lead.get('title', 'Finding')} in {where}" if where else str(lead.get("title", "Finding"))

    @property
    def first_warning(self) -> datetime | None:
        return min((w.first for w in self.warnings if w.first), default=None)


@dataclass
class Event:
    """One line of the timeline."""

    time: datetime
    service: str
    hosts: str
    kind: str
    text: str


def signatures(a: dict[str, Any], found: dict[str, tuple[datetime | None, str | None]]) -> list[Signature]:
    """Every error and warning signature, each tied to the finding it belongs to (if any)."""
    owner = {
        e.get("signature"): d.get("title", "")
        for d in a.get("diagnostics") or []
        for e in d.get("evidence") or []
    }
    rows = []
    for level, key in (("ERROR", "top_errors"), ("WARN", "top_warnings")):
        for item in a.get(key) or []:
            example = str(item.get("example", ""))
            seen_at, seen_on = found.get(example, (None, None))
            rows.append(
                Signature(
                    level=level,
                    signature=str(item.get("signature", "")),
                    count=int(item.get("count") or 0),
                    share=float(item.get("share") or 0.0),
                    first=when(item.get("first_seen")),
                    last=when(item.get("last_seen")),
                    services=dict(item.get("services") or {}),
                    hosts=dict(item.get("hosts") or {}),
                    example=example,
                    example_time=when(item.get("example_timestamp")) or seen_at,
                    example_host=item.get("example_host") or seen_on,
                    finding=owner.get(item.get("signature"), ""),
                )
            )
    return rows


def incidents(
    a: dict[str, Any], sigs: list[Signature], bucket: timedelta
) -> tuple[list[Incident], list[dict[str, Any]]]:
    """The incidents (in time order) and the ongoing risks, from bursts and findings."""
    first, last = when(a["summary"].get("first_timestamp")), when(a["summary"].get("last_timestamp"))
    span = (last - first) if first and last else timedelta(0)
    risks, acute = [], []
    for d in a.get("diagnostics") or []:
        start, end = when(d.get("first_seen")), when(d.get("last_seen"))
        if start is None or end is None:
            continue
        serious = SEVERITY_RANK.get(str(d.get("severity")), 4) <= 1
        chronic = not serious and span > timedelta(0) and (end - start) >= span * CHRONIC_SHARE
        (risks if chronic else acute).append(d)
    found: list[Incident] = []
    for burst in a.get("anomalies") or []:
        b_start, b_end = when(burst.get("start")), when(burst.get("end"))
        if b_start and b_end:
            found.append(Incident([], b_start, b_end + bucket, burst=burst))
    for d in acute:
        start, end = when(d.get("first_seen")), when(d.get("last_seen"))
        assert start is not None and end is not None
        home = next(
            (i for i in found if i.burst and start < i.end + bucket * 2 and end > i.start - bucket * 2), None
        )
        if home is None and SEVERITY_RANK.get(str(d.get("severity")), 4) > 1:
            risks.append(d)
            continue
        if home is None:  # no burst: it joins the burstless incident it overlaps in time, if any
            home = next((i for i in found if not i.burst and start <= i.end and end >= i.start), None)
        if home is None:
            home = Incident([], start, end)
            found.append(home)
        home.findings.append(d)
        home.start, home.end = min(home.start, start), max(home.end, end)
    found.sort(key=lambda i: i.start)
    for incident in found:
        _impact(incident, a, sigs)
    return found, risks


def _impact(incident: Incident, a: dict[str, Any], sigs: list[Signature]) -> None:
    """Services, hosts, counts, symptoms and early warnings of one incident."""
    evidence = {e.get("signature") for f in incident.findings for e in f.get("evidence") or []}
    own = [s for s in sigs if s.signature in evidence]
    services: dict[str, int] = {}
    hosts: dict[str, int] = {}
    for s in own:
        for name, n in s.services.items():
            services[name] = services.get(name, 0) + n
        for name, n in s.hosts.items():
            hosts[name] = hosts.get(name, 0) + n
    for f in incident.findings:
        for name, n in (f.get("services") or {}).items():
            services.setdefault(name, n)
    incident.services, incident.hosts = top(services, 10), top(hosts, 12)
    for point in (a.get("timeline") or {}).get("points") or []:
        minute = when(point.get("minute"))
        if minute and incident.start - timedelta(seconds=59) <= minute < incident.end:
            incident.errors += int(point.get("errors") or 0)
            incident.records += int(point.get("total") or 0)
    incident.symptoms = symptoms(own)
    first, last = when(a["summary"].get("first_timestamp")), when(a["summary"].get("last_timestamp"))
    span = (last - first) if first and last else timedelta(0)
    for s in sigs:
        if s.level != "WARN" or s.first is None or s.last is None or s.finding:
            continue
        main = top(s.services, 1)
        if not main or main[0] not in incident.services or s.services[main[0]] < 0.8 * s.count:
            continue
        early = incident.start - EARLY_WINDOW <= s.first < incident.start and s.last <= incident.end
        if early and (span == timedelta(0) or (s.last - s.first) < span * CHRONIC_SHARE):
            incident.warnings.append(s)


def symptoms(sigs: list[Signature]) -> list[str]:
    """What users saw, where the logs show it: HTTP 5xx answers, with an example request."""
    seen: dict[str, list[Any]] = {}
    for s in sigs:
        status = _HTTP_5XX.search(s.example)
        if status is None:
            continue
        name = f"HTTP {status.group(1)}{status.group(2) or ''}"
        request = _REQUEST.search(s.example)
        entry = seen.setdefault(name, [0, request.group(0) if request else ""])
        entry[0] += s.count
    return [
        f"{name} ({n:,} times{', e.g. ' + example if example else ''})"
        for name, (n, example) in sorted(seen.items(), key=lambda kv: -kv[1][0])
    ]


def events(found: list[Incident], risks: list[dict[str, Any]], sigs: list[Signature]) -> list[Event]:
    """The notable moments across services, in time order, so the causal chain is visible."""
    rows: list[Event] = []
    by_sig = {s.signature: s for s in sigs}
    for incident in found:
        for w in incident.warnings:
            assert w.first is not None
            rows.append(
                Event(w.first, _main(w.services), ", ".join(top(w.hosts, 3)), "Early warning", w.example)
            )
        for f in sorted(incident.findings, key=lambda f: when(f.get("first_seen")) or incident.start):
            ev = [by_sig[e["signature"]] for e in f.get("evidence") or [] if e.get("signature") in by_sig]
            hosts = {h: n for s in ev for h, n in s.hosts.items()}
            example = (f.get("evidence") or [{}])[0].get("example", "")
            start, end = when(f.get("first_seen")), when(f.get("last_seen"))
            title = str(f.get("title", "Finding"))
            where = _main(f.get("services") or {})
            if start:
                rows.append(
                    Event(start, where, ", ".join(top(hosts, 3)), "First error", f"{title}: {example}")
                )
            if end and start and end - start >= timedelta(minutes=1) and f.get("state") != "ongoing":
                rows.append(
                    Event(
                        end,
                        where,
                        ", ".join(top(hosts, 3)),
                        "Last seen",
                        f"{title} ({int(f.get('count') or 0):,} events)",
                    )
                )
        burst = incident.burst
        if burst:
            peak = when(burst.get("peak_at"))
            if peak:
                text = f"Peak: {burst.get('peak_errors')} errors in one minute (usually {float(burst.get('baseline_errors') or 0):g})"
                rows.append(Event(peak, ", ".join(incident.services[:3]), "", "Peak", text))
            rows.append(
                Event(
                    incident.end,
                    ", ".join(incident.services[:3]),
                    "",
                    "Still failing" if incident.ongoing else "Recovery",
                    "Errors continue to the end of the window: the incident is ongoing"
                    if incident.ongoing
                    else "Errors back to the usual level",
                )
            )
        elif incident.ongoing:
            rows.append(
                Event(
                    incident.end,
                    ", ".join(incident.services[:3]),
                    "",
                    "Still failing",
                    "Errors continue to the end of the window: the incident is ongoing",
                )
            )
    for d in risks:
        start = when(d.get("first_seen"))
        if start:
            example = (d.get("evidence") or [{}])[0].get("example", "")
            count = int(d.get("count") or 0)
            rows.append(
                Event(
                    start,
                    _main(d.get("services") or {}),
                    "",
                    "Recurring",
                    f"{d.get('title')}, {count:,} times in the range: {example}",
                )
            )
    order = {
        "Early warning": 0,
        "First error": 1,
        "Peak": 2,
        "Last seen": 3,
        "Recovery": 4,
        "Still failing": 4,
        "Recurring": 5,
    }
    rows.sort(key=lambda e: (e.time, order.get(e.kind, 9)))
    return rows


def _main(services: dict[str, Any]) -> str:
    return ", ".join(top(services, 2))


def locate_examples(
    path: str, examples: set[str], budget: int = 200 << 20
) -> dict[str, tuple[datetime | None, str | None]]:
    """Find each example's own record in a JSON Lines file: its time and host.

    analyze.py keeps an example line per signature but not where it was seen; reading the input
    once more (a substring test before any JSON parsing, at most `budget` bytes) recovers that.
    """
    import json

    found: dict[str, tuple[datetime | None, str | None]] = {}
    wanted = {e for e in examples if e}
    try:
        with open(path, encoding="utf-8", errors="replace") as lines:
            read = 0
            for line in lines:
                read += len(line)
                if read > budget or not wanted:
                    break
                hit = next((e for e in wanted if e in line), None) if '"message"' in line else None
                if hit is None:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("message") == hit:
                    found[hit] = (when(record.get("timestamp")), record.get("host"))
                    wanted.discard(hit)
    except OSError:
        return found
    return found
