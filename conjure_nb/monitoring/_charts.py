"""Charts of a log analysis (the `log-analyzer` JSON or a `MonitoringResult`): errors over time,
the level breakdown and the top error signatures, drawn with matplotlib into one PNG.

A `Figure` is built directly (no pyplot), so drawing never touches the notebook's global figure
state nor shows a second copy through the inline backend. Sections whose keys are missing are
left out: the charts follow whatever the analysis holds.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["analysis_charts_png"]

_LEVEL_COLORS = {"ERROR": "#d32f2f", "FATAL": "#8e0000", "WARN": "#f9a825", "WARNING": "#f9a825",
                 "INFO": "#1976d2", "DEBUG": "#78909c"}  # fmt: skip


def _timeline(ax: Any, analysis: dict[str, Any]) -> None:
    points = (analysis.get("timeline") or {}).get("points") or []
    xs = list(range(len(points)))
    ax.plot(xs, [p.get("errors", 0) for p in points], color=_LEVEL_COLORS["ERROR"], label="errors")
    ax.plot(xs, [p.get("warnings", 0) for p in points], color=_LEVEL_COLORS["WARN"], label="warnings")
    for anomaly in analysis.get("anomalies") or []:
        minutes = [p.get("minute") for p in points]
        if anomaly.get("start") in minutes and anomaly.get("end") in minutes:
            ax.axvspan(
                minutes.index(anomaly["start"]), minutes.index(anomaly["end"]), color="#d32f2f", alpha=0.12
            )
    if points:
        ticks = xs[:: max(1, len(xs) // 5)]
        ax.set_xticks(ticks, [str(points[i].get("minute", ""))[11:16] for i in ticks])
    bucket = (analysis.get("timeline") or {}).get("bucket_minutes")
    ax.set_title(f"errors over time{f' (per {bucket} min)' if bucket else ''}")
    ax.legend(loc="upper left", fontsize=8)


def _levels(ax: Any, analysis: dict[str, Any]) -> None:
    levels = analysis["summary"].get("levels") or {}
    names = list(levels)
    ax.bar(names, [levels[n] for n in names], color=[_LEVEL_COLORS.get(n, "#90a4ae") for n in names])
    ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    ax.set_title("records by level")


def _signatures(ax: Any, analysis: dict[str, Any]) -> None:
    top = (analysis.get("top_errors") or [])[:8][::-1]
    labels = [_short(str(t.get("signature", "?"))) for t in top]
    ax.barh(range(len(top)), [t.get("count", 0) for t in top], color=_LEVEL_COLORS["ERROR"])
    ax.set_yticks(range(len(top)), labels, fontsize=7)
    ax.set_title("top error signatures")


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def analysis_charts_png(analysis: dict[str, Any], width_in: float = 12.0) -> bytes | None:
    """The charts as PNG bytes, or None when the analysis has nothing to chart."""
    sections = [
        fn
        for fn, present in (
            (_timeline, bool((analysis.get("timeline") or {}).get("points"))),
            (_levels, bool(analysis["summary"].get("levels"))),
            (_signatures, bool(analysis.get("top_errors"))),
        )
        if present
    ]
    if not sections:
        return None
    from matplotlib.figure import Figure

    ratios = [1.6 if fn is _timeline else 1.4 if fn is _signatures else 0.8 for fn in sections]
    fig = Figure(figsize=(width_in, 3.2), dpi=90, layout="constrained")
    axes = fig.subplots(1, len(sections), width_ratios=ratios, squeeze=False)[0]
    for ax, fn in zip(axes, sections):
        fn(ax, analysis)
        ax.spines[["top", "right"]].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
