"""`MonitoringAgent`: fetch logs from a REST API, analyse them, write an incident report.

The same three steps run in one of two modes, chosen explicitly and reported:

- **agent mode**: a model drives each step through chat sessions (Claude with ANTHROPIC_API_KEY,
  or any `model=`): a native session for fetching, a skills session (local or docker) for the
  analysis and the report.
- **pipeline mode**: no model; the same skills run through the same session executors with
  `Session.run_tool`. It is the default when no model is configured.

Every step shares one working directory, so the file the fetcher writes is the file the
analysis reads, whichever backend runs it. The report step is a seam (`ReportWriter`) so that
another writer (Anthropic's hosted xlsx/pdf skills, say) can replace the local skill.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .._errors import ConjureError, UsageError
from ..display._beneath import open_in, read_in, write_new
from ..display._text import escape
from ..session import Session
from ..skills._model import Skill
from ..skills._registry import Registry
from ..tools import ToolResult
from ._fetcher import LogFetcher, redacted
from ._skillcode import bundled_skills_dir, skill_code

__all__ = [
    "AgentError",
    "LocalReportWriter",
    "MonitoringAgent",
    "MonitoringResult",
    "ReportWriter",
    "default_skills_dir",
]

Progress = Callable[[str], None]
LOGS_FILE = "logs.jsonl"
ANALYSIS_FILE = "analysis.json"
REPORT_DIR = "reports"


class AgentError(ConjureError):
    """A step of the monitoring agent did not produce what the next step needs."""


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


def copy_out(workdir: Path, paths: list[Path], out_dir: Path) -> list[Path]:
    """Copy files of a run's working dir into `out_dir` by name, replacing earlier copies.

    The working dir is the sandbox's: each file is read beneath it without following links, and
    written into `out_dir` as a new file (a link planted at the name there is replaced, not followed).

    Raises:
        AgentError: a file is a planted link (named), or cannot be copied.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    for src in paths:
        try:
            write_new(out_dir, src.name, read_in(workdir, src))
        except OSError as exc:
            raise AgentError(f"{src.name} was not copied to {out_dir}: {exc}") from None
        kept.append(out_dir / src.name)
    return kept


MANIFEST = ".conjure-agent-files.json"
"""In `out_dir`: the names the agent's last run copied there, so the next run can drop stale ones."""


def drop_stale(out_dir: Path, kept: list[Path]) -> None:
    """Remove what an earlier run copied to `out_dir` and this run did not: an older report must
    not sit beside a new analysis.json (`generate_report=False`, or fewer formats) as if current.

    Only names the agent recorded in `MANIFEST` are removed, each a plain file name unlinked in
    `out_dir` itself (a link is removed, never followed); a user's own files there stay.
    """
    names = {p.name for p in kept}
    try:
        old = json.loads(read_in(out_dir, out_dir / MANIFEST)[:1_000_000])
    except (OSError, ValueError):
        old = []
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in old if isinstance(old, list) else []:
            if (
                isinstance(name, str)
                and name not in names
                and "/" not in name
                and name not in ("", ".", "..")
            ):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                    os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)
    write_new(out_dir, MANIFEST, json.dumps(sorted(names)).encode())


def _story(analysis: dict[str, Any], workdir: Path) -> list[str]:
    """Page 1 of the report as console lines, built by the incident-report skill's own code."""
    try:
        content = skill_code("incident-report", "report_content")
        meta = workdir / f"{LOGS_FILE}.fetch.json"
        fetch = json.loads(read_in(workdir, meta)) if meta.is_file() else None
        report = content.build(analysis, fetch=fetch, logs=str(workdir / LOGS_FILE))
        return [str(line) for line in content.console_lines(report)]
    except (ImportError, UsageError, ValueError, OSError, KeyError, TypeError):
        return []


