"""The monitoring agent's three steps as objects: fetch, analyse, report.

`MonitoringAgent` chooses one object per step when it is made (from its `mode` and
`report_backend`, or the ones passed as `fetch_step=`, `analysis_step=`, `report_step=`), and a run
is then a straight pipeline: each step gets a `StepRun` (a session whose working dir is the run's,
the agent's progress line, its skills) and leaves its file there for the next step.

| step | protocol | writes | built in |
|---|---|---|---|
| fetch | `FetchStep.fetch(run, request)` | `logs.jsonl` | `NativeFetch` (pipeline), `ModelFetch` (agent) |
| analyse | `AnalysisStep.analyse(run)` | `analysis.json` | `ScriptAnalysis` (pipeline), `ModelAnalysis` (agent) |
| report | `ReportStep.write(run)` -> files | `reports/*` | `LocalReportWriter`, `ModelReport` (agent), `AnthropicReportWriter` |

The agent checks what each step left (the logs file exists; analysis.json is JSON), so a step only
does its work. A step that fails raises `AgentError` naming the step (`run.check` does it for a tool
result); a tool's own failure is data until a step decides it stops the run.

A step may carry a `label` attribute: the progress line names the step with it (else its class).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .._errors import ConjureError, UsageError
from ..models._function import as_model
from ..session import Session
from ..skills._model import Skill
from ..tools import ToolResult
from ._skillcode import skill_code

__all__ = [
    "ANALYSIS_FILE",
    "LOGS_FILE",
    "REPORT_DIR",
    "AgentError",
    "AnalysisStep",
    "FetchRequest",
    "FetchStep",
    "LocalReportWriter",
    "ModelAnalysis",
    "ModelFetch",
    "ModelReport",
    "NativeFetch",
    "ReportStep",
    "ReportWriter",
    "ScriptAnalysis",
    "StepRun",
    "Steps",
    "check",
    "default_steps",
    "given",
    "label",
]

LOGS_FILE = "logs.jsonl"
ANALYSIS_FILE = "analysis.json"
REPORT_DIR = "reports"


class AgentError(ConjureError):
    """A step of the monitoring agent did not produce what the next step needs."""


def check(result: ToolResult, step: str) -> ToolResult:
    """`result` itself when it succeeded: a step whose tool failed stops the run.

    Raises:
        AgentError: the tool result is an `is_error` one; the message names `step` and carries the
            tool's output.
    """
    if result.is_error:
        raise AgentError(f"the {step} step failed:\n{result.content}")
    return result


@dataclass
class StepRun:
    """What a step is given: the session to work in, and the agent's progress line and skills.

    Attributes:
        session: a session whose working dir is the run's. The fetch step's is a native session
            holding the agent's `LogFetcher` (tool `log_fetcher_execute`); the analysis and report
            steps share one session on the agent's backend (local or docker) with its skills. Each
            has the agent's model in agent mode; a step with a model of its own passes it per call
            (`session.chat(prompt, model=m)`), as the built-in model steps do.
        progress: the agent's progress callback, for a step's own lines.
        skill: the agent's skill of a name (raises `UsageError` naming the ones it has).
    """

    session: Session
    progress: Callable[[str], None]
    skill: Callable[[str], Skill]

    @property
    def working_dir(self) -> Path:
        """The run's working dir: the fetch writes `logs.jsonl` here, the analysis `analysis.json`."""
        return self.session.working_dir

    def script(self, skill: str, name: str) -> str:
        """A skill script's path as the session's executor sees it (`/mnt/skills/...` in docker)."""
        location = self.session.executor.skill_location(self.skill(skill))
        return f"{location.rsplit('/', 1)[0]}/scripts/{name}"

    def check(self, result: ToolResult, step: str) -> ToolResult:
        """`result` itself when it succeeded (see `check`)."""
        return check(result, step)

    def bash(self, command: str, description: str, step: str) -> ToolResult:
        """Run `command` with the session's `bash_tool` (no model), stopping the run if it fails."""
        return self.check(self.session.run_tool("bash_tool", command=command, description=description), step)


