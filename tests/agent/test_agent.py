"""The monitoring agent end to end on the embedded demo log API, in both modes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.monitoring._agent import AgentError, default_skills_dir
from conjure_nb.testing._demo_server import DemoLogServer

S = cj.ScriptedModel
SKILLS = default_skills_dir()


@pytest.fixture(scope="module")
def api() -> Iterator[DemoLogServer]:
    with DemoLogServer(records=1500, seed=7) as server:
        yield server


def check_reports(files: list[Path]) -> None:
    import openpyxl
    import pypdfium2

    by_suffix = {p.suffix: p for p in files}
    assert set(by_suffix) == {".xlsx", ".pdf"}
    book = openpyxl.load_workbook(by_suffix[".xlsx"])
    assert {"Summary", "Timeline", "Evidence", "Action items"} <= set(book.sheetnames)
    pdf = pypdfium2.PdfDocument(str(by_suffix[".pdf"]))
    try:
        assert len(pdf) >= 2
    finally:
        pdf.close()


def test_pipeline_mode_writes_analysis_and_reports(api: DemoLogServer, tmp_path: Path) -> None:
    lines: list[str] = []
    agent = cj.MonitoringAgent(out_dir=tmp_path / "out", progress=lines.append)
    assert agent.mode == "pipeline"
    result = agent.analyze(api.logs_url, limit=1200)
    assert result.mode == "pipeline" and result.backend == "local"
    assert result.logs_fetched == 1200
    analysis = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert analysis["summary"]["total"] == 1200
    assert result.health_status == analysis["health"]["status"] != "unknown"
    assert result.health_rule
    check_reports(result.report_files)
    assert all(p.parent == tmp_path / "out" for p in result.report_files)
    assert any("[1/3]" in line for line in lines) and any("pipeline" in line for line in lines)
    assert set(result.timings) == {"fetch", "analyze", "report"}
    assert agent.metrics["tool_calls"] == 3 and agent.metrics["tool_errors"] == 0


def test_agent_mode_with_a_scripted_model(api: DemoLogServer, tmp_path: Path) -> None:
    analyzer = SKILLS / "log-analyzer"
    reporter = SKILLS / "incident-report"
    model = S(
        [
            S.reply(
                S.tool_use(
                    "log_fetcher_execute", command=f"fetch {api.logs_url} --limit 300 --out logs.jsonl"
                )
            ),
            "I fetched 300 records into logs.jsonl.",
            S.reply("Reading the skill first.", S.tool_use("view", path=str(analyzer / "SKILL.md"))),
            S.reply(
                S.tool_use(
                    "bash_tool",
                    command=f"python3 {analyzer}/scripts/analyze.py logs.jsonl -o analysis.json",
                    description="analyse",
                )
            ),
            "Health is in analysis.json.",
            S.reply(
                S.tool_use(
                    "bash_tool",
                    command=f"python3 {reporter}/scripts/make_report.py analysis.json --out-dir reports --format xlsx,pdf",
                    description="report",
                )
            ),
            "Wrote reports/incident-report.xlsx and reports/incident-report.pdf.",
        ]
    )
    agent = cj.MonitoringAgent(model=model, out_dir=tmp_path / "out")
    assert agent.mode == "agent"
    result = agent.diagnose_and_report(api.logs_url, limit=300)
    assert result["logs_fetched"] == 300
    assert result["health_status"] in ("healthy", "degraded", "critical")
    check_reports([Path(p) for p in result["report_files"]])
    assert model.remaining == 0
    assert result["fake_model"] == "scripted model, offline", "the stand-in that drove the steps is named"
    # the analysis session's prompt lists the skills where the executor sees them
    assert str(analyzer / "SKILL.md") in (model.requests[2].system or "")
    assert "<available_native_skills>" in (model.requests[0].system or "")


def test_analysis_only(api: DemoLogServer) -> None:
    agent = cj.MonitoringAgent()
    result = agent.analyze(api.logs_url, limit=200, generate_report=False)
    try:
        assert result.report_files == [] and set(result.timings) == {"fetch", "analyze"}
        assert result.fake_model is None and "conjure-fake-model" not in result.html(), "no model at all"
        assert result.working_dir is not None and (result.working_dir / "analysis.json").is_file()
    finally:
        import shutil

        assert result.working_dir is not None
        shutil.rmtree(result.working_dir)


def test_unreachable_api_is_a_clear_agent_error(tmp_path: Path) -> None:
    fast = cj.LogFetcher(backoff=0.005)  # it still retries, without 3.5 s of waiting
    agent = cj.MonitoringAgent(out_dir=tmp_path, fetcher=fast)
    with pytest.raises(AgentError, match="fetch step failed") as info:
        agent.analyze("http://127.0.0.1:9/api/logs", limit=10)
    assert "127.0.0.1:9" in str(info.value)


def test_agent_mode_when_the_model_skips_a_step(api: DemoLogServer, tmp_path: Path) -> None:
    model = S(["I would rather not fetch anything."])
    with pytest.raises(AgentError, match=r"did not write logs\.jsonl"):
        cj.MonitoringAgent(model=model, out_dir=tmp_path).analyze(api.logs_url, limit=5)


def test_mode_and_backend_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(cj.UsageError, match="ANTHROPIC_API_KEY"):
        cj.MonitoringAgent(mode="agent")
    with pytest.raises(cj.UsageError, match="backend"):
        cj.MonitoringAgent(backend="cloud")
    assert cj.MonitoringAgent(model=S([])).mode == "agent"
    assert cj.MonitoringAgent(model=S([]), mode="pipeline").mode == "pipeline"


def test_main_job_cli(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env: dict[str, Any] = {k: v for k, v in __import__("os").environ.items() if k != "ANTHROPIC_API_KEY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conjure_nb",
            "demo",
            "run",
            "--out",
            str(out),
            "--backend",
            "local",
            "--records",
            "900",
            "--limit",
            "900",
            "--now",
            "2026-03-14T10:00:00Z",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Health: CRITICAL" in proc.stdout and "Mode: pipeline" in proc.stdout
    # the console tells the same story as the pdf's first page: its title and summary paragraph
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(out / "incident-report.pdf"))
    try:
        page = pdf[0].get_textpage()
        first_page = " ".join(page.get_text_range().split())
        page.close()
    finally:
        pdf.close()
    console = " ".join(proc.stdout.split())
    title = console.split(" Health: ")[0]
    assert title.startswith("ONGOING: Database connection pool exhausted in payment-service")
    assert title in first_page
    # the verdict states its window: the hour before the data's own "now" (--now), all 900 records of it
    assert (
        "Health: CRITICAL: critical in the records since 2026-03-14T09:00:00.000Z, 09:00–09:59 UTC" in console
    )
    story = console[console.index("On 14 March 2026") :][:250]
    assert story in first_page
    assert "pipeline mode" in proc.stderr and "[3/3]" in proc.stderr
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "analysis.json",
        "incident-report.pdf",
        "incident-report.xlsx",
    ]


def test_hot_reloaded_skills(tmp_path: Path) -> None:
    import shutil
    import time

    skills = tmp_path / "skills"
    shutil.copytree(SKILLS / "echo", skills / "echo")
    with cj.MonitoringAgent(skills=[skills], watch=True) as agent:
        assert [s.name for s in agent.skills] == ["echo"]
        shutil.copytree(SKILLS / "log-analyzer", skills / "log-analyzer")
        for _ in range(300):  # bounded wait for the watcher; not a timing assertion
            if agent.registry.get("log-analyzer") is not None:
                break
            time.sleep(0.05)
        assert agent.skill("log-analyzer").name == "log-analyzer"


# --- issue 8 items 2, 4 and 10 -------------------------------------------------------------------------


def test_runs_without_out_dir_leave_no_temp_dir(api: DemoLogServer, tmp_path: Path) -> None:
    """Kept until close() (or the with block ends); and a script that never closes leaves nothing at exit."""
    import os

    with cj.MonitoringAgent() as agent:
        result = agent.analyze(api.logs_url, limit=200)
        workdir = result.working_dir
        assert workdir is not None and (workdir / "analysis.json").is_file()
        assert all(p.is_file() for p in result.report_files)
    assert not workdir.exists()

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    script = (
        "import conjure_nb as cj\n"
        f"r = cj.MonitoringAgent().analyze({api.logs_url!r}, limit=100, generate_report=False)\n"
        "print(r.working_dir)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(tmp)) and list(tmp.iterdir()) == []


def test_a_closed_agent_says_so(api: DemoLogServer) -> None:
    agent = cj.MonitoringAgent()
    agent.close()
    with pytest.raises(cj.UsageError, match="closed"):
        agent.analyze(api.logs_url, limit=10)


def test_metrics_count_only_the_agents_own_sessions(api: DemoLogServer, tmp_path: Path) -> None:
    """Two agents at once, and a stranger's session running tools meanwhile: each counts its own 3."""
    import threading

    agents = [cj.MonitoringAgent(out_dir=tmp_path / f"out{i}") for i in range(2)]
    results: list[Any] = [None, None]
    stop = threading.Event()

    def stranger() -> None:
        with cj.Session.new_local([]) as other:
            while not stop.is_set():
                other.run_tool("bash_tool", command="true", description="someone else's work")

    def run(i: int) -> None:
        results[i] = agents[i].analyze(api.logs_url, limit=300)

    noise = threading.Thread(target=stranger)
    noise.start()
    try:
        runs = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
    finally:
        stop.set()
        noise.join()
    for agent, result in zip(agents, results):
        assert agent.metrics["tool_calls"] == 3 and agent.metrics["tool_errors"] == 0
        assert result.metrics["tool_calls"] == 3 and result.metrics["tool_ms"] > 0