def _check_window(since: str | None, limit: int | None) -> None:
    """A bad `since` or `limit` is the caller's mistake, found before anything is fetched."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"limit must be a whole number of records, at least 1, or None; not {limit!r}")
    if since is not None:
        fetching = skill_code("log-analyzer", "fetch_logs")
        try:
            fetching.parse_time(str(since))
        except fetching.FetchError as exc:
            raise UsageError(f"since={since!r}: {exc}") from None


def _asking(since: str | None, limit: int | None) -> str:
    """What a fetch asks for, in words: "the last hour (at most the newest 500 records)"."""
    asked = skill_code("log-analyzer", "fetch_logs").asked(since, None)
    if since is None:
        return f"the newest {limit or 1000:,} records"
    return f"{asked}" + (f" (at most the newest {limit:,} records)" if limit else "")


def _fetched(workdir: Path, count: int) -> str:
    """The progress line after a fetch: what came back, from when to when, and whether it was cut."""
    meta = workdir / f"{LOGS_FILE}.fetch.json"
    try:
        fetch = json.loads(meta.read_text(encoding="utf-8"))
        summary = {"first_timestamp": fetch.get("first_timestamp"), "last_timestamp": fetch.get("last_timestamp"),
                   "total": count}  # fmt: skip
        window = skill_code("log-analyzer", "window").window(summary, [fetch], [LOGS_FILE])
    except (OSError, ValueError, AttributeError):
        return f"fetched {count:,} records"
    return f"fetched {_window_words(window)}"


def _remove_dirs(dirs: list[Path]) -> None:
    """Remove the agent's temp dirs (on close, or when the agent is collected or Python exits)."""
    while dirs:
        shutil.rmtree(dirs.pop(), ignore_errors=True)


def _window_words(window: dict[str, Any]) -> str:
    """The window in one line (the log-analyzer skill's own wording), or "" without one."""
    if not window:
        return ""
    try:
        return str(skill_code("log-analyzer", "window").describe(window))
    except (ImportError, UsageError, KeyError, TypeError, ValueError):
        return ""


@dataclass
class MonitoringResult:
    """What one run produced: the verdict and the window it is about, the files, and how long each
    step took.

    `window` is what was actually analysed (analysis.json's `window`): `start`/`end` (ISO), `records`,
    `available` (when the source says), `query` (the URL without secrets, the filters), `asked` (the
    range asked, in words) and `truncated` (a limit stopped the fetch before that range was covered).
    `headline` is the verdict stated with it: "critical in the newest 500 records, 09:44–10:00 UTC;
    the last hour was asked".
    """

    mode: str
    backend: str
    url: str
    """The source as it may be shown: credentials in it (`user:pass@`, `?api_key=`) are `***`."""
    logs_fetched: int
    analysis: dict[str, Any]
    health_status: str
    health_rule: str
    report_files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    working_dir: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    """This run's tool calls, errors and tool time, counted from its own sessions only."""
    story: list[str] = field(default_factory=list)
    """Page 1 of the incident report as text lines (title, health, summary, impact, actions)."""
    window: dict[str, Any] = field(default_factory=dict)
    """What was analysed: analysis.json's `window` (see the class docstring)."""

    @property
    def headline(self) -> str:
        """The verdict with its window, as analysis.json's `health.headline` states it."""
        found = (self.analysis.get("health") or {}).get("headline")
        return str(found) if found else f"{self.health_status} in {self.logs_fetched:,} records"

    @property
    def ongoing(self) -> list[dict[str, Any]]:
        """The critical and high findings still going on at the window's end (see analysis.json)."""
        return [
            d
            for d in self.analysis.get("diagnostics") or []
            if d.get("state") == "ongoing" and d.get("severity") in ("critical", "high")
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "backend": self.backend,
            "url": self.url,
            "logs_fetched": self.logs_fetched,
            "health_status": self.health_status,
            "health_rule": self.health_rule,
            "headline": self.headline,
            "window": dict(self.window),
            "report_files": [str(p) for p in self.report_files],
            "timings_ms": {k: round(v, 1) for k, v in self.timings.items()},
            "metrics": dict(self.metrics),
        }

    def __repr__(self) -> str:
        return f"<MonitoringResult {self.headline}>"

    def _repr_html_(self) -> str:
        # the rule and the source come from the logs and the caller: escaped, never Markdown
        files = ", ".join(f"<code>{escape(p.name)}</code>" for p in self.report_files) or "none"
        steps = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in self.timings.items())
        ongoing = "; ".join(f"{d.get('title')} in {', '.join(d.get('services') or {})}" for d in self.ongoing)
        return (
            f"<p><b>Health: {escape(self.headline)}</b> — {escape(self.health_rule)}</p>"
            + (f"<p><b>Ongoing at the window's end:</b> {escape(ongoing)}</p>" if ongoing else "")
            + f"<p>Window: {escape(_window_words(self.window))}</p>"
            f"<p>mode <b>{escape(self.mode)}</b> on <b>{escape(self.backend)}</b> · Reports: {files} · "
            f"Timings: {escape(steps)}</p>"
        )


