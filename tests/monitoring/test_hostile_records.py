"""One hostile log record cannot blind the analysis (issue 20, item 6): a message holding a lone
surrogate (`"\\ud800"`, valid JSON that no UTF-8 file can hold) is written as U+FFFD and counted,
and the incident around it is still found, by the script, the agent and a fleet run."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from conjure_nb.monitoring._agent import MonitoringAgent
from conjure_nb.testing._demo_server import DemoLogServer

from .conftest import ANALYZER, NOW, run_script

HOSTILE = "payment gateway timeout \ud800 upstream=pg-1"


def _records() -> list[dict[str, Any]]:
    """An hour of mostly quiet logs with an error storm whose messages carry a lone surrogate."""
    start = NOW - timedelta(hours=1)
    rows = []
    for i in range(400):
        storm = 200 <= i < 300
        rows.append(
            {
                "timestamp": (start + timedelta(seconds=9 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "level": "ERROR" if storm else "INFO",
                "service": "payment-service" if storm else "web",
                "message": HOSTILE if storm else f"request {i} ok",
            }
        )
    return rows


def _jsonl(path: Path) -> Path:
    # json.dumps with ensure_ascii spells the surrogate as the escape \ud800: valid JSON, ASCII bytes
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="ascii")
    return path


def _found(analysis: dict[str, Any]) -> None:
    assert analysis["summary"]["total"] == 400
    assert analysis["health"]["status"] == "critical"
    text = json.dumps(analysis, ensure_ascii=False)
    assert "payment gateway timeout \ufffd upstream" in text and "\ud800" not in text


def test_analyze_py_writes_the_analysis_and_counts_what_it_replaced(tmp_path: Path) -> None:
    logs = _jsonl(tmp_path / "logs.jsonl")
    done = run_script(ANALYZER / "analyze.py", str(logs), "-o", str(tmp_path / "analysis.json"))
    assert done.returncode == 0, done.stderr
    analysis = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))
    _found(analysis)
    assert analysis["parse"]["replaced_characters"] >= 1
    assert any("U+FFFD" in note for note in analysis["parse"]["notes"])
    assert "not valid UTF-8" not in done.stderr  # the bytes were valid UTF-8; only the escape was not
    printed = run_script(ANALYZER / "analyze.py", str(logs))  # stdout too
    assert printed.returncode == 0 and "\ufffd" in printed.stdout


def test_the_fetch_script_writes_the_records(tmp_path: Path) -> None:
    with DemoLogServer(records=_records()) as live:
        out = tmp_path / "logs.jsonl"
        done = run_script(ANALYZER / "fetch_logs.py", live.logs_url, "--limit", "400", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").count("\ufffd") == 100
    assert json.loads(Path(f"{out}.fetch.json").read_text())["replaced_characters"] == 100


def test_the_agent_still_finds_the_incident(tmp_path: Path) -> None:
    with DemoLogServer(records=_records()) as live:
        with MonitoringAgent(backend="local", out_dir=tmp_path / "out") as agent:
            result = agent.analyze(live.logs_url, since=None, limit=1000)  # data of 2026-03-14
    assert result.logs_fetched == 400 and result.health_status == "critical"
    _found(json.loads((tmp_path / "out" / "analysis.json").read_text(encoding="utf-8")))
    assert {p.suffix for p in result.report_files} == {".xlsx", ".pdf"}


def test_a_fleet_run_keeps_the_hostile_source(tmp_path: Path) -> None:
    logs = _jsonl(tmp_path / "hostile.jsonl")
    with DemoLogServer(records=_records()) as live:
        url = live.logs_url
        with MonitoringAgent(backend="local", out_dir=tmp_path / "out") as agent:
            fleet = agent.analyze_many([str(logs), url], since=None, limit=1000)
    assert fleet.failures == {}
    assert set(fleet.sources) == {str(logs), url}
    for report in fleet.sources.values():
        assert report["health"]["status"] == "critical"
    merged = json.loads((tmp_path / "out" / "analysis.json").read_text(encoding="utf-8"))
    assert merged["summary"]["total"] == 800 and "\ufffd" in json.dumps(merged, ensure_ascii=False)