@dataclass(frozen=True)
class FetchRequest:
    """What a run asks the fetch step for: the records of the last `since` from `url`, at most the
    newest `limit`, written to `out` (JSON Lines) in the run's working dir."""

    url: str
    since: str | None
    limit: int | None
    out: str = LOGS_FILE
    filters: tuple[tuple[str, str], ...] = ()
    """The source's own filters, passed on as the fetcher's options: `(("service", "api"),)`."""

    @property
    def options(self) -> str:
        """The log fetcher's options for this request (" --service api --since 1h --limit 500")."""
        found = "".join(f" --{k.replace('_', '-')} {shlex.quote(v)}" for k, v in self.filters)
        found += f" --since {shlex.quote(self.since)}" if self.since else ""
        return found + (f" --limit {self.limit}" if self.limit else "")

    @property
    def asking(self) -> str:
        """What is asked, in words: "the last hour (at most the newest 500 records)"."""
        if self.since is None:
            return f"the newest {self.limit or 1000:,} records"
        asked = skill_code("log-analyzer", "fetch_logs").asked(self.since, None)
        return f"{asked}" + (f" (at most the newest {self.limit:,} records)" if self.limit else "")


@runtime_checkable
class FetchStep(Protocol):
    """Fetches the records a run asks for into `run.working_dir / request.out` (JSON Lines)."""

    def fetch(self, run: StepRun, request: FetchRequest) -> None:
        """Fetch what `request` asks for.

        Args:
            run: the run's session (a native one holding the agent's `LogFetcher`), working dir,
                progress line and skills.
            request: the source, the window asked (`since`, `limit`) and the file to write (`out`).

        Returns:
            None: the records are the file `run.working_dir / request.out`, one JSON object a line;
            the agent counts them.

        Raises:
            AgentError: the fetch failed (`run.check` raises it for a failed tool result).
        """
        ...


@runtime_checkable
class AnalysisStep(Protocol):
    """Analyses `logs.jsonl` in `run.working_dir` into `analysis.json` there (the log-analyzer's JSON)."""

    def analyse(self, run: StepRun) -> None:
        """Analyse `logs.jsonl` in the run's working dir.

        Args:
            run: the run's session (on the agent's backend, with its skills), working dir, progress
                line and skills.

        Returns:
            None: the analysis is the file `analysis.json` in `run.working_dir` (the log-analyzer's
            JSON, with its `window`, `summary` and `health`); the agent reads it.

        Raises:
            AgentError: the analysis failed (`run.bash` raises it for a failed command).
        """
        ...


@runtime_checkable
class ReportStep(Protocol):
    """Writes the incident report from `analysis.json` in `run.working_dir`; returns the files."""

    def write(self, run: StepRun) -> list[Path]:
        """Write the incident report from `analysis.json` in the run's working dir.

        Args:
            run: the session the analysis ran in (same backend, same skills), the working dir,
                progress line and skills.

        Returns:
            The report files written, inside `run.working_dir` (the agent copies them to `out_dir`).

        Raises:
            AgentError: no report was written; the agent keeps the analysis and says where.
        """
        ...


ReportWriter = ReportStep
"""The report step's earlier name (`MonitoringAgent(report_writer=...)`)."""


def label(step: object) -> str:
    """How progress lines name a step: its `label` attribute, else its class name."""
    found = getattr(step, "label", None)
    return found if isinstance(found, str) and found else type(step).__name__


# -- pipeline mode: the skills run with no model ----------------------------------------------------


class NativeFetch:
    """The agent's `LogFetcher`, run as the native session's `log_fetcher_execute` tool."""

    label = "native log-fetcher"

    def fetch(self, run: StepRun, request: FetchRequest) -> None:
        command = f"fetch {shlex.quote(request.url)}{request.options} --out {shlex.quote(request.out)}"
        run.check(run.session.run_tool("log_fetcher_execute", command=command), "fetch")


class ScriptAnalysis:
    """The `log-analyzer` skill's `analyze.py`, run by the session's executor (local or docker)."""

    label = "log-analyzer"

    def analyse(self, run: StepRun) -> None:
        script = run.script("log-analyzer", "analyze.py")
        run.bash(
            f"python3 {shlex.quote(script)} {LOGS_FILE} -o {ANALYSIS_FILE}", "analyse the logs", "analysis"
        )


class LocalReportWriter:
    """The bundled `incident-report` skill's `make_report.py`, run by the session's executor.

    Args:
        formats: the files to write, e.g. "xlsx,pdf".
        title: the report's title (default: the skill's, from the verdict).
    """

    label = "incident-report"

    def __init__(self, formats: str = "xlsx,pdf", title: str | None = None):
        self.formats = formats
        self.title = title

    def write(self, run: StepRun) -> list[Path]:
        script = run.script("incident-report", "make_report.py")
        cmd = f"python3 {shlex.quote(script)} {ANALYSIS_FILE} --out-dir {REPORT_DIR} --format {shlex.quote(self.formats)}"
        if self.title:
            cmd += f" --title {shlex.quote(self.title)}"
        run.bash(cmd, "write the incident report", "report")
        return sorted(run.working_dir.glob(f"{REPORT_DIR}/*.*"))