class ReportWriter(Protocol):
    """Writes the incident report from `analysis.json` in the session's working dir."""

    def write(self, agent: MonitoringAgent, session: Session) -> list[Path]: ...


class LocalReportWriter:
    """The bundled `incident-report` skill, run by the analysis session's executor."""

    def __init__(self, formats: str = "xlsx,pdf", title: str | None = None):
        self.formats = formats
        self.title = title

    def write(self, agent: MonitoringAgent, session: Session) -> list[Path]:
        script = agent.script(session, "incident-report", "make_report.py")
        cmd = f"python3 {shlex.quote(script)} {ANALYSIS_FILE} --out-dir {REPORT_DIR} --format {shlex.quote(self.formats)}"
        if self.title:
            cmd += f" --title {shlex.quote(self.title)}"
        agent.check(
            session.run_tool("bash_tool", command=cmd, description="write the incident report"), "report"
        )
        return sorted(session.working_dir.glob(f"{REPORT_DIR}/*.*"))


class MonitoringAgent:
    """The tutorial's monitoring agent, importable and configurable.

    Args:
        skills: skill folders (default: the bundled `skills/`); loaded through a `Registry`.
        model: a model for agent mode; None means pipeline mode unless `mode="agent"` and
            ANTHROPIC_API_KEY is set.
        backend: where the skills' scripts run: "local", "docker" or "auto" (docker when an
            engine and the sandbox image are there, else local).
        mode: "auto" (agent when a model is configured), "agent" or "pipeline".
        out_dir: where analysis.json and the reports are copied, replacing earlier runs' files;
            the run's working dir is then removed. None keeps each run's files in a fresh temp
            dir (`result.working_dir`) until the agent is closed: `close()`, the end of a `with`
            block, the agent being garbage-collected, or interpreter exit, whichever is first.
        progress: called with one line per step (default: silent).
        report_writer: the report step (default: the local `incident-report` skill).
        report_backend: "local" (the `incident-report` skill) or "anthropic" (Anthropic's hosted
            xlsx/pdf skills, `monitoring.hosted_report.AnthropicReportWriter`; without a key it falls back
            to the local skill and says so in the progress).
        watch: hot-reload the skills when their folders change (a `Registry` watcher); call
            `close()` (or use the agent as a context manager) to stop it.
        session_options: passed to every session (timeout, env, image for docker, ...).
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
        report_writer: ReportWriter | None = None,
        report_backend: str = "local",
        fetcher: LogFetcher | None = None,
        watch: bool = False,
        **session_options: Any,
    ):
        if mode not in ("auto", "agent", "pipeline"):
            raise UsageError(f"mode must be 'auto', 'agent' or 'pipeline', not {mode!r}")
        if backend not in ("auto", "local", "docker"):
            raise UsageError(f"backend must be 'auto', 'local' or 'docker', not {backend!r}")
        paths = skills if skills is not None else [default_skills_dir()]
        self.registry = Registry(paths if isinstance(paths, (list, tuple)) else [paths], watch=watch)
        self.model = model
        self.mode = self._choose_mode(mode)
        self.backend = backend
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress or (lambda line: None)
        if report_backend not in ("local", "anthropic"):
            raise UsageError(f"report_backend must be 'local' or 'anthropic', not {report_backend!r}")
        if report_writer is None and report_backend == "anthropic":
            from ._hosted_report import AnthropicReportWriter

            report_writer = AnthropicReportWriter(model if hasattr(model, "api_key") else None)
        self.report_backend = report_backend
        self.report_writer: ReportWriter = report_writer or LocalReportWriter()
        self.fetcher = fetcher or LogFetcher()
        self.session_options = session_options
        self.metrics: dict[str, float] = {"tool_calls": 0, "tool_errors": 0, "tool_ms": 0.0}
        self._temp_dirs: list[Path] = []
        self._cleanup = weakref.finalize(self, _remove_dirs, self._temp_dirs)

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
        location = session.executor.skill_location(self.skill(skill))
        return f"{location.rsplit('/', 1)[0]}/scripts/{name}"

    @staticmethod
    def check(result: ToolResult, step: str) -> ToolResult:
        """`result` itself when it succeeded: a step whose tool failed stops the run.

        Raises:
            AgentError: the tool result is an `is_error` one; the message names `step` and carries
                the tool's output.
        """
        if result.is_error:
            raise AgentError(f"the {step} step failed:\n{result.content}")
        return result

    # -- the run --------------------------------------------------------------------------------

    def analyze(
        self, url: str, since: str | None = "1h", limit: int | None = None, generate_report: bool = True
    ) -> MonitoringResult:
        """Fetch the records of the last `since` from `url` (at most the newest `limit`), analyse
        them, and optionally write the report.

        Ask by time: `since` is relative ("15m", "1h", "2d") or ISO 8601; None asks for everything
        the API holds (then `limit`, default 1,000, caps it). The result states the window actually
        analysed, and says when `limit` cut it short of what was asked."""
        _check_window(since, limit)
        backend = self.resolve_backend()
        workdir = self._workdir("conjure-agent-")
        timings: dict[str, float] = {}
        metrics = {"tool_calls": 0.0, "tool_errors": 0.0, "tool_ms": 0.0}
        try:
            opts: dict[str, Any] = {"working_dir": workdir}
            steps = 3 if generate_report else 2
            self.progress(f"mode: {self.mode} · backend: {backend} · working dir {workdir}")
            with self.start_session("native", **opts) as fetch_session:
                self.progress(
                    f"[1/{steps}] fetching {_asking(since, limit)} from {redacted(url)} (native log-fetcher)"
                )
                try:
                    count = self._timed(
                        timings, "fetch", lambda: self._fetch(fetch_session, url, since, limit)
                    )
                finally:
                    self._count(fetch_session, metrics)
                self.progress(_fetched(workdir, count))
            with self.start_session(backend, **opts) as session:
                try:
                    self.progress(f"[2/{steps}] analysing {count:,} records with log-analyzer ({backend})")
                    analysis = self._timed(timings, "analyze", lambda: self._analyze(session))
                    self.progress(f"verdict: {(analysis.get('health') or {}).get('headline', '?')}")
                    files: list[Path] = []
                    if generate_report:
                        self.progress(
                            f"[3/{steps}] writing the incident report with incident-report ({backend})"
                        )
                        files = self._timed(timings, "report", lambda: self._report(session))
                finally:
                    self._count(session, metrics)
                result = self._result(url, backend, count, analysis, files, timings, workdir)
                result.metrics = metrics
        finally:
            if self.out_dir is not None:
                self._temp_dirs.remove(workdir)
                shutil.rmtree(workdir, ignore_errors=True)
        return result

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

        _check_window(since, limit)
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
        window they are about (`headline`, `window`) and the findings still going on (`ongoing`)."""
        result = self.analyze(url, since=since, limit=limit, generate_report=True)
        return {
            "logs_fetched": result.logs_fetched,
            "health_status": result.health_status,
            "headline": result.headline,
            "window": dict(result.window),
            "ongoing": [f"{d.get('title')} in {', '.join(d.get('services') or {})}" for d in result.ongoing],
            "report_files": [str(p) for p in result.report_files],
        }

    def _timed(self, timings: dict[str, float], step: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            timings[step] = (time.perf_counter() - t0) * 1000

    def _count(self, session: Session, metrics: dict[str, float]) -> None:
        """Add one session's tool calls to this run's and this agent's figures.

        Counted from the session's own tool log, not a process-wide telemetry handler, so two
        agents (or any other sessions) running at the same time never inflate each other's figures.
        """
        calls = session.tool_log
        run = {
            "tool_calls": float(len(calls)),
            "tool_errors": float(sum(1 for c in calls if c.is_error)),
            "tool_ms": float(sum(c.duration_ms or 0.0 for c in calls)),
        }
        for key, value in run.items():
            metrics[key] += value
            self.metrics[key] += value

    def _fetch(self, session: Session, url: str, since: str | None, limit: int | None) -> int:
        options = (f" --since {shlex.quote(since)}" if since else "") + (f" --limit {limit}" if limit else "")
        command = f"fetch {shlex.quote(url)}{options} --out {LOGS_FILE}"
        if self.mode == "agent":
            session.chat(
                f"Fetch {_asking(since, limit)} from {url} with the log fetcher and save them to "
                f"{LOGS_FILE} (use{options} --out {LOGS_FILE}). Then say how many records you fetched "
                "and which time range they cover."
            )
        else:
            self.check(session.run_tool("log_fetcher_execute", command=command), "fetch")
        path = session.working_dir / LOGS_FILE
        if not path.is_file():
            raise AgentError(f"the fetch step did not write {LOGS_FILE}")
        try:
            with os.fdopen(open_in(session.working_dir, LOGS_FILE), "rb") as f:
                return sum(1 for line in f if line.strip())
        except OSError as exc:
            raise AgentError(f"the fetch step's {LOGS_FILE} cannot be read: {exc}") from None

    def _analyze(self, session: Session) -> dict[str, Any]:
        if self.mode == "agent":
            session.chat(
                f"Analyse {LOGS_FILE} in the working directory with the log-analyzer skill. Save the "
                f"full analysis JSON to {ANALYSIS_FILE} (analyze.py -o {ANALYSIS_FILE}) and tell me "
                "the health status, the rule that decided it and the top diagnostics."
            )
        else:
            script = self.script(session, "log-analyzer", "analyze.py")
            cmd = f"python3 {shlex.quote(script)} {LOGS_FILE} -o {ANALYSIS_FILE}"
            self.check(session.run_tool("bash_tool", command=cmd, description="analyse the logs"), "analysis")
        try:
            data: dict[str, Any] = json.loads(read_in(session.working_dir, ANALYSIS_FILE))
        except (OSError, ValueError) as exc:
            raise AgentError(f"the analysis step did not leave a readable {ANALYSIS_FILE}: {exc}") from exc
        return data

    def _report(self, session: Session) -> list[Path]:
        if self.mode != "agent" or self.report_backend != "local":
            return self.report_writer.write(self, session)
        response = session.chat(
            f"Write the incident report from {ANALYSIS_FILE} with the incident-report skill, as "
            f"xlsx and pdf, into the folder {REPORT_DIR}/. Then list the files you wrote."
        )
        files = sorted(
            p for p in session.working_dir.glob(f"{REPORT_DIR}/*") if p.suffix in (".xlsx", ".pdf")
        )
        if not files:
            said = " ".join(response.text.split())[:300] or "(no text)"
            analysis = session.working_dir / ANALYSIS_FILE
            kept = self._keep([analysis], session.working_dir)[0] if self.out_dir is not None else analysis
            raise AgentError(
                f"the report step wrote no report: the model did not create {REPORT_DIR}/*.xlsx or *.pdf "
                f"(it answered: {said!r}). The analysis is kept in {kept}; run again, or use "
                "mode='pipeline' to write the report without a model"
            )
        return files

    def _result(
        self,
        url: str,
        backend: str,
        count: int,
        analysis: dict[str, Any],
        files: list[Path],
        timings: dict[str, float],
        workdir: Path,
    ) -> MonitoringResult:
        health = analysis.get("health") or {}
        story = _story(analysis, workdir)
        window = analysis.get("window") if isinstance(analysis.get("window"), dict) else {}
        if self.out_dir is not None:
            files = self._keep([workdir / ANALYSIS_FILE, *files], workdir)[1:]
        return MonitoringResult(
            self.mode,
            backend,
            redacted(url),
            count,
            analysis,
            str(health.get("status", "unknown")),
            str(health.get("rule", "")),
            files,
            timings,
            self.out_dir or workdir,
            story=story,
            window=dict(window or {}),
        )

    def _keep(self, paths: list[Path], workdir: Path) -> list[Path]:
        """Copy the run's outputs to `out_dir`; a rerun replaces the agent's own files and removes
        those it does not write again (see `drop_stale`)."""
        assert self.out_dir is not None
        kept = copy_out(workdir, paths, self.out_dir)
        drop_stale(self.out_dir, kept)
        return kept
