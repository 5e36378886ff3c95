"""Errors over time, one line per service (or per fleet source), drawn by the host with matplotlib.

A `Figure` is built directly (no pyplot), so the chart never touches the notebook's figure state.
Incidents are shaded (red while ongoing, grey once resolved) so the chart and the incidents table
tell the same story.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from ._state import Snapshot

__all__ = ["errors_chart_png"]

_COLORS = ["#d32f2f", "#1976d2", "#f9a825", "#2e7d32", "#6a1b9a", "#00838f", "#78909c"]


def _when(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")[:16])
    except ValueError:
        return None


def errors_chart_png(snap: Snapshot, width_px: int = 860, height_px: int = 260) -> bytes | None:
    """The chart as PNG bytes, or None when the run has no timeline to draw."""
    if not snap.series:
        return None
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure

    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    for i, (name, points) in enumerate(snap.series.items()):
        xs = [_when(t) for t, _ in points]
        pairs = [(x, n) for x, (_, n) in zip(xs, points) if x is not None]
        if pairs:
            ax.plot(date2num([x for x, _ in pairs]), [n for _, n in pairs], label=name, lw=1.6,
                    color=_COLORS[i % len(_COLORS)])  # fmt: skip
    bucket = timedelta(minutes=snap.bucket_minutes or 1)
    for incident in snap.incidents:
        start, end = _when(incident["start"]), _when(incident["end"] or incident["start"])
        if start is not None and end is not None:
            end += bucket  # an incident covers its last bucket too
            ongoing = incident["status"] == "ongoing"
            ax.axvspan(
                date2num(start), date2num(end), color="#d32f2f" if ongoing else "#9e9e9e", alpha=0.15, lw=0
            )
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    per = f" per {snap.bucket_minutes} min" if snap.bucket_minutes else ""
    ax.set_ylabel(f"errors{per}")
    ax.set_title(
        "Errors over time by service (shaded: incidents; red while ongoing)", fontsize=10, loc="left"
    )
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
