"""The dashboard as the monitoring control room, headless: a real demo log API, a real pipeline-mode
MonitoringAgent on the local backend, the real widgets; only the chat's model is scripted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.notebook.panels import dashboard
from conjure_nb.notebook.panels.dashboard import MonitorPanel
from conjure_nb.notebook.panels.dashboard._state import incidents, series_by_service, snapshot

from .conftest import S

MakeSession = Callable[..., cj.Session]


@pytest.fixture
def demo_api() -> Iterator[cj.DemoLogServer]:
    server = cj.DemoLogServer(records=600, seed=42).start()  # the hour up to now: the dashboard asks for it
    try:
        yield server
    finally:
        server.stop()


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("conjure-dashboard")}


def test_dashboard_shows_a_run_refreshes_and_stops_its_threads(
    demo_api: cj.DemoLogServer, local_session: MakeSession
) -> None:
    session = local_session(S(["(scripted reply) The status is in the tiles."]))
    board = dashboard(session, skills=[], sources=demo_api.logs_url, limit=600, interval=300)
    try:
        monitor = board.monitor
        assert monitor is not None and monitor.wait(180), "the first run finishes"
        assert monitor.errors == []
        snap = monitor.snapshot
        assert snap is not None and snap.records > 0
        # every record of the last hour (the dashboard's ask), none cut by the limit
        assert snap.records == snap.window["records"] == snap.window["available"] <= 600
        assert snap.window["truncated"] is False and snap.window["asked"] == "the last hour"
        assert snap.status in monitor.tiles.value and f"{snap.error_rate:.1%}" in monitor.tiles.value
        assert "degraded ≥ 2%" in monitor.tiles.value and "critical ≥ 10%" in monitor.tiles.value
        assert "records span" in monitor.tiles.value or "window analysed" in monitor.tiles.value
        assert len(snap.series) > 1 and "all services" not in snap.series, "one line per service"
        assert bytes(monitor.chart.value).startswith(b"\x89PNG")
        assert "<table" in monitor.signatures.value
        assert monitor.tabs.titles == ("Overview", "Report", "Files", "Skills")
        report = [o["data"]["text/html"] for o in monitor.report.outputs]
        assert any("incident-report.pdf" in r and "<img" in r for r in report), "the pdf's first page"
        assert any("incident-report.xlsx" in r and "download" in r for r in report), "the xlsx, downloadable"
        first = monitor.last_run
        assert "run 1" in monitor.last_run_label.value
        assert board.refresh() and monitor.wait(180)
        assert monitor.runs == 2 and monitor.last_run is not None and first is not None
        assert monitor.last_run > first and "run 2" in monitor.last_run_label.value
        bundle = board._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        static = bundle["text/html"]
        assert "data:image/png;base64," in static and "need a live kernel" in static
        assert _threads(), "auto-refresh sleeps in its own thread"
    finally:
        board.close()
    assert not _threads(), "closing the dashboard ends its refresh and auto-refresh threads"


def test_dashboard_of_a_fleet_lists_its_sources(demo_api: cj.DemoLogServer, tmp_path: Path) -> None:
    services = ["payment-service", "order-service"]
    sources = [f"{demo_api.logs_url}?service={s}" for s in services] + [str(tmp_path / "missing.log")]
    with cj.MonitoringAgent(backend="local", mode="pipeline") as agent:
        fleet = agent.analyze_many(sources, limit=600, generate_report=False)
        panel = MonitorPanel(None, fleet)
        try:
            assert panel.tabs.titles == ("Overview", "Report", "Sources")
            assert sorted(panel.snapshot.series) == sorted(services) if panel.snapshot else False
            for name in services:
                assert name in panel.sources.value
            assert "missing.log" in panel.sources.value and "failed" in panel.sources.value
            assert panel.refresh_button.disabled, "a fixed view has nothing to refresh with"
        finally:
            panel.close()


HOSTILE = {
    "summary": {"total": 10, "errors": 4, "warnings": 1, "error_rate": 0.4, "levels": {"ERROR": 4}},
    "health": {
        "status": "critical",
        "rule": "<img src=x onerror=alert(1)>",
        "thresholds": {"error_critical": 0.1, "error_degraded": 0.02},
    },
    "top_errors": [{"signature": "<script>alert(1)</script>", "count": 4, "services": {"<b>svc</b>": 4}}],
    "timeline": {
        "bucket_minutes": 1,
        "points": [
            {"minute": "2026-03-14T09:00Z", "errors": 0},
            {"minute": "2026-03-14T09:01Z", "errors": 4},
        ],
    },
    "anomalies": [
        {"start": "2026-03-14T09:01Z", "end": "2026-03-14T09:01Z", "errors": 4, "rule": "<i>x</i>"}
    ],
}


def test_what_a_log_source_wrote_is_escaped_everywhere() -> None:
    panel = MonitorPanel(None, HOSTILE)
    try:
        shown = panel.tiles.value + panel.signatures.value + panel.incidents.value
        for raw in ("<script>", "<img src=x", "<b>svc</b>", "<i>x</i>"):
            assert raw not in shown
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel.signatures.value
    finally:
        panel.close()


def test_incidents_are_ongoing_when_they_last_to_the_end_of_the_window() -> None:
    found = incidents(HOSTILE)
    assert [i["status"] for i in found] == ["ongoing"]
    stated = {**HOSTILE, "incidents": [{"start": "a", "end": "b", "status": "resolved", "title": "t"}]}
    assert [i["status"] for i in incidents(stated)] == ["resolved"], "the analysis's own list wins"
    assert snapshot(HOSTILE).ongoing == 1


def test_a_diagnosed_problem_is_an_incident_when_no_burst_stands_out() -> None:
    quiet = {
        "anomalies": [],
        "diagnostics": [
            {"id": "pool", "severity": "critical", "title": "Pool exhausted", "count": 7,
             "first_seen": "2026-03-14T09:58:00Z", "last_seen": "2026-03-14T09:59:50Z", "state": "ongoing"},
            {"id": "oom", "severity": "high", "title": "OOM kill", "count": 2,
             "first_seen": "2026-03-14T09:50:00Z", "last_seen": "2026-03-14T09:51:00Z", "state": "resolved"},
            {"id": "rate", "severity": "low", "title": "Rate limiting", "count": 3,
             "first_seen": "2026-03-14T09:40:00Z", "last_seen": "2026-03-14T09:59:00Z", "state": "ongoing"},
        ],
    }  # fmt: skip
    found = incidents(quiet)
    assert [(i["what"], i["status"], i["errors"]) for i in found] == [
        ("OOM kill", "resolved", 2),
        ("Pool exhausted", "ongoing", 7),
    ]
    assert (snapshot(quiet).ongoing, snapshot(quiet).resolved) == (1, 1)
    assert incidents({"anomalies": [], "diagnostics": []}) == []


def test_series_by_service_fills_quiet_buckets_and_skips_bad_lines(tmp_path: Path) -> None:
    logs = tmp_path / "logs.jsonl"
    logs.write_text(
        '{"timestamp": "2026-03-14T09:00:10Z", "level": "ERROR", "service": "a"}\n'
        "not json\n"
        '{"timestamp": "2026-03-14T09:03:10Z", "level": "error", "service": "b"}\n'
        '{"timestamp": "2026-03-14T09:03:20Z", "level": "INFO", "service": "a"}\n'
    )
    series = series_by_service(logs, 1)
    assert series["a"] == [("2026-03-14T09:00", 1), ("2026-03-14T09:01", 0), ("2026-03-14T09:02", 0),
                           ("2026-03-14T09:03", 0)]  # fmt: skip
    assert [n for _, n in series["b"]] == [0, 0, 0, 1]
    assert series_by_service(tmp_path / "none.jsonl", 1) == {}
