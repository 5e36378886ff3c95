"""`MonitoringAgent`: fetch logs from a REST API, analyse them, write an incident report.

The three steps are objects (`conjure_nb.monitoring._steps`), chosen once when the agent is made:

- **agent mode**: a model drives each step through chat turns (Claude with ANTHROPIC_API_KEY, or
  any `model=`): in a native session for fetching, a skills session (local or docker) for the
  analysis and the report.
- **pipeline mode**: no model; the same skills run through the same session executors with
  `Session.run_tool`. It is the default when no model is configured.
- **your own steps**: `fetch_step=`, `analysis_step=`, `report_step=` take any object with the
  step's one method (`FetchStep`, `AnalysisStep`, `ReportStep`); the others stay the built-in ones.

Every step shares one working directory, so the file the fetch step writes is the file the
analysis reads, whichever backend runs it. A run is then a straight pipeline: fetch, check
`logs.jsonl`; analyse, read `analysis.json`; report; copy the files out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ..session import Session
from ..skills._model import Skill
from ..skills._registry import Registry
from ._fetcher import LogFetcher
from ._outputs import copy_out, remove_dirs
from ._result import MonitoringResult
from ._run import Run, check_window
from ._skillcode import bundled_skills_dir
from ._steps import (
    AgentError,
    AnalysisStep,
    FetchRequest,
    FetchStep,
    LocalReportWriter,
    ReportStep,
    ReportWriter,
    StepRun,
    Steps,
    check,
    default_steps,
    given,
)

__all__ = [
    "AgentError",
    "LocalReportWriter",
    "MonitoringAgent",
    "MonitoringResult",
    "ReportWriter",
    "copy_out",
    "default_skills_dir",
]

Progress = Callable[[str], None]


def default_skills_dir() -> Path:
    """The bundled skills: `$CONJURE_SKILLS_DIR`, the copy inside an installed wheel, or
    `skills/` of a source checkout."""
    env = os.environ.get("CONJURE_SKILLS_DIR")
    if env:
        return Path(env)
    try:
        return bundled_skills_dir()
    except UsageError:
        raise UsageError(
            "cannot find the bundled skills; pass skills=... or set CONJURE_SKILLS_DIR"
        ) from None


class MonitoringAgent:
    """The tutorial's monitoring agent, importable and configurable.

    Args:
        skills: skill folders (default: the bundled `skills/`); loaded through a `Registry`.
        model: a model for agent mode; None means pipeline mode unless `mode="agent"` and
            ANTHROPIC_API_KEY is set.
        backend: where the skills' scripts run: "local", "docker" or "auto" (docker when an
            engine and the sandbox image are there, else local).
        mode: "auto" (agent when a model is configured), "agent" or "pipeline": which built-in
            steps run (`ModelFetch`/`ModelAnalysis`/`ModelReport`, or `NativeFetch`/`ScriptAnalysis`/
            `LocalReportWriter`).
        out_dir: where analysis.json and the reports are copied, replacing earlier runs' files;
            the run's working dir is then removed. None keeps each run's files in a fresh temp
            dir (`result.working_dir`) until the agent is closed: `close()`, the end of a `with`
            block, the agent being garbage-collected, or interpreter exit, whichever is first.
        progress: called with one line per step (default: silent).
        report_backend: "local" (the `incident-report` skill) or "anthropic" (Anthropic's hosted
            xlsx/pdf skills, `AnthropicReportWriter`; without a key it falls back to the local skill
            and says so in the progress).
        fetch_step: your own `FetchStep` (default: the mode's).
        analysis_step: your own `AnalysisStep` (default: the mode's).
        report_step: your own `ReportStep` (default: the mode's and `report_backend`'s); it writes
            `analyze_many`'s report too.
        report_writer: the earlier name of `report_step`.
        fetcher: the `LogFetcher` in the fetch step's native session (default: a new one).
        watch: hot-reload the skills when their folders change (a `Registry` watcher); call
            `close()` (or use the agent as a context manager) to stop it.
        session_options: passed to every session (timeout, env, image for docker, ...).

    Attributes:
        steps: the step objects this agent runs (`fetch`, `analysis`, `report`, `fleet_report`).
    """

    def __init__(
        self,
        skills: Any = None,
        model: Any = None,
        *,
        backend: str = "local",
        mode: str = "auto",
        out_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        report_writer: ReportStep | None = None,
        report_backend: str = "local",
        fetcher: LogFetcher | None = None,
        watch: bool = False,
        fetch_step: FetchStep | None = None,
        analysis_step: AnalysisStep | None = None,
        report_step: ReportStep | None = None,
        **session_options: Any,
    ):
        _check_choices(mode, backend, report_backend, report_writer, report_step)
        paths = skills if skills is not None else [default_skills_dir()]
        self.registry = Registry(paths if isinstance(paths, (list, tuple)) else [paths], watch=watch)
        self.model = model
        self.mode = self._choose_mode(mode)
        self.backend = backend
        self.report_backend = report_backend
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress or (lambda line: None)
        self.steps = _steps(
            self.mode, self.model, report_backend, fetch_step, analysis_step, report_step or report_writer
        )
        self.fetcher = fetcher or LogFetcher()
        self.session_options = session_options
        self.metrics: dict[str, float] = {"tool_calls": 0, "tool_errors": 0, "tool_ms": 0.0}
        self._temp_dirs: list[Path] = []
        self._cleanup = weakref.finalize(self, remove_dirs, self._temp_dirs)

    @property
    def report_writer(self) -> ReportStep:
        """The report step (its earlier name)."""
        return self.steps.report

    def _workdir(self, prefix: str) -> Path:
        """A private dir for one run, removed on close (or at exit) with the agent's others."""
        if not self._cleanup.alive:
            raise UsageError("this MonitoringAgent is closed; make a new one")
        workdir = Path(tempfile.mkdtemp(prefix=prefix))
        self._temp_dirs.append(workdir)
        return workdir

    def close(self) -> None:
        """Stop the skills watcher and remove the temp dirs of runs made without `out_dir`."""
        self.registry.close()
        self._cleanup()

    def __enter__(self) -> MonitoringAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- configuration --------------------------------------------------------------------------

    def _choose_mode(self, mode: str) -> str:
        if mode == "agent" and self.model is None:
            if not os.environ.get("ANTHROPIC_API_KEY"):
                raise UsageError("agent mode needs a model: pass model=... or set ANTHROPIC_API_KEY")
            from ..models._anthropic import AnthropicModel

            self.model = AnthropicModel()
        if mode == "auto":
            return "agent" if self.model is not None else "pipeline"
        return mode

    @property
    def skills(self) -> list[Skill]:
        """The agent's skills as its registry has them now (reloaded when it watches the folders)."""
        return self.registry.list()

    def skill(self, name: str) -> Skill:
        """The skill called `name`.

        Raises:
            UsageError: the agent has no skill of that name; the message lists the ones it has.
        """
        found = self.registry.get(name)
        if found is None:
            raise UsageError(f"skill {name!r} is not among {[s.name for s in self.skills]}")
        return found

    def resolve_backend(self) -> str:
        """The backend the skills will run on; "auto" becomes docker only when it can work."""
        if self.backend != "auto":
            return self.backend
        try:
            from ..executors.docker import connect, default_image

            client = connect(None, timeout=3)
            try:
                client.images.get(self.session_options.get("image") or default_image())
            finally:
                client.close()
        except Exception:
            return "local"
        return "docker"

    def start_session(self, backend: str, skills: list[Skill] | None = None, **options: Any) -> Session:
        """A session on `backend` ("native" gets the log fetcher) with this agent's model."""
        model = self.model if self.mode == "agent" else None
        opts = {**self.session_options, **options}
        if backend == "native":
            opts.pop("image", None)
            return Session.new_native([self.fetcher], model, **opts)
        return Session.new(backend, self.skills if skills is None else skills, model, **opts)

    def script(self, session: Session, skill: str, name: str) -> str:
        """A skill script's path as the session's executor sees it."""
        return StepRun(session, self.progress, self.skill).script(skill, name)

    check = staticmethod(check)

    # -- the run --------------------------------------------------------------------------------

    def analyze(
        self, url: str, since: str | None = "1h", limit: int | None = None, generate_report: bool = True
    ) -> MonitoringResult:
        """Fetch the records of the last `since` from `url` (at most the newest `limit`), analyse
        them, and optionally write the report.

        Ask by time: `since` is relative ("15m", "1h", "2d") or ISO 8601; None asks for everything
        the API holds (then `limit`, default 1,000, caps it). The result states the window actually
        analysed, and says when `limit` cut it short of what was asked."""
        check_window(since, limit)
        workdir = self._workdir("conjure-agent-")
        try:
            run = Run(self, self.resolve_backend(), workdir, 3 if generate_report else 2)
            return run(FetchRequest(url, since, limit))
        finally:
            if self.out_dir is not None:
                self._temp_dirs.remove(workdir)
                shutil.rmtree(workdir, ignore_errors=True)

    def analyze_many(
        self,
        sources: Any,
        *,
        client: Any = None,
        since: str | None = "1h",
        limit: int | None = None,
        generate_report: bool = True,
        shard_bytes: int | None = None,
    ) -> Any:
        """Many sources (URLs, files, globs) analysed in parallel and merged exactly into one fleet
        view, per-source results and one report; `client=` a dask.distributed Client runs the
        shards on that cluster. URLs are asked for the last `since` (at most `limit` records each;
        a URL's own `?since=` wins); files are read whole. Returns a `FleetResult` whose `window`
        merges the sources' windows; see `conjure_nb.monitoring._fleet`."""
        from ._fleet import SHARD_BYTES, analyze_many

        check_window(since, limit)
        return analyze_many(
            self,
            sources,
            client=client,
            since=since,
            limit=limit,
            generate_report=generate_report,
            shard_bytes=shard_bytes or SHARD_BYTES,
        )

    def diagnose_and_report(
        self, url: str, since: str | None = "1h", limit: int | None = None
    ) -> dict[str, Any]:
        """The tutorial's complete example: logs fetched, health status and report files, with the
        window they are about (`headline`, `window`) and the findings still going on (`ongoing`);
        `fake_model` names the stand-in model that drove the steps, when one did."""
        result = self.analyze(url, since=since, limit=limit, generate_report=True)
        return {
            "logs_fetched": result.logs_fetched,
            "health_status": result.health_status,
            "headline": result.headline,
            "window": dict(result.window),
            "ongoing": [f"{d.get('title')} in {', '.join(d.get('services') or {})}" for d in result.ongoing],
            "report_files": [str(p) for p in result.report_files],
            **({"fake_model": result.fake_model} if result.fake_model else {}),  # a stand-in drove it
        }


def _check_choices(
    mode: str, backend: str, report_backend: str, report_writer: object, report_step: object
) -> None:
    """The agent's keywords, checked before anything starts."""
    if mode not in ("auto", "agent", "pipeline"):
        raise UsageError(f"mode must be 'auto', 'agent' or 'pipeline', not {mode!r}")
    if backend not in ("auto", "local", "docker"):
        raise UsageError(f"backend must be 'auto', 'local' or 'docker', not {backend!r}")
    if report_backend not in ("local", "anthropic"):
        raise UsageError(f"report_backend must be 'local' or 'anthropic', not {report_backend!r}")
    if report_writer is not None and report_step is not None:
        raise UsageError("pass report_step= or report_writer= (its earlier name), not both")


def _steps(
    mode: str,
    model: Any,
    report_backend: str,
    fetch: FetchStep | None,
    analysis: AnalysisStep | None,
    report: ReportStep | None,
) -> Steps:
    """The agent's steps: the ones passed, else the built-in ones for `mode` and `report_backend`."""
    built_in = default_steps(mode, model, report_backend)
    report = given(report, ReportStep, "report_step")
    return Steps(
        given(fetch, FetchStep, "fetch_step") or built_in.fetch,
        given(analysis, AnalysisStep, "analysis_step") or built_in.analysis,
        report or built_in.report,
        report or built_in.fleet_report,
    )