def test_agent_mode_says_when_the_model_skips_the_report(api: DemoLogServer, tmp_path: Path) -> None:
    analyzer = SKILLS / "log-analyzer"
    model = S(
        [
            S.reply(
                S.tool_use(
                    "log_fetcher_execute", command=f"fetch {api.logs_url} --limit 100 --out logs.jsonl"
                )
            ),
            "Fetched.",
            S.reply(
                S.tool_use(
                    "bash_tool",
                    command=f"python3 {analyzer}/scripts/analyze.py logs.jsonl -o analysis.json",
                    description="analyse",
                )
            ),
            "Analysed.",
            "I think a report is not needed; everything is fine.",
        ]
    )
    with pytest.raises(AgentError, match="the report step wrote no report") as info:
        cj.MonitoringAgent(model=model, out_dir=tmp_path / "out").analyze(api.logs_url, limit=100)
    assert "a report is not needed" in str(info.value)
    assert (tmp_path / "out" / "analysis.json").is_file()  # nothing lost


KERNEL_HYGIENE = r"""
import json, sys
before_path, before = list(sys.path), set(sys.modules)
import conjure_nb as cj
from conjure_nb.testing._demo_server import DemoLogServer

with DemoLogServer(records=400, seed=3) as api, cj.MonitoringAgent(backend="local", progress=lambda _: None) as agent:
    result = agent.analyze(api.logs_url, limit=300)
    many = agent.analyze_many([api.logs_url + "?limit=200"], generate_report=False)
new = sorted(n for n in set(sys.modules) - before if "." not in n)
ours = sorted(n for n in sys.modules if n.startswith("conjure_nb._skills."))
print(json.dumps({"path_same": sys.path == before_path, "new": new, "ours": ours,
                  "status": result.health_status, "fleet": many.analysis["summary"]["total"]}))
"""


