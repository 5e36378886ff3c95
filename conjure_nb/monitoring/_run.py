"""One `MonitoringAgent.analyze` call as a straight pipeline over the agent's step objects.

fetch (native session) -> `logs.jsonl` counted -> analyse (a session on the run's backend) ->
`analysis.json` read -> report (the same session) -> the files copied to `out_dir` -> a
`MonitoringResult` stating the window it is about. Each step only does its work; what it must
leave behind is checked here, and each session's tool calls are counted into the run's figures.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from ..display._beneath import open_in, read_in
from ..models._base import fake_label
from ..session import Session
from ._fetcher import redacted
from ._outputs import copy_out, drop_stale
from ._result import MonitoringResult, window_words
from ._skillcode import skill_code
from ._steps import ANALYSIS_FILE, LOGS_FILE, AgentError, FetchRequest, StepRun, label

if TYPE_CHECKING:  # pragma: no cover
    from ._agent import MonitoringAgent

__all__ = ["Run", "check_window"]


def check_window(since: str | None, limit: int | None) -> None:
    """A bad `since` or `limit` is the caller's mistake, found before anything is fetched."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"limit must be a whole number of records, at least 1, or None; not {limit!r}")
    if since is not None:
        fetching = skill_code("log-analyzer", "fetch_logs")
        try:
            fetching.parse_time(str(since))
        except fetching.FetchError as exc:
            raise UsageError(f"since={since!r}: {exc}") from None


