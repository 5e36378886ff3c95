"""`MonitorPanel`: the health of the last monitoring run, with Refresh and auto-refresh.

A refresh calls the function the dashboard was given (fetch and analyse again) in a background
thread, so the kernel keeps serving the widgets while it runs; auto-refresh is one more thread that
sleeps for the chosen interval. Both end on `close()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import ipywidgets as w

from ....tools._file_previews import FileOptions
from ...render import bundle
from ._chart import errors_chart_png
from ._markup import error_box, esc, note
from ._state import Snapshot, snapshot
from ._tiles import incidents_html, signatures_html, sources_html, tiles_html

__all__ = ["INTERVALS", "MonitorPanel"]

INTERVALS = (("auto-refresh: off", 0), ("every 30 s", 30), ("every 1 min", 60), ("every 5 min", 300))
_REPORT_PREVIEW = FileOptions(max_rows=12, max_pages=1, max_text=2000)


class MonitorPanel(w.VBox):
    """Health tiles, errors over time, incidents, signatures, the report and the fleet's sources.

    Args:
        refresh: fetches and analyses again; returns a `MonitoringResult` or `FleetResult`.
            None: a fixed view of `result` (no Refresh button).
        result: the run to show first; without one, the first refresh starts at once.
        interval: auto-refresh period in seconds (0: off; one of `INTERVALS`).
    """

    def __init__(self, refresh: Callable[[], Any] | None, result: Any = None, *, interval: int = 0):
        self._refresh = refresh
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._worker: threading.Thread | None = None
        self.errors: list[BaseException] = []
        self.result: Any = None
        self.snapshot: Snapshot | None = None
        self.runs = 0
        self.last_run: datetime | None = None
        self.chart_png: bytes | None = None
        self.refresh_button = w.Button(
            description="Refresh", icon="refresh", button_style="primary", disabled=refresh is None,
            tooltip="fetch the logs again and re-analyse them", layout=w.Layout(width="auto"),
        )  # fmt: skip
        self.interval = w.Dropdown(
            options=list(INTERVALS), value=interval, disabled=refresh is None, layout=w.Layout(width="auto")
        )
        self.last_run_label = w.HTML("not run yet")
        self.last_run_label.add_class("conjure-last-run")
        self.notice = w.HTML()
        self.tiles = w.HTML()
        self.chart = w.Image(
            format="png", layout=w.Layout(width="100%", height="auto", max_width="980px", margin="0")
        )
        self.chart.add_class("conjure-errors-chart")
        self.incidents = w.HTML()
        self.signatures = w.HTML()
        self.sources = w.HTML()
        self.report = w.Output(layout=w.Layout(width="100%"))
        title = w.HTML("<b style='font-size:15px'>Monitoring</b>", layout=w.Layout(flex="1"))
        header = w.HBox(
            [title, self.last_run_label, self.interval, self.refresh_button],
            layout=w.Layout(align_items="center", width="100%", flex_flow="row wrap"),
        )
        self.header = header
        self.overview = w.VBox(
            [
                self.chart,
                _heading("Incidents"),
                self.incidents,
                _heading("Top error signatures"),
                self.signatures,
            ]
        )
        self.tabs = w.Tab(children=[self.overview, self.report], layout=w.Layout(width="100%"))
        self.tabs.titles = ("Overview", "Report")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.interval.observe(lambda _c: self._wake.set(), "value")
        super().__init__([header, self.notice, self.tiles, self.tabs], layout=w.Layout(width="100%"))
        self.add_class("conjure-monitor")
        if result is not None:
            self.show(result)
        elif refresh is not None:
            self.refresh()
        self._timer: threading.Thread | None = None
        if refresh is not None:
            self._timer = threading.Thread(target=self._auto, name="conjure-dashboard-auto", daemon=True)
            self._timer.start()

    # -- public --------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        worker = self._worker
        return worker is not None and worker.is_alive()

    def add_tab(self, title: str, widget: w.Widget) -> None:
        self.tabs.children = (*self.tabs.children, widget)
        self.tabs.set_title(len(self.tabs.children) - 1, title)

    def refresh(self) -> bool:
        """Fetch and analyse again in the background; False when one is running or there is no
        refresh function. `wait()` for it."""
        with self._lock:
            if self._refresh is None or self.busy or self._closed.is_set():
                return False
            self.refresh_button.disabled = True
            self.refresh_button.description = "Refreshing…"
            self.notice.value = note("Fetching and analysing…")
            self._worker = threading.Thread(target=self._run, name="conjure-dashboard-refresh", daemon=True)
            self._worker.start()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running refresh is over; True when none is running any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return not self.busy

    def show(self, result: Any, elapsed_s: float | None = None) -> None:
        """Show one run (a `MonitoringResult`, `FleetResult` or analysis dict)."""
        snap = snapshot(result)
        chart = errors_chart_png(snap)
        with self._lock:
            self.result, self.snapshot, self.chart_png = result, snap, chart
            self.runs += 1
            self.last_run = datetime.now(timezone.utc)
            took = f" · took {elapsed_s:.1f} s" if elapsed_s is not None else ""
            self.last_run_label.value = (
                f"<span style='white-space:nowrap;padding:0 8px'>last run "
                f"<b>{self.last_run:%H:%M:%S}</b> UTC{took} · run {self.runs}</span>"
            )
            self.tiles.value = tiles_html(snap)
            self.chart.value = chart or b""
            self.chart.layout.display = None if chart else "none"
            self.incidents.value = incidents_html(snap)
            self.signatures.value = signatures_html(snap)
            self.sources.value = sources_html(snap)
            if snap.sources and self.sources not in self.tabs.children:
                self.add_tab("Sources", self.sources)
            self.report.outputs = tuple(_report_outputs(snap))

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        for thread in (self._timer, self._worker):
            if thread is not None and thread is not threading.current_thread():
                thread.join(10)
        super().close()

    # -- background work ------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._refresh is not None
        t0 = time.perf_counter()
        try:
            result = self._refresh()
            if not self._closed.is_set():
                self.show(result, time.perf_counter() - t0)
                self.notice.value = ""
        except Exception as exc:  # shown on the panel, kept in .errors
            self.errors.append(exc)
            self.notice.value = error_box(
                "Refresh failed", f"<div>{esc(type(exc).__name__)}: {esc(exc)}</div>"
            )
        finally:
            self.refresh_button.description = "Refresh"
            self.refresh_button.disabled = False

    def _auto(self) -> None:
        while not self._closed.is_set():
            period = int(self.interval.value or 0)
            self._wake.clear()
            if self._wake.wait(period if period > 0 else None):
                continue  # the interval changed, or the panel is closing
            if not self._closed.is_set():
                self.refresh()


def _heading(text: str) -> w.HTML:
    return w.HTML(f"<b style='font-size:13px'>{esc(text)}</b>")


def _report_outputs(snap: Snapshot) -> list[dict[str, Any]]:
    files = [p for p in snap.report_files if p.suffix.lower() in (".pdf", ".xlsx")]
    if not files:
        text = "No report in this run."
        return [{"output_type": "display_data", "data": {"text/plain": text}, "metadata": {}}]
    order = sorted(files, key=lambda p: (p.suffix.lower() != ".pdf", p.name))
    return [
        {"output_type": "display_data", "data": bundle(p, _REPORT_PREVIEW), "metadata": {}} for p in order
    ]
