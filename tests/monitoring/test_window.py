"""The analysed window: its words, its exact merge, the ongoing rule's boundary, secrets kept out."""

from __future__ import annotations

from typing import Any

from .conftest import load_script

window: Any = load_script("window")
diagnose: Any = load_script("diagnose")
fetch_logs: Any = load_script("fetch_logs")


def _w(start: str, end: str, records: int, **more: Any) -> dict[str, Any]:
    return {"start": start, "end": end, "records": records, "query": "q", "truncated": False, **more}


def test_windows_merge_exactly() -> None:
    a = _w("2026-03-14T09:10:00.000Z", "2026-03-14T09:50:00.000Z", 300, available=900, asked="the last hour")
    b = _w("2026-03-14T09:00:00.000Z", "2026-03-14T09:40:00.000Z", 200, available=200, asked="the last hour")
    c = _w("2026-03-14T09:20:00.000Z", "2026-03-14T10:00:00.000Z", 50, truncated=True, available=None)
    two = window.merge([a, b])
    assert (two["start"], two["end"], two["records"]) == (
        "2026-03-14T09:00:00.000Z",
        "2026-03-14T09:50:00.000Z",
        500,
    )
    assert two["truncated"] is False and two["available"] == 1100 and two["duration_seconds"] == 3000
    three = window.merge([a, b, c])
    assert three["end"] == "2026-03-14T10:00:00.000Z" and three["records"] == 550
    assert three["truncated"] is True and three["available"] is None  # one source did not say


def test_ongoing_means_errors_up_to_two_minutes_before_the_window_ends() -> None:
    end = "2026-03-14T10:00:00.000Z"
    found = [
        {"id": "at_the_edge", "last_seen": "2026-03-14T09:58:00.000Z"},
        {"id": "just_before", "last_seen": "2026-03-14T09:57:59.999Z"},
        {"id": "long_ago", "last_seen": "2026-03-14T09:30:00.000Z"},
        {"id": "no_time", "last_seen": None},
    ]
    bursts = [{"end": "2026-03-14T09:59Z"}, {"end": "2026-03-14T09:40Z"}]
    diagnose.mark_ongoing(found, bursts, end, 1)
    assert [d.get("state") for d in found] == ["ongoing", "resolved", "resolved", None]
    assert found[2]["resolved_minutes_before_end"] == 30
    assert [b["state"] for b in bursts] == ["ongoing", "resolved"]
    wide = [{"id": "x", "last_seen": "2026-03-14T09:52:00.000Z"}]
    diagnose.mark_ongoing(wide, [], end, 5)  # 5-minute buckets: two of them is the margin
    assert wide[0]["state"] == "ongoing"


def test_the_verdict_leads_with_an_ongoing_finding() -> None:
    summary = {"total": 1000, "error_rate": 0.05, "warn_rate": 0.0}
    findings = [
        {
            "id": "oom_kill",
            "severity": "critical",
            "count": 1,
            "state": "resolved",
            "resolved_minutes_before_end": 20,
        },
        {"id": "connection_pool_exhausted", "severity": "critical", "count": 40, "state": "ongoing"},
    ]
    verdict = diagnose.Thresholds().verdict(summary, findings, [])
    assert (
        verdict["rule"]
        == "critical diagnostic connection_pool_exhausted (40 events, ongoing at the window's end)"
    )
    assert (
        "critical diagnostic oom_kill (1 event, stopped 20 min before the window's end)" in verdict["reasons"]
    )
    assert verdict["ongoing"] == ["connection_pool_exhausted"]


def test_headlines_say_what_was_looked_at() -> None:
    cut = _w("2026-03-14T09:54:10.000Z", "2026-03-14T10:00:00.000Z", 200, truncated=True, available=2000)
    cut |= {"asked": "the last hour", "order": "newest first"}
    assert window.headline("healthy", cut) == (
        "healthy in the newest 200 of 2,000 records, 09:54–10:00 UTC; the last hour was asked"
    )
    whole = _w("2026-03-14T09:00:00.000Z", "2026-03-14T09:59:00.000Z", 1980, asked="the last hour")
    assert window.headline("critical", whole) == "critical in the last hour, 09:00–09:59 UTC (1,980 records)"
    file = _w("2026-03-13T23:00:00.000Z", "2026-03-14T01:00:00.000Z", 10, asked="the whole input")
    assert window.headline("degraded", file) == "degraded in 10 records, 13 Mar 23:00–14 Mar 01:00 UTC"
    empty = _w("", "", 0, asked="the last 15 minutes")
    assert (
        window.headline("unknown", empty)
        == "unknown: no records in the window (the last 15 minutes was asked)"
    )
    assert (
        fetch_logs.asked("1h", None) == "the last hour"
        and fetch_logs.asked("90m", None) == "the last 90 minutes"
    )
    assert fetch_logs.asked(None, None) == "everything the source holds"


def test_the_query_shown_has_no_secrets() -> None:
    url = "https://svc:hunter2@logs.example.com/api/logs?api_key=abc&service=pay&access_token=xyz"
    safe = fetch_logs.redact_url(url)
    assert "hunter2" not in safe and "abc" not in safe and "xyz" not in safe
    assert safe == "https://***@logs.example.com/api/logs?api_key=***&service=pay&access_token=***"
    query = fetch_logs.Query(url=url, since="1h", limit=500, service="pay")
    text = fetch_logs.query_text(query.describe())
    assert text == (
        "https://***@logs.example.com/api/logs?api_key=***&service=pay&access_token=*** service=pay since=1h "
        "limit=500 newest first"
    )
