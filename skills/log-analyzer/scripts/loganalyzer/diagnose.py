"""Message signatures, diagnostic rules, bursts and the health verdict, for analyze.py.

Standard library only. The rules are data: each names a pattern, a severity and the action an
on-call engineer should take, so adding one is adding a row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import Any, NamedTuple

from .timestamps import moment

# Each mask starts with a plain character class, so the regex engine can skip ahead quickly; the
# boundary checks are lookbehinds placed after the first character. `needs` is a cheap substring
# test that lets most messages skip a mask entirely.
_MASKS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "-",
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
        "<uuid>",
    ),
    (
        ":",
        re.compile(
            r"\d(?<![\w]\d)\d{3}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
        ),
        "<ts>",
    ),
    ("://", re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s,;\"')]+"), "<url>"),
    (".", re.compile(r"\d(?<![\w.]\d)\d{0,2}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])"), "<ip>"),
    ("/", re.compile(r"/(?<![\w/.]/)[\w.~%-]+(?:/[\w.~%-]*)+"), "<path>"),
    (
        "",
        re.compile(r"[0-9a-f](?<![0-9A-Za-z][0-9a-f])(?:x[0-9a-fA-F]+|[0-9a-f]{7,})(?![0-9A-Za-z])"),
        "<hex>",
    ),
    ("", re.compile(r"\d(?<![A-Za-z0-9]\d)(?<!HTTP \d)\d*(?:[.,]\d+)?"), "<num>"),
)


_UUID = _MASKS[0][1]
# A UUID found from its first dash (a literal the regex engine skips ahead to), the 8 hex digits
# before it checked behind: a scan of a text that holds none costs ~20 times less than _UUID's.
_UUID_DASH = re.compile(r"-(?<=[0-9a-fA-F]{8}-)[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuids(text: str) -> str:
    """`_UUID.sub("<uuid>", text)`, the quick way. Each UUID is found at its first dash; one whose
    8 leading digits overlap the UUID before it is not one `_UUID` finds (its scan goes on after
    the one before), and no UUID starts inside another one's dashes, so none is missed."""
    parts: list[str] = []
    done = 0
    for found in _UUID_DASH.finditer(text):
        start = found.start() - 8
        if start >= done:
            parts += (text[done:start], "<uuid>")
            done = found.end()
    if not parts:
        return text
    parts.append(text[done:])
    return "".join(parts)


def _hex(match: re.Match[str]) -> str:
    """Hex ids must mix letters and digits: all-letter words stay, all-digit ones are numbers."""
    token = match.group()
    return "<hex>" if token.startswith("0x") or (not token.isalpha() and not token.isdigit()) else token


def mask(line: str, masks: tuple[tuple[str, re.Pattern[str], str], ...] = _MASKS) -> str:
    """One line with its ids, numbers, IPs, URLs, paths, times and UUIDs masked, mask after mask."""
    for needs, pattern, placeholder in masks:
        if needs in line:
            line = pattern.sub(_hex if placeholder == "<hex>" else placeholder, line)
    return line


# ASCII letters and digits that no mask tells apart, folded into one of each kind: a line's shape.
# The masks' character classes hold all of a kind or none of it (digits; a-f; A-F; the other
# letters), and the letters they name (x; H, P, T, Z) stay themselves. So two lines of one shape
# are masked at the same places: the masking is worked out once per shape, as pieces (a slice of
# the line kept, or a placeholder), and each line of that shape is then cut and joined.
_FOLD = bytes.maketrans(
    b"0123456789abcdefABCDEFghijklmnopqrstuvwyzGIJKLMNOQRSUVWXY",
    b"0" * 10 + b"a" * 6 + b"A" * 6 + b"g" * 19 + b"G" * 16,
)
Pieces = tuple[Any, ...]  # each a slice of the line (kept text) or a str (a placeholder)
Template = tuple[str, Any]  # a %-format and an itemgetter of the slices it takes (None: none)


