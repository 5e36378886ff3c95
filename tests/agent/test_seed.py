"""The seed's own calls against `DemoLogServer()` with its defaults: never "healthy" over an incident.

The seed is the Elixir tutorial this product rebuilds (shared/reference/conjure-monitoring-tutorial.txt):
its native fetcher asks `fetch <url> --limit 100`, its agent `analyze(url, limit: 200)` and
`analyze(url, limit: 500, generate_report: true)`, and `diagnose_and_report(url)`. A new user repeats
exactly these calls; each must find the incident in progress at "now", name it, and state the window
it looked at.
"""

from __future__ import annotations

import html
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2
import pytest

import conjure_nb as cj
from conjure_nb.monitoring._skillcode import skill_code
from conjure_nb.testing._demo_server import DemoLogServer


@pytest.fixture(scope="module")
def api() -> Iterator[DemoLogServer]:
    with DemoLogServer() as server:  # the defaults a new user gets: 2,000 records, the hour up to now
        yield server


def _findings(analysis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in analysis["diagnostics"]}


def _first_page(pdf_path: Path) -> str:
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        text = pdf[0].get_textpage()
        found = " ".join(text.get_text_range().split())
        text.close()
    finally:
        pdf.close()
    return found


@pytest.mark.parametrize("limit", [100, 200, 500])
def test_the_seeds_native_fetch_finds_the_ongoing_incident(
    api: DemoLogServer, limit: int, tmp_path: Path
) -> None:
    with cj.Session.new_native([cj.LogFetcher()], working_dir=tmp_path) as session:
        fetched = session.run_tool(
            "log_fetcher_execute", command=f"fetch {api.logs_url} --limit {limit} --out logs.jsonl"
        )
    assert not fetched.is_error, fetched.content
    facts = json.loads(fetched.content)
    assert facts["truncated"] is True and facts["available"] == 2000 and facts["records"] == limit
    analyze: Any = skill_code("log-analyzer", "analyze")
    parse_logs: Any = skill_code("log-analyzer", "parse_logs")
    analysis = analyze.analyze(parse_logs.LogReader(str(tmp_path / "logs.jsonl"), quiet=True))
    assert analysis["health"]["status"] == "critical"
    pool = _findings(analysis)["connection_pool_exhausted"]
    assert pool["state"] == "ongoing" and "payment-service" in pool["services"]
    assert "connection_pool_exhausted" in analysis["health"]["ongoing"]
    window = analysis["window"]
    assert window["records"] == limit and window["truncated"] is True and window["available"] == 2000
    assert window["end"] == api.store.records[-1]["timestamp"]
    assert window["start"] == api.store.records[-limit]["timestamp"]
    headline = analysis["health"]["headline"]
    assert headline.startswith(f"critical in the newest {limit} of 2,000 records, ")
    assert headline.endswith("; everything the source holds was asked")


def test_the_seeds_quick_analysis_with_limit_200(api: DemoLogServer) -> None:
    with cj.MonitoringAgent() as agent:
        result = agent.analyze(api.logs_url, limit=200, generate_report=False)
    assert result.health_status == "critical"
    assert [d["id"] for d in result.ongoing][:2] == ["connection_pool_exhausted", "upstream_timeout"]
    assert result.window["records"] == 200 and result.window["truncated"] is True
    assert result.window["asked"] == "the last hour" and "since=1h limit=200" in result.window["query"]
    assert result.headline.startswith("critical in the newest 200 of ")
    assert result.headline.endswith("; the last hour was asked")


