"""The bundled skills' scripts run unchanged in the sandbox image (through a docker session)."""

from __future__ import annotations

from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.testing._demo_generator import write_jsonl

pytestmark = pytest.mark.docker

SKILLS = Path(__file__).resolve().parents[2] / "skills"


def test_log_analysis_and_incident_report_in_the_sandbox(docker_image: str) -> None:
    skills = [s for s in cj.load(SKILLS) if s.name in ("log-analyzer", "incident-report")]
    assert len(skills) == 2
    with cj.Session.new_docker(skills, image=docker_image, timeout=120) as s:
        write_jsonl(s.working_dir / "logs.jsonl", 2000)
        steps = [
            "python3 /mnt/skills/log-analyzer/scripts/analyze.py logs.jsonl > analysis.json",
            "python3 /mnt/skills/incident-report/scripts/make_report.py analysis.json --out-dir reports"
            " --format xlsx,pdf --title 'Sandbox check'",
        ]
        for command in steps:
            result = s.run_tool("bash_tool", command=command, description="skill script")
            assert not result.is_error, result.content
        made = {f.filename for f in s.created_files}
    assert "analysis.json" in made
    assert {Path(name).suffix for name in made if name.startswith("reports")} == {".xlsx", ".pdf"}
