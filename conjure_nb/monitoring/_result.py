"""What a monitoring run produced, and how it shows itself in a notebook.

`MonitoringResult` (one source, `MonitoringAgent.analyze`) and `FleetResult` (many,
`analyze_many`) each render themselves with one `_repr_mimebundle_`; `cj.show` uses the same
rendering. Everything in them that came from a log source, a skill or the caller (rules, titles,
source names, failure reasons) is untrusted: the HTML is built only from the display layer's
escaping blocks, never from Markdown, and report files are previewed beneath the run's working dir
without following links. `analysis_html` renders the log-analyzer's JSON itself (`cj.show(analysis)`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._errors import UsageError
from ..display._beneath import open_in
from ..display._html import badge, details, error_box, esc, frame, img_png, note, table
from ..display._mime import Formats, Rendered
from ..display._previews import FileOptions, opened_file_html
from ..tools._render import fake_badge
from ._skillcode import skill_code

__all__ = ["FleetResult", "MonitoringResult", "analysis_html", "is_analysis", "window_words"]


def window_words(window: dict[str, Any]) -> str:
    """The window in one line (the log-analyzer skill's own wording), or "" without one."""
    if not window:
        return ""
    try:
        return str(skill_code("log-analyzer", "window").describe(window))
    except (ImportError, UsageError, KeyError, TypeError, ValueError):
        return ""


@dataclass
class MonitoringResult(Rendered):
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
    fake_model: str | None = None
    """In agent mode, the stand-in model that drove the steps ("scripted model, offline"), named by a
    badge beside the mode; None for a real model or no model (pipeline mode)."""

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
        """The result as JSON-ready data (the analysis itself left out: it is analysis.json)."""
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
            "fake_model": self.fake_model,
        }

    def __repr__(self) -> str:
        return f"<MonitoringResult {self.headline}>"

    def html(self, opts: FileOptions | None = None) -> str:
        """The verdict with its window and what is still going on, the run's facts, the analysis'
        charts, and each report file previewed (`opts` caps the previews)."""
        files = ", ".join(f"<code>{esc(p.name)}</code>" for p in self.report_files) or "none"
        steps = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in self.timings.items())
        ongoing = "; ".join(f"{d.get('title')} in {', '.join(d.get('services') or {})}" for d in self.ongoing)
        by = f" {fake_badge(self.fake_model)}" if self.fake_model else ""  # a stand-in drove the steps
        parts = [
            f"<p><b>Health: {esc(self.headline)}</b> — {esc(self.health_rule)}</p>",
            f"<p><b>Ongoing at the window's end:</b> {esc(ongoing)}</p>" if ongoing else "",
            f"<p>Window: {esc(window_words(self.window))}</p>",
            f"<p>{self.logs_fetched:,} log records from <code>{esc(self.url)}</code> · mode "
            f"<b>{esc(self.mode)}</b>{by} on <b>{esc(self.backend)}</b> · Reports: {files} · Timings: {esc(steps)}</p>",
        ]
        if is_analysis(self.analysis):
            parts += _analysis_parts(self.analysis)
        parts += [self._file_html(p, opts or FileOptions()) for p in self.report_files]
        return frame("".join(parts))

    def _file_html(self, path: Path, opts: FileOptions) -> str:
        """A report file previewed, opened beneath the run's dir (the sandbox's) without following links."""
        root = self.working_dir or path.parent
        try:
            f = os.fdopen(open_in(root, path), "rb")
        except FileNotFoundError:
            return error_box(f"{path.name}: no such file", note(str(path)))
        except OSError as exc:
            return error_box(f"{path.name}: not opened", note(str(exc)))
        with f:
            return opened_file_html(f, path.name, str(path), opts)

    formats: ClassVar[Formats] = {"default": {"text/html": lambda r: r.html(), "text/plain": repr}}


@dataclass
class FleetResult(Rendered):
    """The fleet view (one analysis of every source), each source's own, and what failed.

    `window` is what the fleet view looked at: the sources' windows merged exactly (earliest
    start, latest end, records summed, truncated when any source's was); each source's own is
    `sources[name]["window"]`."""

    analysis: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    failures: dict[str, str]
    report_files: list[Path] = field(default_factory=list)
    shards: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    working_dir: Path | None = None

    @property
    def health_status(self) -> str:
        """The fleet verdict's status: "healthy", "degraded", "critical" or "unknown"."""
        return str(self.analysis.get("health", {}).get("status", "unknown"))

    @property
    def window(self) -> dict[str, Any]:
        """The merged window of every source that could be read (analysis.json's `window`)."""
        found = self.analysis.get("window")
        return dict(found) if isinstance(found, dict) else {}

    @property
    def headline(self) -> str:
        """The fleet verdict with its window: "critical in the last hour, 09:00–10:00 UTC (...)"."""
        found = self.analysis.get("health", {}).get("headline")
        return str(found) if found else self.health_status

    def __repr__(self) -> str:
        return (
            f"<FleetResult {self.headline}: {len(self.sources)} sources,"
            f" {len(self.failures)} failed, {self.shards} shards>"
        )

    def table(self) -> list[dict[str, Any]]:
        """One row per source: records, window, errors, error rate and health (failed sources included)."""
        rows = [source_row(name, report) for name, report in self.sources.items()]
        rows += [
            {"source": name, "records": 0, "health": "failed", "error": why}
            for name, why in self.failures.items()
        ]
        return rows

    def html(self, opts: FileOptions | None = None) -> str:
        """The fleet verdict with its window, then one row per source (failed ones with their reason).

        `opts` is taken for the same call shape as `MonitoringResult.html`; the fleet shows no files."""
        summary = self.analysis.get("summary", {})
        failed = f"; <b>{len(self.failures)} failed</b>" if self.failures else ""
        head = (
            "<tr><th>source</th><th>records</th><th>window</th><th>cut by a limit</th><th>errors</th>"
            "<th>error rate</th><th>health</th></tr>"
        )
        return (
            f"<p><b>Fleet health: {esc(self.headline)}</b> — "
            f"{esc(self.analysis.get('health', {}).get('rule', ''))}</p>"
            f"<p>{summary.get('total', 0):,} records from {len(self.sources)} sources in {self.shards} shards"
            f"{failed}</p><table><thead>{head}</thead><tbody>{''.join(map(_fleet_row_html, self.table()))}"
            "</tbody></table>"
        )

    formats: ClassVar[Formats] = {"default": {"text/html": lambda r: r.html(), "text/plain": repr}}