# -- agent mode: a model drives each step with the same skills ----------------------------------------


class _ModelStep:
    def __init__(self, model: Any):
        self.model = as_model(model)

    def chat(self, run: StepRun, prompt: str) -> str:
        """One turn in the step's session with this step's model; the answer's text."""
        return run.session.chat(prompt, model=self.model).text


class ModelFetch(_ModelStep):
    """The model fetches with the native log fetcher (asked for the run's window and file)."""

    label = "native log-fetcher"

    def fetch(self, run: StepRun, request: FetchRequest) -> None:
        self.chat(
            run,
            f"Fetch {request.asking} from {request.url} with the log fetcher and save them to "
            f"{request.out} (use{request.options} --out {request.out}). Then say how many records you "
            "fetched and which time range they cover.",
        )


class ModelAnalysis(_ModelStep):
    """The model analyses the logs with the `log-analyzer` skill."""

    label = "log-analyzer"

    def analyse(self, run: StepRun) -> None:
        self.chat(
            run,
            f"Analyse {LOGS_FILE} in the working directory with the log-analyzer skill. Save the "
            f"full analysis JSON to {ANALYSIS_FILE} (analyze.py -o {ANALYSIS_FILE}) and tell me "
            "the health status, the rule that decided it and the top diagnostics.",
        )


class ModelReport(_ModelStep):
    """The model writes the report with the `incident-report` skill, as xlsx and pdf.

    Raises:
        AgentError: the model wrote no report file (its answer is in the message).
    """

    label = "incident-report"

    def write(self, run: StepRun) -> list[Path]:
        said = self.chat(
            run,
            f"Write the incident report from {ANALYSIS_FILE} with the incident-report skill, as "
            f"xlsx and pdf, into the folder {REPORT_DIR}/. Then list the files you wrote.",
        )
        files = sorted(p for p in run.working_dir.glob(f"{REPORT_DIR}/*") if p.suffix in (".xlsx", ".pdf"))
        if not files:
            said = " ".join(said.split())[:300] or "(no text)"
            raise AgentError(
                f"the report step wrote no report: the model did not create {REPORT_DIR}/*.xlsx or *.pdf "
                f"(it answered: {said!r}). Run again, or use mode='pipeline' to write the report "
                "without a model"
            )
        return files


# -- the choice, made once per agent ------------------------------------------------------------------


@dataclass(frozen=True)
class Steps:
    """The step objects one agent runs. `fleet_report` writes `analyze_many`'s one report: the
    report step itself, except a model-driven one (a fleet run has no conversation to continue),
    whose place the local skill takes."""

    fetch: FetchStep
    analysis: AnalysisStep
    report: ReportStep
    fleet_report: ReportStep


def default_steps(mode: str, model: Any, report_backend: str) -> Steps:
    """The built-in steps for the agent's `mode` ("agent" or "pipeline") and `report_backend`
    ("local" or "anthropic"): the only place those strings choose anything."""
    report: ReportStep
    fleet_report: ReportStep
    if report_backend == "anthropic":
        from ._hosted_report import AnthropicReportWriter

        report = fleet_report = AnthropicReportWriter(model if hasattr(model, "api_key") else None)
    elif mode == "agent":
        report, fleet_report = ModelReport(model), LocalReportWriter()
    else:
        report = fleet_report = LocalReportWriter()
    if mode == "agent":
        return Steps(ModelFetch(model), ModelAnalysis(model), report, fleet_report)
    return Steps(NativeFetch(), ScriptAnalysis(), report, fleet_report)


def given(step: Any, protocol: type, keyword: str) -> Any:
    """A step the caller passed, checked against its protocol.

    Raises:
        UsageError: the object lacks the protocol's method (named with the keyword it came in by).
    """
    if step is not None and not isinstance(step, protocol):
        raise UsageError(
            f"{keyword} must be a {protocol.__name__}: an object with a method "
            f"{_METHODS[protocol.__name__]}; got {type(step).__name__}"
        )
    return step


_METHODS = {"FetchStep": "fetch(run, request)", "AnalysisStep": "analyse(run)", "ReportStep": "write(run)"}
