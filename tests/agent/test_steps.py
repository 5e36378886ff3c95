"""The monitoring agent's steps as objects: the one chosen per keyword, and a user's own in each place."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.monitoring._agent import AgentError, default_skills_dir
from conjure_nb.monitoring._hosted_report import AnthropicReportWriter
from conjure_nb.monitoring._steps import (
    LocalReportWriter,
    ModelAnalysis,
    ModelFetch,
    ModelReport,
    NativeFetch,
    ScriptAnalysis,
)
from conjure_nb.notebook.render import to_html
from conjure_nb.testing._demo_server import DemoLogServer

S = cj.ScriptedModel
SKILLS = default_skills_dir()


@pytest.fixture(scope="module")
def api() -> Iterator[DemoLogServer]:
    with DemoLogServer(records=600, seed=11) as server:
        yield server


# -- the step chosen per keyword ------------------------------------------------------------------------


def _kinds(agent: cj.MonitoringAgent) -> tuple[type, ...]:
    steps = agent.steps
    return type(steps.fetch), type(steps.analysis), type(steps.report), type(steps.fleet_report)


def test_the_steps_follow_mode_and_report_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    pipeline = (NativeFetch, ScriptAnalysis, LocalReportWriter, LocalReportWriter)
    assert _kinds(cj.MonitoringAgent()) == pipeline
    assert _kinds(cj.MonitoringAgent(model=S([]), mode="pipeline")) == pipeline
    # agent mode: the model drives each step of a run; a fleet's one report is the local skill's
    model = S([])
    agent = cj.MonitoringAgent(model=model)
    assert _kinds(agent) == (ModelFetch, ModelAnalysis, ModelReport, LocalReportWriter)
    assert [s.model for s in (agent.steps.fetch, agent.steps.analysis, agent.steps.report)] == [model] * 3
    for mode in ("pipeline", "agent"):
        hosted = cj.MonitoringAgent(model=S([]), mode=mode, report_backend="anthropic")
        assert isinstance(hosted.steps.report, AnthropicReportWriter)
        assert hosted.steps.fleet_report is hosted.steps.report is hosted.report_writer


def test_a_step_passed_in_replaces_only_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    mine = _Markdown()
    agent = cj.MonitoringAgent(model=S([]), report_step=mine)
    assert agent.steps.report is agent.steps.fleet_report is mine  # the agent's mode does not override it
    assert isinstance(agent.steps.fetch, ModelFetch) and isinstance(agent.steps.analysis, ModelAnalysis)
    older = cj.MonitoringAgent(report_writer=mine)  # the keyword's earlier name still works
    assert older.report_writer is older.steps.report is mine
    with pytest.raises(cj.UsageError, match="not both"):
        cj.MonitoringAgent(report_writer=mine, report_step=mine)


@pytest.mark.parametrize(
    ("keyword", "method"),
    [("fetch_step", "fetch"), ("analysis_step", "analyse"), ("report_step", "write")],
)
def test_an_object_that_is_not_a_step_is_refused_by_name(keyword: str, method: str) -> None:
    with pytest.raises(
        cj.UsageError, match=rf"{keyword} must be a \w+Step: an object with a method {method}\("
    ):
        cj.MonitoringAgent(**{keyword: object()})


# -- a user's own steps ----------------------------------------------------------------------------------


class _FromRecords:
    """A fetch step with no HTTP: records the caller already holds, written as JSON Lines."""

    label = "records in memory"

    def __init__(self, records: list[dict[str, object]]):
        self.records = records
        self.requests: list[cj.FetchRequest] = []

    def fetch(self, run: cj.StepRun, request: cj.FetchRequest) -> None:
        self.requests.append(request)
        keep = self.records[-request.limit :] if request.limit else self.records
        lines = "".join(json.dumps(r) + "\n" for r in keep)
        (run.working_dir / request.out).write_text(lines, encoding="utf-8")


class _Markdown:
    """A report step writing one Markdown file from analysis.json (no skill, no sandbox)."""

    def __init__(self) -> None:
        self.runs = 0

    def write(self, run: cj.StepRun) -> list[Path]:
        self.runs += 1
        analysis = json.loads((run.working_dir / "analysis.json").read_text())
        out = run.working_dir / "reports" / "summary.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(f"# {analysis['health']['headline']}\n", encoding="utf-8")
        run.progress("summary.md written")
        return [out]


def test_own_fetch_and_report_steps_run_in_the_pipeline(api: DemoLogServer, tmp_path: Path) -> None:
    lines: list[str] = []
    fetch, report = _FromRecords(list(api.store.records)), _Markdown()
    agent = cj.MonitoringAgent(
        fetch_step=fetch, report_step=report, out_dir=tmp_path / "out", progress=lines.append
    )
    result = agent.analyze("memory://demo", since=None, limit=250)
    assert fetch.requests == [cj.FetchRequest("memory://demo", None, 250)]
    assert result.logs_fetched == 250 and result.health_status != "unknown"  # the bundled analyzer ran
    assert [p.name for p in result.report_files] == ["summary.md"]
    assert (tmp_path / "out" / "summary.md").read_text() == f"# {result.headline}\n"
    assert any("(records in memory)" in line for line in lines)  # the progress names the step by its label
    assert any("incident report with _Markdown" in line for line in lines)  # or by its class
    assert "summary.md written" in lines
    assert set(result.timings) == {"fetch", "analyze", "report"}
    assert agent.metrics["tool_calls"] == 1  # only the analysis ran a tool


def test_own_report_step_writes_the_fleet_report_too(api: DemoLogServer, tmp_path: Path) -> None:
    report = _Markdown()
    with cj.MonitoringAgent(report_step=report, out_dir=tmp_path / "out") as agent:
        fleet = agent.analyze_many([api.logs_url + "?service=api-gateway", api.logs_url], limit=100)
    assert report.runs == 1 and [p.name for p in fleet.report_files] == ["summary.md"]
    assert (tmp_path / "out" / "summary.md").read_text() == f"# {fleet.headline}\n"


def test_a_model_drives_only_the_step_given_its_model(api: DemoLogServer, tmp_path: Path) -> None:
    """A pipeline-mode agent whose analysis step has a model of its own: the model is passed per call,
    the sessions the agent opens have none."""
    analyzer = SKILLS / "log-analyzer" / "scripts" / "analyze.py"
    model = S(
        [
            S.reply(
                S.tool_use(
                    "bash_tool", command=f"python3 {analyzer} logs.jsonl -o analysis.json", description="x"
                )
            ),
            "Analysed.",
        ]
    )
    agent = cj.MonitoringAgent(analysis_step=ModelAnalysis(model), out_dir=tmp_path / "out")
    assert agent.mode == "pipeline" and agent.model is None
    result = agent.analyze(api.logs_url, limit=150, generate_report=False)
    assert model.remaining == 0 and result.logs_fetched == 150
    assert "log-analyzer" in (
        model.requests[0].system or ""
    )  # the session's skills, as the executor sees them


class _Nothing:
    def fetch(self, run: cj.StepRun, request: cj.FetchRequest) -> None:
        pass


class _NotJson:
    def analyse(self, run: cj.StepRun) -> None:
        (run.working_dir / "analysis.json").write_text("{not json")


class _Refuses:
    def write(self, run: cj.StepRun) -> list[Path]:
        raise AgentError("the report step wrote nothing: the printer is out of paper")


def test_what_a_step_leaves_is_checked_and_a_failed_report_keeps_the_analysis(
    api: DemoLogServer, tmp_path: Path
) -> None:
    with pytest.raises(AgentError, match=r"the fetch step did not write logs\.jsonl"):
        cj.MonitoringAgent(fetch_step=_Nothing(), out_dir=tmp_path / "a").analyze(api.logs_url, limit=10)
    with pytest.raises(AgentError, match=r"did not leave a readable analysis\.json"):
        cj.MonitoringAgent(analysis_step=_NotJson(), out_dir=tmp_path / "b").analyze(api.logs_url, limit=10)
    with pytest.raises(AgentError, match="out of paper") as info:
        cj.MonitoringAgent(report_step=_Refuses(), out_dir=tmp_path / "c").analyze(api.logs_url, limit=50)
    assert f"The analysis is kept in {tmp_path / 'c' / 'analysis.json'}" in str(info.value)
    assert json.loads((tmp_path / "c" / "analysis.json").read_text())["summary"]["total"] == 50


# -- the results render themselves ------------------------------------------------------------------------


def test_a_monitoring_result_renders_itself_and_cj_show_uses_that(api: DemoLogServer, tmp_path: Path) -> None:
    with cj.MonitoringAgent(out_dir=tmp_path / "out") as agent:
        result = agent.analyze(api.logs_url, limit=300)
    bundle, _ = result._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"} and bundle["text/plain"] == repr(result)
    shown = bundle["text/html"]
    assert shown == result.html() == to_html(result)  # one rendering, whoever asks
    assert html.escape(result.headline) in shown and "Window: " in shown
    assert 'src="data:image/png;base64,' in shown  # the analysis' charts
    assert "⬇ download incident-report.xlsx" in shown and "⬇ download incident-report.pdf" in shown


def test_what_a_result_shows_from_its_sources_stays_text(tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    analysis = {
        "summary": {"total": 1, "errors": 1, "error_rate": 1.0},
        "health": {"status": "critical", "rule": hostile, "headline": f"critical {hostile}"},
    }
    one = cj.MonitoringResult(
        "pipeline", "local", hostile, 1, analysis, "critical", hostile, working_dir=tmp_path
    )
    fleet = cj.FleetResult(analysis, {}, {hostile: hostile})
    for shown in (one.html(), to_html(one), fleet.html(), to_html(fleet)):
        assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert fleet._repr_mimebundle_()[0]["text/plain"] == repr(fleet)