@dataclass
class Run:
    """One run's state: its agent, where it works, on which backend, and what it has measured."""

    agent: MonitoringAgent
    backend: str
    workdir: Path
    steps: int
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(
        default_factory=lambda: {"tool_calls": 0.0, "tool_errors": 0.0, "tool_ms": 0.0}
    )

    def __call__(self, request: FetchRequest) -> MonitoringResult:
        """The whole run: fetch, analyse, report (when `steps` is 3), and the result."""
        self.agent.progress(f"mode: {self.agent.mode} · backend: {self.backend} · working dir {self.workdir}")
        count = self.fetch(request)
        analysis, files = self.analyse_and_report(count)
        return self.result(request, count, analysis, files)

    def fetch(self, request: FetchRequest) -> int:
        """The fetch step in the native session; the records it left in `logs.jsonl`."""
        agent = self.agent
        with agent.start_session("native", working_dir=self.workdir) as session:
            agent.progress(
                f"[1/{self.steps}] fetching {request.asking} from {redacted(request.url)} "
                f"({label(agent.steps.fetch)})"
            )
            try:
                count: int = self._timed("fetch", lambda: self._fetched_records(self._step(session), request))
            finally:
                self._count(session)
        agent.progress(_fetched(self.workdir, count))
        return count

    def analyse_and_report(self, count: int) -> tuple[dict[str, Any], list[Path]]:
        """The analysis step, then the report step, in one session on the run's backend."""
        agent = self.agent
        with agent.start_session(self.backend, working_dir=self.workdir) as session:
            step = self._step(session)
            try:
                agent.progress(
                    f"[2/{self.steps}] analysing {count:,} records with {label(agent.steps.analysis)} "
                    f"({self.backend})"
                )
                analysis = self._timed("analyze", lambda: self._analyse(step))
                agent.progress(f"verdict: {(analysis.get('health') or {}).get('headline', '?')}")
                files: list[Path] = []
                if self.steps == 3:
                    agent.progress(
                        f"[3/{self.steps}] writing the incident report with {label(agent.steps.report)} "
                        f"({self.backend})"
                    )
                    files = self._timed("report", lambda: self._report(step))
            finally:
                self._count(session)
        return analysis, files

    def result(
        self, request: FetchRequest, count: int, analysis: dict[str, Any], files: list[Path]
    ) -> MonitoringResult:
        """The run's result; with `out_dir`, its files are copied there first."""
        health = analysis.get("health") or {}
        window = analysis.get("window") if isinstance(analysis.get("window"), dict) else {}
        story = _story(analysis, self.workdir)
        if self.agent.out_dir is not None:
            files = self._keep([self.workdir / ANALYSIS_FILE, *files])[1:]
        return MonitoringResult(
            self.agent.mode,
            self.backend,
            redacted(request.url),
            count,
            analysis,
            str(health.get("status", "unknown")),
            str(health.get("rule", "")),
            files,
            self.timings,
            self.agent.out_dir or self.workdir,
            metrics=self.metrics,
            story=story,
            window=dict(window or {}),
            fake_model=fake_label(self.agent.model) if self.agent.mode == "agent" else None,
        )

    def _fetched_records(self, step: StepRun, request: FetchRequest) -> int:
        self.agent.steps.fetch.fetch(step, request)
        return _count_records(step.working_dir)

    def _analyse(self, step: StepRun) -> dict[str, Any]:
        self.agent.steps.analysis.analyse(step)
        try:
            data: dict[str, Any] = json.loads(read_in(step.working_dir, ANALYSIS_FILE))
        except (OSError, ValueError) as exc:
            raise AgentError(f"the analysis step did not leave a readable {ANALYSIS_FILE}: {exc}") from exc
        return data

    def _report(self, step: StepRun) -> list[Path]:
        """The report step; when it fails, the analysis is kept (in `out_dir` when there is one)."""
        try:
            return self.agent.steps.report.write(step)
        except AgentError as exc:
            analysis = self.workdir / ANALYSIS_FILE
            kept = self._keep([analysis])[0] if self.agent.out_dir is not None else analysis
            raise AgentError(f"{exc}\nThe analysis is kept in {kept}.") from None

    def _keep(self, paths: list[Path]) -> list[Path]:
        """Copy the run's outputs to `out_dir`; a rerun replaces the agent's own files and removes
        those it does not write again (see `drop_stale`)."""
        out_dir = self.agent.out_dir
        assert out_dir is not None
        kept = copy_out(self.workdir, paths, out_dir)
        drop_stale(out_dir, kept)
        return kept

    def _timed(self, step: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            self.timings[step] = (time.perf_counter() - t0) * 1000

    def _count(self, session: Session) -> None:
        """Add one session's tool calls to this run's and its agent's figures.

        Counted from the session's own tool log, not a process-wide telemetry handler, so two
        agents (or any other sessions) running at the same time never inflate each other's figures.
        """
        calls = session.tool_log
        found = {
            "tool_calls": float(len(calls)),
            "tool_errors": float(sum(1 for c in calls if c.is_error)),
            "tool_ms": float(sum(c.duration_ms or 0.0 for c in calls)),
        }
        for key, value in found.items():
            self.metrics[key] += value
            self.agent.metrics[key] += value

    def _step(self, session: Session) -> StepRun:
        return StepRun(session, self.agent.progress, self.agent.skill)


def _count_records(workdir: Path) -> int:
    """The records the fetch step left in `logs.jsonl` (one per non-blank line).

    Raises:
        AgentError: there is no such file, or it cannot be read.
    """
    if not (workdir / LOGS_FILE).is_file():
        raise AgentError(f"the fetch step did not write {LOGS_FILE}")
    try:
        with os.fdopen(open_in(workdir, LOGS_FILE), "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError as exc:
        raise AgentError(f"the fetch step's {LOGS_FILE} cannot be read: {exc}") from None


def _fetched(workdir: Path, count: int) -> str:
    """The progress line after a fetch: what came back, from when to when, and whether it was cut."""
    meta = workdir / f"{LOGS_FILE}.fetch.json"
    try:
        fetch = json.loads(read_in(workdir, meta))
        summary = {"first_timestamp": fetch.get("first_timestamp"), "last_timestamp": fetch.get("last_timestamp"),
                   "total": count}  # fmt: skip
        window = skill_code("log-analyzer", "window").window(summary, [fetch], [LOGS_FILE])
    except (OSError, ValueError, AttributeError):
        return f"fetched {count:,} records"
    # the line before named the source; the query again (URL, since=, limit, order) only made the
    # line too long to read, and what it adds is said in words (asked, cut or not)
    return f"fetched {window_words({k: v for k, v in window.items() if k != 'query'})}"


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
