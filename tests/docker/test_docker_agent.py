"""The monitoring agent with its skills in the docker sandbox (the fetch stays native, on the host)."""

from __future__ import annotations

from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.testing._demo_server import DemoLogServer

pytestmark = pytest.mark.docker
S = cj.ScriptedModel


def test_pipeline_on_docker(docker_image: str, tmp_path: Path) -> None:
    import openpyxl

    with DemoLogServer(records=800, seed=3) as api:
        agent = cj.MonitoringAgent(backend="docker", out_dir=tmp_path, image=docker_image)
        result = agent.analyze(api.logs_url, since=None, limit=800)  # all of it, not the last hour
    assert result.backend == "docker" and result.mode == "pipeline"
    assert result.logs_fetched == 800 and result.health_status in ("healthy", "degraded", "critical")
    names = sorted(p.name for p in result.report_files)
    assert names == ["incident-report.pdf", "incident-report.xlsx"]
    assert "Timeline" in openpyxl.load_workbook(tmp_path / "incident-report.xlsx").sheetnames


def test_agent_mode_on_docker_sees_container_paths(docker_image: str, tmp_path: Path) -> None:
    with DemoLogServer(records=300, seed=5) as api:
        model = S(
            [
                S.reply(
                    S.tool_use(
                        "log_fetcher_execute", command=f"fetch {api.logs_url} --limit 300 --out logs.jsonl"
                    )
                ),
                "Fetched.",
                S.reply(S.tool_use("view", path="/mnt/skills/log-analyzer/SKILL.md")),
                S.reply(
                    S.tool_use(
                        "bash_tool",
                        command="python3 /mnt/skills/log-analyzer/scripts/analyze.py logs.jsonl -o analysis.json",
                        description="analyse in the sandbox",
                    )
                ),
                "Analysed.",
            ]
        )
        agent = cj.MonitoringAgent(model=model, backend="docker", out_dir=tmp_path, image=docker_image)
        result = agent.analyze(api.logs_url, limit=300, generate_report=False)
    assert result.logs_fetched == 300 and result.analysis["summary"]["total"] == 300
    system = model.requests[2].system or ""
    assert "/mnt/skills/log-analyzer/SKILL.md" in system and str(Path.cwd()) not in system
