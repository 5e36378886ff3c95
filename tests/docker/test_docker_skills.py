"""The bundled skills' scripts run unchanged in the sandbox image (through a docker session)."""

from __future__ import annotations

import json
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


def test_the_sandbox_reads_with_the_fast_engines(docker_image: str) -> None:
    """The image carries msgspec and polars: the analyzer in the sandbox reads JSON Lines with
    msgspec and text logs with polars (forced here for small files), and says so, with the same
    counts as its standard path there."""
    skills = [s for s in cj.load(SKILLS) if s.name == "log-analyzer"]
    with cj.Session.new_docker(skills, image=docker_image, timeout=120) as s:
        write_jsonl(s.working_dir / "logs.jsonl", 3000)
        lines = []
        for rec in json.loads("[" + ",".join((s.working_dir / "logs.jsonl").read_text().splitlines()) + "]"):
            ts = rec["timestamp"]
            lines.append(
                f"{ts[:10]} {ts[11:19]},{ts[20:23]} - {rec['level']:<5} [main:{rec['service']}@1] - {rec['message']}"
            )
        (s.working_dir / "app.log").write_text("\n".join(lines) + "\n")
        analyze = "python3 /mnt/skills/log-analyzer/scripts/analyze.py"
        found = {}
        for name, command in {
            "msgspec": f"LOGANALYZER_JSON=msgspec {analyze} logs.jsonl",
            "json-stdlib": f"LOGANALYZER_JSON=stdlib {analyze} logs.jsonl",
            "polars": f"LOGANALYZER_TEXT=polars {analyze} app.log",
            "text-stdlib": f"LOGANALYZER_TEXT=stdlib {analyze} app.log",
        }.items():
            result = s.run_tool("bash_tool", command=command, description=name)
            assert not result.is_error, result.content
            found[name] = json.loads(result.stdout)
    assert found["msgspec"]["parse"]["engine"] == "msgspec"
    assert found["polars"]["parse"]["engine"] == "polars"
    for fast, standard in (("msgspec", "json-stdlib"), ("polars", "text-stdlib")):
        assert found[fast]["summary"] == found[standard]["summary"], fast
        assert found[fast]["summary"]["total"] == 3000