def test_the_seeds_full_analysis_with_limit_500_states_its_window_everywhere(
    api: DemoLogServer, tmp_path: Path
) -> None:
    lines: list[str] = []
    agent = cj.MonitoringAgent(out_dir=tmp_path / "out", progress=lines.append)
    result = agent.analyze(api.logs_url, limit=500, generate_report=True)
    # the verdict and the incident
    assert result.health_status == "critical"
    assert result.story[0].startswith(
        "ONGOING: Database connection pool exhausted in payment-service, since "
    )
    ongoing = {d["id"]: d for d in result.ongoing}
    assert set(ongoing) >= {"connection_pool_exhausted", "upstream_timeout"}
    assert "api-gateway" in ongoing["upstream_timeout"]["services"]
    # the window, in the result and in analysis.json
    saved = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert next(iter(saved)) == "window" and saved["window"] == result.window
    window = result.window
    assert {"start", "end", "records", "query", "truncated"} <= set(window)
    assert window["records"] == 500 == result.logs_fetched and window["truncated"] is True
    hour = window["available"]
    assert hour is not None and 500 < hour <= 2000
    assert window["end"] == api.store.records[-1]["timestamp"]
    assert window["start"] == api.store.records[-500]["timestamp"]
    assert result.headline == saved["health"]["headline"]
    assert result.headline.startswith(f"critical in the newest 500 of {hour:,} records, ")
    assert result.headline.endswith("UTC; the last hour was asked")
    # the progress lines and the notebook summary
    assert any("fetching the last hour (at most the newest 500 records)" in line for line in lines)
    fetched = next(line for line in lines if line.startswith("fetched "))
    assert fetched.startswith(f"fetched 500 records (of {hour:,} available)")
    assert "query:" not in fetched and "asked: the last hour" in fetched  # the line before named the URL
    assert any(line == f"verdict: {result.headline}" for line in lines)
    shown = result.html()
    assert html.escape(result.headline) in shown and "Ongoing at the window's end" in shown
    assert "cut by the limit" in shown
    # the report's first page and the workbook's Summary
    files = {p.suffix: p for p in result.report_files}
    first = _first_page(files[".pdf"])
    assert result.headline in first and "ONGOING" in first
    assert f"Window analysed: 500 records (of the {hour:,} the source holds)" in first
    assert "A limit cut it short: the newest 500 records were taken of the last hour." in first
    items = {
        r[0]: r[1] for r in openpyxl.load_workbook(files[".xlsx"])["Summary"].iter_rows(values_only=True)
    }
    assert items["Verdict"] == result.headline and items["Records analysed"] == 500
    assert (
        items["Cut by a limit"] == "YES: only the newest 500 records"
        and items["Asked for"] == "the last hour"
    )
    assert items["State"] == "ONGOING: errors continue to the end of the window"


def test_diagnose_and_report_asks_for_the_last_hour(api: DemoLogServer, tmp_path: Path) -> None:
    found = cj.MonitoringAgent(out_dir=tmp_path).diagnose_and_report(api.logs_url)
    assert found["health_status"] == "critical"
    assert "Database connection pool exhausted in payment-service" in found["ongoing"]
    window = found["window"]
    assert window["asked"] == "the last hour" and window["truncated"] is False and window["limit"] is None
    assert window["records"] == found["logs_fetched"] == window["available"] > 1900
    assert found["headline"].startswith("critical in the last hour, ")
    assert found["headline"].endswith(f"UTC ({window['records']:,} records)")
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    states = {k: d.get("state") for k, d in _findings(analysis).items()}
    assert states["connection_pool_exhausted"] == states["upstream_timeout"] == "ongoing"
    assert states["http_5xx"] == states["oom_kill"] == "resolved"  # the earlier incidents are over
    assert sorted(Path(p).suffix for p in found["report_files"]) == [".pdf", ".xlsx"]


def test_ask_by_time_is_the_default_and_a_count_only_caps(api: DemoLogServer) -> None:
    signature = inspect.signature(cj.MonitoringAgent.analyze)
    assert signature.parameters["since"].default == "1h" and signature.parameters["limit"].default is None
    with cj.MonitoringAgent() as agent:
        roomy = agent.analyze(api.logs_url, limit=5000, generate_report=False)
        short = agent.analyze(api.logs_url, since="5m", generate_report=False)
        with pytest.raises(cj.UsageError, match="since='yesterday'"):
            agent.analyze(api.logs_url, since="yesterday")
        with pytest.raises(cj.UsageError, match="limit must be"):
            agent.analyze(api.logs_url, limit=0)
    assert roomy.window["truncated"] is False and roomy.window["records"] == roomy.window["available"]
    assert short.window["asked"] == "the last 5 minutes" and short.window["truncated"] is False
    assert short.window["duration_seconds"] <= 300 and short.health_status == "critical"
