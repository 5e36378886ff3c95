"""The monitoring agent's report written by Anthropic's hosted xlsx and pdf skills.

`MonitoringAgent(report_backend="anthropic")` uses `AnthropicReportWriter` for its report step
(as the seed's `generate_report_anthropic` did): the analysis goes to Claude in a hosted
code-execution container with the `xlsx` and `pdf` skills, and the files it makes are downloaded
into the step's `reports/` folder. Without a key (no `model=` and no ANTHROPIC_API_KEY) the local
`incident-report` skill writes the report instead, and the agent's progress says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..display._beneath import read_in
from ..session import Session
from ._steps import ANALYSIS_FILE, REPORT_DIR, AgentError, LocalReportWriter, StepRun

__all__ = ["HOSTED_REPORT_SKILLS", "AnthropicReportWriter"]

HOSTED_REPORT_SKILLS = (("anthropic", "xlsx", "latest"), ("anthropic", "pdf", "latest"))
MAX_ANALYSIS_CHARS = 150_000


class AnthropicReportWriter:
    """The report step (a `ReportStep`) through `Session.new_anthropic` with the hosted document skills.

    Args:
        model: the model (default: `AnthropicModel()`, key from ANTHROPIC_API_KEY).
        formats: the files to ask for, e.g. "xlsx,pdf".
        title: the report's title.
        skills: hosted skill specs for the container.
        **session_options: passed to `Session.new_anthropic` (settings=, max_iterations=, ...).

    Attributes:
        note: why the local skill wrote the report instead, after a fallback; else None.
    """

    def __init__(
        self,
        model: Any = None,
        *,
        formats: str = "xlsx,pdf",
        title: str = "Incident report",
        skills: Any = HOSTED_REPORT_SKILLS,
        **session_options: Any,
    ):
        self.model = model
        self.formats = formats
        self.title = title
        self.skills = list(skills)
        self.session_options = session_options
        self.note: str | None = None

    label = "Anthropic's hosted xlsx/pdf skills"

    def write(self, run: StepRun) -> list[Path]:
        if self.model is None and not os.environ.get("ANTHROPIC_API_KEY"):
            self.note = (
                "no ANTHROPIC_API_KEY, so Anthropic's hosted xlsx/pdf skills are not available: the "
                "local incident-report skill writes the report instead"
            )
            run.progress(f"      report: {self.note}")
            return LocalReportWriter(self.formats, self.title).write(run)
        self.note = None
        analysis = read_in(run.working_dir, ANALYSIS_FILE).decode("utf-8", errors="replace")
        wanted = [f.strip().lower() for f in self.formats.split(",") if f.strip()]
        with Session.new_anthropic(self.skills, model=self.model, **self.session_options) as hosted:
            reply = hosted.chat(_prompt(analysis, wanted, self.title))
            paths = hosted.download_files(run.working_dir / REPORT_DIR)
        files = sorted(p for p in paths if p.suffix.lstrip(".").lower() in wanted)
        if not files:
            raise AgentError(
                f"the hosted report step made no {'/'.join(wanted)} file; the model said: {reply.text[:300]!r}"
            )
        return files


def _prompt(analysis: str, formats: list[str], title: str) -> str:
    cut = ""
    if len(analysis) > MAX_ANALYSIS_CHARS:
        analysis = analysis[:MAX_ANALYSIS_CHARS]
        cut = f" (cut to its first {MAX_ANALYSIS_CHARS:,} characters)"
    kinds = " and ".join(f"a .{f} file" for f in formats)
    return (
        f"Write an incident report titled {title!r} as {kinds}, using your document skills. Base it on "
        f"this log analysis (JSON{cut}): an executive summary with the health status and the rule that "
        "decided it, the error details, a timeline and recommendations. Save each file in the current "
        "directory and finish with one line naming the files.\n\n"
        f"```json\n{analysis}\n```"
    )