def _pieces(line: str) -> Pieces:
    """`mask(line)` of a line whose UUIDs are masked, as pieces: which spans of the line stay, and
    what replaces the rest."""
    pieces: list[Any] = [slice(0, len(line))]
    text = line
    for needs, pattern, placeholder in _MASKS[1:]:
        if needs not in text:
            continue
        cuts = [
            (found.start(), found.end(), placeholder)
            for found in pattern.finditer(text)
            if placeholder != "<hex>" or _hex(found) == "<hex>"  # else the token stays as it is
        ]
        if cuts:
            pieces = _cut(pieces, cuts, len(text))
            text = "".join([line[p] if p.__class__ is slice else p for p in pieces])
    return tuple(pieces)


def _cut(pieces: list[Any], cuts: list[tuple[int, int, str]], size: int) -> list[Any]:
    """Pieces with the spans [start, end) of their text (`size` long) replaced by new strings."""
    out: list[Any] = []
    index, at, done = 0, 0, 0  # the piece walked, where its text starts, where the text left starts
    for start, end, new in [*cuts, (size, size, "")]:
        while index < len(pieces):  # the text in [done, start) stays
            piece = pieces[index]
            stop = at + (piece.stop - piece.start if piece.__class__ is slice else len(piece))
            lo, hi = max(done, at) - at, min(start, stop) - at
            if lo < hi:
                kept = slice(piece.start + lo, piece.start + hi) if piece.__class__ is slice else piece[lo:hi]
                _append(out, kept)
            if stop > start:
                break
            index, at = index + 1, stop
        if new:
            _append(out, new)
        done = end
    return out


def _template(pieces: Pieces) -> Template:
    """Pieces as a %-format and the getter of its kept slices: `text % cut(line)` joins them."""
    kept = [p for p in pieces if p.__class__ is slice]
    text = "".join("%s" if p.__class__ is slice else p.replace("%", "%%") for p in pieces)
    return text, itemgetter(*kept) if kept else None


def _append(pieces: list[Any], piece: Any) -> None:
    """Add a piece, joined to the last one when both are kept text that meets, or both strings."""
    last = pieces[-1] if pieces else None
    if piece.__class__ is slice and last.__class__ is slice and last.stop == piece.start:
        pieces[-1] = slice(last.start, piece.stop)
    elif piece.__class__ is str and last.__class__ is str:
        pieces[-1] = last + piece
    else:
        pieces.append(piece)


class Signatures:
    """Turns messages into signatures: ids, numbers, IPs, URLs, paths, times and UUIDs masked.

    Equal to `mask` of the message's first line (up to 300 characters), at the cost of a dict
    look-up and a join for a line whose shape was seen before (most: they differ by ids/numbers).
    """

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}
        self._shapes: dict[bytes, Template | None] = {}  # None: seen once

    def __call__(self, message: str) -> str:
        return self.many([message])[0]

    def many(self, messages: list[str]) -> list[str]:
        """The signature of each message (a batch costs less than a call per message)."""
        cache = self._cache
        new = [m for m in dict.fromkeys(messages) if m not in cache]
        if len(cache) + len(new) > 4096:
            cache.clear()
            new = list(dict.fromkeys(messages))
        if new:
            cache.update(zip(new, self._new(new)))
        return list(map(cache.__getitem__, messages))

    def _new(self, messages: list[str]) -> list[str]:
        """The signatures of messages not in the cache. The steps every line takes (the first line,
        UUIDs, the shape) run once over the batch's lines joined by newlines, which none holds: no
        mask and no fold crosses one."""
        text = "\n".join(messages)
        if text.count("\n") >= len(messages) or max(map(len, messages)) > 300:  # the first line, cut
            text = "\n".join([m.partition("\n")[0][:300] for m in messages])
        text = _uuids(text)  # UUIDs first (the first mask): their mix of digits and letters is no shape
        lines = text.split("\n")
        folds = text.encode("utf-8", "surrogatepass").translate(_FOLD).split(b"\n")
        shapes = self._shapes
        templates: list[Any] = list(map(shapes.get, folds, repeat(())))
        for i in compress(range(len(lines)), map(not_, templates)):  # shapes not worked out yet, in order
            folded = folds[i]
            template = shapes.get(folded, ())  # (an earlier line of this batch may have had this shape)
            if template is None:  # the second line of this shape: worth working out its template
                template = shapes[folded] = _template(_pieces(folded.decode("utf-8", "surrogatepass")))
            elif not template:  # the first (often the only one)
                if len(shapes) > 20_000:
                    shapes.clear()
                shapes[folded] = None
                template = (mask(lines[i], _MASKS[1:]), None)  # (a signature holds no %: see _template)
            templates[i] = template
        return [form % cut(line) if cut else form for line, (form, cut) in zip(lines, templates)]


