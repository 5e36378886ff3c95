"""The main job: the monitoring agent end to end on the embedded demo log API.

`conjure-nb demo run` (and `make demo`) starts the demo API on a free loopback port, runs the
`MonitoringAgent` over it, and leaves `analysis.json`, `incident-report.xlsx` and
`incident-report.pdf` in the output folder. With no API key and no `--model` it runs in pipeline
mode (no model involved) and says so.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..monitoring._agent import MonitoringAgent, MonitoringResult
from ..monitoring._skillcode import skill_code
from ..testing._demo_server import DemoLogServer

__all__ = ["run_main_job"]


def run_main_job(
    out: str | os.PathLike[str] = "out",
    *,
    backend: str = "auto",
    mode: str = "auto",
    since: str | None = "1h",
    limit: int | None = None,
    records: int = 5000,
    seed: int = 42,
    url: str | None = None,
    stream: TextIO | None = None,
    now: datetime | None = None,
) -> MonitoringResult:
    """Run the whole job; prints progress and a summary to `stream` (default stderr/stdout)."""
    say = _printer(stream or sys.stderr)
    t0 = time.perf_counter()
    if mode == "auto" and os.environ.get("ANTHROPIC_API_KEY"):
        mode = "agent"
    agent = MonitoringAgent(backend=backend, mode=mode, out_dir=out, progress=say)
    if agent.mode == "pipeline":
        say(
            "no model configured (ANTHROPIC_API_KEY is not set): pipeline mode, the skills run without a model"
        )
    else:
        say(f"agent mode: {agent.model!r} drives each step")
    if url is None:
        if now is not None and since is not None:  # "1h" means the hour before the data's own now
            fetching = skill_code("log-analyzer", "fetch_logs")
            since = fetching.iso(fetching.parse_time(since, now.astimezone(timezone.utc)))
        with DemoLogServer(records=records, seed=seed, now=now) as server:
            say(f"demo log API on {server.url} ({records:,} records, seed {seed})")
            result = agent.analyze(server.logs_url, since=since, limit=limit)
    else:
        result = agent.analyze(url, since=since, limit=limit)
    _summary(result, time.perf_counter() - t0, stream or sys.stdout)
    return result


def _printer(stream: TextIO) -> Any:
    def say(line: str) -> None:
        print(f"· {line}", file=stream, flush=True)

    return say


def _wrapped(lines: list[str], width: int = 100) -> list[str]:
    """The report's page-1 lines, long ones wrapped between words for a terminal."""
    import textwrap

    out: list[str] = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(
            line, width, subsequent_indent=indent + "  ", break_long_words=False, break_on_hyphens=False
        ) or [""]
    return out


def _summary(result: MonitoringResult, seconds: float, stream: TextIO) -> None:
    summary = result.analysis.get("summary", {})
    lines = ["", *_wrapped(result.story or [f"Health: {result.headline}"])]
    lines += [
        "",
        f"Records: {result.logs_fetched:,} fetched, {summary.get('errors', 0):,} errors "
        f"({summary.get('error_rate', 0):.1%}), {summary.get('warnings', 0):,} warnings",
    ]
    lines.append(f"Mode: {result.mode} · backend: {result.backend}")
    steps = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in result.timings.items())
    lines.append(f"Timings: {steps}; total {seconds:.2f} s")
    out = result.working_dir or Path(".")
    lines.append("Files:")
    for path in [out / "analysis.json", *result.report_files]:
        lines.append(f"  {path}")
    print("\n".join(lines), file=stream, flush=True)
