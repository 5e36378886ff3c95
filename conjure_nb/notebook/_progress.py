"""A progress bar for long fleet runs, shown only where a notebook can draw it.

Console lines go through `MonitoringAgent.progress` either way; in a Jupyter kernel with
ipywidgets, `analyze_many` also shows a bar that fills as shards finish, so a run of many
minutes is visibly alive without scrolling text. The monitoring layer only emits telemetry
(`("conjure", "fleet", "start"|"shard")`); `follow_fleets` turns those events into bars.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .. import telemetry

__all__ = ["ShardBar", "follow_fleets", "in_notebook"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (not a terminal IPython, not a script)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


class ShardBar:
    """`done shards / all shards`, with failed shards counted and the bar red when any failed."""

    def __init__(self, total: int, *, show: bool | None = None):
        self.total, self.done, self.failed = total, 0, 0
        self.widget: Any = None
        if total and (in_notebook() if show is None else show):
            try:
                import ipywidgets as w
                from IPython.display import display
            except ImportError:
                return
            self.widget = w.IntProgress(value=0, min=0, max=total, bar_style="info")
            self.widget.description = self._label()
            self.widget.style.description_width = "initial"
            display(self.widget)

    def step(self, *, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.widget is not None:
            self.widget.value = self.done
            self.widget.description = self._label()
            if self.done == self.total:
                self.widget.bar_style = "danger" if self.failed else "success"

    def _label(self) -> str:
        tail = f", {self.failed} failed" if self.failed else ""
        return f"shards {self.done}/{self.total}{tail}"


_HANDLER_ID = "conjure-notebook-fleet-progress"
_FOLLOW_LOCK = threading.Lock()


def follow_fleets() -> bool:
    """Show a `ShardBar` for every `analyze_many` run from now on, when this is a notebook kernel.

    Idempotent; returns whether bars are shown. The facade calls it when `cj.MonitoringAgent` is
    first looked up, so a notebook gets bars without asking.
    """
    if not in_notebook():
        return False
    bars: dict[str, ShardBar] = {}

    def on_event(
        event: tuple[str, ...], measurements: Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> None:
        run = str(metadata.get("run"))
        if event[-1] == "start":
            bars[run] = ShardBar(int(measurements["total"]), show=True)
            return
        bar = bars.get(run)
        if bar is None:
            return
        bar.step(failed=int(measurements["failed"]) > bar.failed)
        if bar.done >= bar.total:
            del bars[run]

    with _FOLLOW_LOCK:
        if _HANDLER_ID not in telemetry.handlers():
            telemetry.attach(
                _HANDLER_ID, [("conjure", "fleet", "start"), ("conjure", "fleet", "shard")], on_event
            )
    return True
