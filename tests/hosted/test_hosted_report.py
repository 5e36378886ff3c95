"""The monitoring agent's report step on Anthropic's hosted xlsx/pdf skills (loopback fake API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.monitoring._agent import AgentError
from conjure_nb.monitoring._hosted_report import AnthropicReportWriter
from conjure_nb.testing import FakeAnthropicServer
from conjure_nb.testing._demo_server import DemoLogServer

from .test_hosted_session import bash, model_for, ran


@pytest.fixture(scope="module")
def api() -> Iterator[DemoLogServer]:
    with DemoLogServer(records=400, seed=3) as server:
        yield server


def test_the_hosted_skills_write_the_report(
    api: DemoLogServer, server: FakeAnthropicServer, tmp_path: Path
) -> None:
    xlsx = server.add_file(
        "incident-report.xlsx",
        b"PK xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    pdf = server.add_file("incident-report.pdf", b"%PDF-1.7", "application/pdf")
    server.replies.append(
        {
            "content": [
                *bash("srvtoolu_1", "python build.py", ran(files=(xlsx, pdf))),
                {"type": "text", "text": "Wrote both."},
            ]
        }
    )
    lines: list[str] = []
    agent = cj.MonitoringAgent(
        model=model_for(server),
        mode="pipeline",
        report_backend="anthropic",
        out_dir=tmp_path / "out",
        progress=lines.append,
    )
    result = agent.analyze(api.logs_url, limit=300)
    assert [p.name for p in result.report_files] == ["incident-report.pdf", "incident-report.xlsx"]
    assert (tmp_path / "out" / "incident-report.pdf").read_bytes() == b"%PDF-1.7"
    (body,) = [r.body for r in server.requests_to("POST", "/v1/messages")]
    assert body is not None
    assert [s["skill_id"] for s in body["container"]["skills"]] == ["xlsx", "pdf"]
    prompt = body["messages"][0]["content"][0]["text"]
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert json.dumps(analysis["health"]["status"]) in prompt and ".xlsx" in prompt and ".pdf" in prompt
    assert not any("ANTHROPIC_API_KEY" in line for line in lines)


def test_without_a_key_the_local_skill_writes_it_and_says_so(
    api: DemoLogServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    lines: list[str] = []
    agent = cj.MonitoringAgent(report_backend="anthropic", out_dir=tmp_path / "out", progress=lines.append)
    result = agent.analyze(api.logs_url, limit=300)
    assert sorted(p.suffix for p in result.report_files) == [".pdf", ".xlsx"]
    assert any("no ANTHROPIC_API_KEY" in line and "local incident-report" in line for line in lines)
    assert isinstance(agent.report_writer, AnthropicReportWriter) and agent.report_writer.note


def test_a_hosted_run_that_makes_no_file_is_an_agent_error(
    api: DemoLogServer, server: FakeAnthropicServer, tmp_path: Path
) -> None:
    server.replies.append({"content": "I could not make the files."})
    agent = cj.MonitoringAgent(
        mode="pipeline", report_writer=AnthropicReportWriter(model_for(server)), out_dir=tmp_path / "out"
    )
    with pytest.raises(AgentError, match="could not make the files"):
        agent.analyze(api.logs_url, limit=100)


def test_an_unknown_report_backend_is_refused() -> None:
    with pytest.raises(cj.UsageError, match="report_backend"):
        cj.MonitoringAgent(report_backend="cloud")