def test_an_agent_run_leaves_the_kernel_as_it_was(tmp_path: Path) -> None:
    """No sys.path edit and no generic top-level module (analysis, partial, ...) after analyze/analyze_many."""
    done = subprocess.run(
        [sys.executable, "-c", KERNEL_HYGIENE], capture_output=True, text=True, timeout=240, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["path_same"] and found["status"] != "unknown" and found["fleet"] > 0
    skill_modules = {p.stem for p in (SKILLS / "log-analyzer" / "scripts").rglob("*.py")}
    skill_modules |= {p.stem for p in (SKILLS / "incident-report" / "scripts").rglob("*.py")}
    skill_modules |= {"loganalyzer", "incident_report"}
    assert not skill_modules & set(found["new"]), found["new"]
    assert "conjure_nb._skills.loganalyzer.analyze" in found["ours"]


def test_a_run_without_a_report_leaves_no_older_report_beside_the_new_analysis(
    api: DemoLogServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    agent = cj.MonitoringAgent(out_dir=out)
    first = agent.analyze(api.logs_url, limit=200)
    assert sorted(p.suffix for p in first.report_files) == [".pdf", ".xlsx"]
    second = agent.analyze(api.logs_url, limit=100, generate_report=False)
    assert second.report_files == []
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "analysis.json",
        "notes.txt",
    ]
    assert json.loads((out / "analysis.json").read_text())["summary"]["total"] == 100
    assert (out / "notes.txt").read_text() == "mine"  # only the agent's own files are removed