class Rule(NamedTuple):
    """A diagnostic rule: messages matching `pattern` point at `title`; `action` says what to do."""

    id: str
    pattern: re.Pattern[str]
    severity: str
    title: str
    action: str


def _rule(rule_id: str, pattern: str, severity: str, title: str, action: str) -> Rule:
    return Rule(rule_id, re.compile(pattern, re.IGNORECASE), severity, title, action)


RULES = (
    _rule(
        "oom_kill",
        r"OOMKilled|out of memory|OutOfMemoryError|oom-kill|invoked oom-killer|Killed process",
        "critical",
        "Processes killed for running out of memory",
        "Raise the memory limit or fix the leak: compare heap/RSS growth before the kill, take a heap dump, "
        "and check recent deploys of the affected service.",
    ),
    _rule(
        "connection_pool_exhausted",
        r"pool exhausted|Connection is not available|connections? in use.*waiting|too many connections|remaining connection slots",
        "critical",
        "Database connection pool exhausted",
        "Find what holds connections (slow queries, long transactions, leaks) and fix it; raise the pool size "
        "only with database headroom; alert on pool usage above 80%.",
    ),
    _rule(
        "disk_full",
        r"No space left on device|disk (?:is )?full|filesystem full",
        "critical",
        "Disk full",
        "Free space (rotate/compress logs, purge temp files) and add disk usage alerts.",
    ),
    _rule(
        "upstream_timeout",
        r"upstream timed out|Gateway Timeout|\b504\b|deadline exceeded|read timed? ?out|timed out after",
        "high",
        "Upstream timeouts",
        "Check the upstream's latency and saturation first (it is usually the cause, not the gateway); add "
        "timeouts with retries and a circuit breaker.",
    ),
    _rule(
        "http_5xx",
        r"\bHTTP(?:/\d\.\d)? 5\d\d\b|\b5\d\d (?:Internal Server Error|Service Unavailable|Bad Gateway)|status[=: ]+5\d\d",
        "high",
        "HTTP 5xx server errors",
        "Correlate the 5xx burst with deploys and dependency errors in the same minutes; roll back a bad "
        "release or shed load.",
    ),
    _rule(
        "connection_refused",
        r"connection refused|ECONNREFUSED|connection reset|broken pipe",
        "high",
        "Connections refused or reset",
        "Check that the target service is up and listening, and its health checks and restarts.",
    ),
    _rule(
        "deadlock",
        r"deadlock",
        "high",
        "Database deadlocks",
        "Find the conflicting transactions in the database's deadlock log and make them lock rows in one order.",
    ),
    _rule(
        "certificate_expiry",
        r"certificate.*(?:expire|expiring|expired)|x509|not valid after|SSL.*expired",
        "medium",
        "TLS certificate expiring",
        "Renew the certificate now and automate renewal (cert-manager/ACME); alert 30 days before expiry.",
    ),
    _rule(
        "auth_failures",
        r"authentication failure|invalid (?:password|credentials|token)|unauthori[sz]ed|\b401\b",
        "medium",
        "Authentication failures",
        "Check for credential stuffing (many users, few IPs) or an expired service credential; rate-limit logins.",
    ),
    _rule(
        "rate_limited",
        r"rate limit|too many requests|\b429\b|throttl",
        "low",
        "Rate limiting",
        "Check which clients hit the limits and whether quotas fit real traffic.",
    ),
)
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
ONGOING_MINUTES = 2
"""How close to the window's end a finding's last event must be for it to count as ongoing."""