def _fleet_row_html(row: dict[str, Any]) -> str:
    rate = f"{row['error_rate']:.1%}" if "error_rate" in row else ""
    health = row["health"] + (": " + str(row["error"]) if "error" in row else "")
    cut = ("yes" if row["truncated"] else "no") if "truncated" in row else ""
    return (
        f"<tr><td><code>{esc(row['source'])}</code></td><td align='right'>{row['records']:,}</td>"
        f"<td>{esc(row.get('window', ''))}</td><td>{cut}</td>"
        f"<td align='right'>{esc(row.get('errors', ''))}</td><td align='right'>{rate}</td>"
        f"<td>{esc(health)}</td></tr>"
    )


def source_row(name: str, report: dict[str, Any]) -> dict[str, Any]:
    """One source's line of the fleet table, from its own analysis."""
    summary = report["summary"]
    window = report.get("window") or {}
    return {
        "source": name,
        "records": summary["total"],
        "window": f"{window.get('start') or '-'} – {window.get('end') or '-'}",
        "truncated": bool(window.get("truncated")),
        "errors": summary["errors"],
        "error_rate": summary["error_rate"],
        "health": report["health"]["status"],
    }


# -- the log-analyzer's JSON --------------------------------------------------------------------------


def is_analysis(value: Any) -> bool:
    """Whether `value` looks like the log analyzer's JSON."""
    return isinstance(value, dict) and isinstance(value.get("summary"), dict) and "health" in value


def analysis_html(analysis: dict[str, Any]) -> str:
    """The health verdict and the window, the key numbers, the charts, and the top error signatures."""
    health = analysis.get("health") or {}
    status = str(health.get("status", "unknown"))
    color = {"critical": "error", "degraded": "interrupted", "healthy": "ok"}.get(status, status)
    verdict = str(health.get("headline") or "")
    verdict = verdict[len(status) :] if verdict.startswith(status) else verdict
    parts = [f"<div style='font-size:1.1em'>Health: {badge(color).replace(esc(color), esc(status))}"
             f"{esc(verdict)} — {esc(health.get('rule', ''))}</div>"]  # fmt: skip
    window = analysis.get("window") if isinstance(analysis.get("window"), dict) else {}
    if window:
        parts.append(note(_window_line(window)))
    return frame("".join(parts + _analysis_parts(analysis)))


def _analysis_parts(analysis: dict[str, Any]) -> list[str]:
    """The key numbers, the charts and the top error signatures (the verdict is said before them)."""
    from ._charts import analysis_charts_png

    summary = analysis["summary"]
    facts = [f"{summary.get('total', 0):,} records"]
    if "error_rate" in summary:
        facts.append(f"error rate {summary['error_rate']:.1%}")
    if summary.get("first_timestamp"):
        facts.append(f"{summary['first_timestamp']} → {summary.get('last_timestamp', '')}")
    parts = [note(" · ".join(facts))]
    png = analysis_charts_png(analysis)
    if png:
        parts.append(img_png(png, "errors over time, level breakdown, top error signatures"))
    top = analysis.get("top_errors") or []
    if top:
        import pandas as pd

        cols = [c for c in ("signature", "count", "share", "first_seen", "last_seen") if c in top[0]]
        parts.append(details(f"top {len(top)} error signatures", table(pd.DataFrame(top)[cols], 20)))
    return parts


def _window_line(window: dict[str, Any]) -> str:
    cut = "cut by a limit" if window.get("truncated") else "not cut by a limit"
    available = window.get("available")
    held = f" of {int(available):,} available" if isinstance(available, int) else ""
    return (
        f"Window: {int(window.get('records') or 0):,} records{held}, "
        f"{window.get('start') or '-'} → {window.get('end') or '-'}; asked: "
        f"{window.get('asked') or '-'}; {cut}; query: {window.get('query') or '-'}"
    )