def diagnose(signatures: Iterable[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """Match every signature (with its counts) against the rules; one finding per rule that fired."""
    found: dict[str, dict[str, Any]] = {}
    for sig in signatures:
        text = f"{sig['signature']} {sig['example']}"
        for rule in RULES:
            if rule.pattern.search(text) is None:
                continue
            entry = found.setdefault(
                rule.id,
                {
                    "id": rule.id,
                    "severity": rule.severity,
                    "title": rule.title,
                    "count": 0,
                    "services": {},
                    "first_seen": sig["first_seen"],
                    "last_seen": sig["last_seen"],
                    "evidence": [],
                    "recommendation": rule.action,
                },
            )
            entry["count"] += sig["count"]
            for service, n in sig["services"].items():
                entry["services"][service] = entry["services"].get(service, 0) + n
            entry["first_seen"] = min(filter(None, (entry["first_seen"], sig["first_seen"])), default=None)
            entry["last_seen"] = max(filter(None, (entry["last_seen"], sig["last_seen"])), default=None)
            if len(entry["evidence"]) < 3:
                entry["evidence"].append(
                    {"signature": sig["signature"], "count": sig["count"], "example": sig["example"]}
                )
            break
    for entry in found.values():
        entry["share"] = round(entry["count"] / total, 6) if total else 0.0
        entry["services"] = dict(sorted(entry["services"].items(), key=lambda kv: -kv[1]))
    return sorted(found.values(), key=lambda e: (SEVERITY_ORDER[e["severity"]], -e["count"]))


def mark_ongoing(
    diagnostics: list[dict[str, Any]], anomalies: list[dict[str, Any]], end: str | None, bucket_minutes: int
) -> None:
    """Say of every finding and burst whether it is still going on at the end of the window.

    **Ongoing** means its errors continue to the window's end: the last event of a finding (or the
    last bucket of a burst) is no earlier than max(2 minutes, 2 buckets) before the window's last
    record. Otherwise it is **resolved**, and `resolved_minutes_before_end` says how long before the
    end it stopped. A window that was cut by a limit can only say "ongoing as far as it reaches".
    Sets `state` ("ongoing" or "resolved") on each entry; entries without times get no state."""
    last = moment(end)
    if last is None:
        return
    bucket = timedelta(minutes=bucket_minutes)
    margin = max(timedelta(minutes=ONGOING_MINUTES), 2 * bucket)
    for entry, stop in [(d, moment(d.get("last_seen"))) for d in diagnostics] + [
        (b, _stop_of(b, bucket)) for b in anomalies
    ]:
        if stop is None:
            continue
        ongoing = stop >= last - margin
        entry["state"] = "ongoing" if ongoing else "resolved"
        if not ongoing:
            entry["resolved_minutes_before_end"] = int((last - stop).total_seconds() // 60)


def _stop_of(burst: dict[str, Any], bucket: timedelta) -> datetime | None:
    """A burst's last moment: the end of its last bucket (just before the next one starts)."""
    start = moment(burst.get("end"))
    return start + bucket - timedelta(milliseconds=1) if start else None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def bursts(points: list[dict[str, Any]], k: float, minimum: int) -> list[dict[str, Any]]:
    """Runs of buckets whose error count is far above the baseline: > median + k * MAD (MAD >= 1)."""
    counts = [float(p["errors"]) for p in points]
    if len(counts) < 3:
        return []
    median = _median(counts)
    mad = max(_median([abs(c - median) for c in counts]), 1.0)
    threshold = median + k * mad
    found: list[dict[str, Any]] = []
    run: list[dict[str, Any]] = []
    for point in [*points, None]:
        if point is not None and point["errors"] > threshold and point["errors"] >= minimum:
            run.append(point)
            continue
        if run:
            peak = max(run, key=lambda p: p["errors"])
            found.append(
                {
                    "kind": "error_burst",
                    "start": run[0]["minute"],
                    "end": run[-1]["minute"],
                    "buckets": len(run),
                    "errors": sum(p["errors"] for p in run),
                    "peak_errors": peak["errors"],
                    "peak_at": peak["minute"],
                    "baseline_errors": median,
                    "threshold": round(threshold, 2),
                    "factor": round(peak["errors"] / max(median, 1.0), 1),
                    "rule": f"errors per bucket > median {median:g} + {k:g} x MAD {mad:g}",
                }
            )
            run = []
    return found


class Thresholds(NamedTuple):
    """The error/warn rates that make a system degraded or critical."""

    error_critical: float = 0.10
    error_degraded: float = 0.02
    warn_degraded: float = 0.10

    def verdict(
        self,
        summary: dict[str, Any],
        diagnostics: list[dict[str, Any]],
        anomalies: list[Any],
        *,
        estimated: bool = False,
    ) -> dict[str, Any]:
        """healthy / degraded / critical (unknown without records), with the rule that decided it.

        With `estimated` (most records carried no level) the verdict says it rests on failure
        words in the messages: `basis` is "failure words" and the rule starts with "estimated"."""
        found = self._verdict(summary, diagnostics, anomalies)
        found.setdefault("ongoing", [])
        found["basis"] = "failure words" if estimated else "levels"
        if estimated and found["status"] != "unknown":
            found["rule"] = (
                f"estimated from failure words in messages (the log has no levels): {found['rule']}"
            )
        return found

    def _verdict(
        self, summary: dict[str, Any], diagnostics: list[dict[str, Any]], anomalies: list[Any]
    ) -> dict[str, Any]:
        reasons: list[tuple[str, str]] = []
        total, err, warn = summary["total"], summary["error_rate"], summary["warn_rate"]
        if total == 0:
            return {
                "status": "unknown",
                "rule": "no log records to judge",
                "reasons": [],
                "thresholds": self._asdict(),
            }
        if err >= self.error_critical:
            reasons.append(("critical", f"error rate {err:.1%} >= {self.error_critical:.0%}"))
        for d in diagnostics:
            if d["severity"] in ("critical", "high"):
                level = "critical" if d["severity"] == "critical" else "degraded"
                reasons.append(
                    (level, f"{d['severity']} diagnostic {d['id']} ({_events(d['count'])}{_state(d)})")
                )
        if err >= self.error_degraded:
            reasons.append(("degraded", f"error rate {err:.1%} >= {self.error_degraded:.0%}"))
        if warn >= self.warn_degraded:
            reasons.append(("degraded", f"warn rate {warn:.1%} >= {self.warn_degraded:.0%}"))
        if anomalies:
            live = [b for b in anomalies if b.get("state") == "ongoing"]
            text = f"{len(anomalies)} error burst(s), the first at {anomalies[0]['start']}"
            if live:
                text = f"an error burst since {live[0]['start']}, ongoing at the window's end"
            reasons.append(("degraded", text))
        reasons.sort(key=lambda r: (r[0] != "critical", "ongoing" not in r[1]))
        if not reasons:
            rule = f"error rate {err:.1%} < {self.error_degraded:.0%}, warn rate {warn:.1%} < {self.warn_degraded:.0%}, no bursts"
            return {"status": "healthy", "rule": rule, "reasons": [], "thresholds": self._asdict()}
        return {
            "status": reasons[0][0],
            "rule": reasons[0][1],
            "reasons": [r for _, r in reasons],
            "ongoing": [
                d["id"]
                for d in diagnostics
                if d["severity"] in ("critical", "high") and d.get("state") == "ongoing"
            ],
            "thresholds": self._asdict(),
        }


def _events(count: int) -> str:
    return f"{count:,} event" + ("" if count == 1 else "s")


def _state(d: dict[str, Any]) -> str:
    if d.get("state") == "ongoing":
        return ", ongoing at the window's end"
    if d.get("state") == "resolved":
        return f", stopped {d.get('resolved_minutes_before_end', 0)} min before the window's end"
    return ""
