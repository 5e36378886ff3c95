"""`cj.dashboard(...)`: the monitoring agent's control room, with the chat beside it.

```python
board = cj.dashboard(session, skills=registry, sources=url)          # fetch + analyse, then show
board = cj.dashboard(session, skills=registry, result=agent_result)  # show a run already made
board = cj.dashboard(session, skills=registry)                       # chat, files and skills only
```

On the left: health at a glance (status, error rate against the thresholds, ongoing and resolved
incidents, the window analysed), errors over time by service, the incidents and top error
signatures, the report (pdf page, xlsx sheets, downloads), the fleet's sources when there are
several, the files the chat made and the skills; Refresh and an auto-refresh interval, with the
time of the last run. On the right: a `ChatPanel` to ask about what is shown. The same dashboard
is served as a standalone app by `conjure-nb dashboard` (Voilà).

Widgets need a live kernel; the dashboard also carries a static HTML copy of what it shows, so a
notebook exported by nbconvert shows the last run (and says what needs a kernel) instead of nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .._chat import ChatPanel
from .._files_panel import FilesPanel
from .._skills import SkillBrowser
from ._monitor import INTERVALS, MonitorPanel
from ._tiles import static_html

if TYPE_CHECKING:  # pragma: no cover
    from ....session import Session
    from ....tools._response import Response

__all__ = ["INTERVALS", "Dashboard", "MonitorPanel", "dashboard"]

LIVE_NOTE = (
    "A static copy of the dashboard as last run. Refresh, auto-refresh, the report downloads' previews "
    "and the chat need a live kernel: open the notebook in JupyterLab or run `conjure-nb dashboard`."
)
_CSS = """<style>
.conjure-dashboard .conjure-table th, .conjure-dashboard .conjure-table td { padding: 2px 8px; }
.conjure-dashboard .conjure-table td { overflow-wrap: anywhere; }
.conjure-dashboard .conjure-tile div { line-height: 1.3; overflow-wrap: anywhere; }
.conjure-dashboard .widget-tab > .p-TabBar .p-TabBar-tab,
.conjure-dashboard .widget-tab > .lm-TabBar .lm-TabBar-tab { min-width: 90px; flex: 0 1 auto; }
.conjure-dashboard .conjure-skill-browser th { white-space: nowrap; vertical-align: top; }
.conjure-dashboard .conjure-skill-browser td { overflow-wrap: anywhere; }
.conjure-dashboard .conjure-skill-browser > .widget-hbox { flex-wrap: wrap; }
.conjure-dashboard .conjure-skill-browser > .widget-hbox > .widget-vbox { min-width: 0; }
</style>"""


class Dashboard(w.VBox):
    """The monitor (when there is one) beside a `ChatPanel`; `.monitor`, `.chat`, `.files`, `.skills`.

    Without a monitor, the chat sits beside tabs holding the files and skills, as before.
    """

    def __init__(
        self,
        chat: ChatPanel,
        files: FilesPanel,
        skills: SkillBrowser,
        monitor: MonitorPanel | None = None,
        on_close: Callable[[], None] | None = None,
    ):
        self.chat, self.files, self.skills, self.monitor = chat, files, skills, monitor
        self.closers: list[Callable[[], None]] = [on_close] if on_close is not None else []
        """Called once on `close()`, after the panels: what the dashboard owns (its agent, ...)."""
        chat.on_file(files.add)
        chat.conversation.layout = w.Layout(max_height="560px", overflow="auto")
        if monitor is not None:
            chat.message.placeholder = "Ask about what is shown"
        self.chat_note = w.HTML(
            "<b style='font-size:15px'>Ask</b> <span style='opacity:0.75'>about the health, the incidents, "
            "the report</span>"
            if monitor is not None
            else ""
        )
        right = w.VBox(
            [self.chat_note, chat], layout=w.Layout(flex="2 1 340px", min_width="340px", max_width="560px")
        )
        if monitor is not None:
            monitor.add_tab("Files", files)
            monitor.add_tab("Skills", skills)
            self.tabs = monitor.tabs
            left: w.Widget = monitor
        else:
            self.tabs = w.Tab(children=[files, skills])
            self.tabs.titles = ("Files", "Skills")
            left = self.tabs
        left.layout.flex = "3 1 560px"
        left.layout.min_width = "0"
        left.layout.width = "auto"
        row = w.HBox([left, right], layout=w.Layout(width="100%", align_items="flex-start", grid_gap="12px"))
        super().__init__([w.HTML(_CSS), row], layout=w.Layout(width="100%"))
        self.add_class("conjure-dashboard")

    def refresh(self) -> bool:
        """Fetch and analyse again (see `MonitorPanel.refresh`); False without a monitor."""
        return self.monitor.refresh() if self.monitor is not None else False

    def wait(self, timeout: float | None = None) -> Response | None:
        """Wait for a running refresh, then for the chat's running turn (see `ChatPanel.wait`)."""
        if self.monitor is not None:
            self.monitor.wait(timeout)
        return self.chat.wait(timeout)

    def static_html(self) -> str:
        """What the dashboard shows, as one static HTML page (the copy nbconvert keeps)."""
        m = self.monitor
        if m is None or m.snapshot is None:
            return (
                '<div class="conjure-nb"><b>conjure_nb dashboard</b>: chat, files and skills are live '
                "widgets and need a running kernel (JupyterLab, Notebook 7, VS Code or "
                "<code>conjure-nb dashboard</code>).</div>"
            )
        when = f"{m.last_run:%Y-%m-%d %H:%M:%S} UTC" if m.last_run else "never"
        return static_html(m.snapshot, m.chart_png, when, LIVE_NOTE)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs)
        if isinstance(data, dict):
            data["text/html"] = self.static_html()
        return data

    def close(self) -> None:
        panels = (self.monitor, self.chat, self.files, self.skills)
        for panel in panels:
            if panel is not None:
                panel.close()
        while self.closers:
            self.closers.pop(0)()
        super().close()


def dashboard(
    session: Session | None = None,
    skills: Any = None,
    *,
    sources: Any = None,
    result: Any = None,
    agent: Any = None,
    refresh: Callable[[], Any] | None = None,
    interval: int = 0,
    limit: int = 2000,
    **chat_options: Any,
) -> Dashboard:
    """The monitoring control room: health, errors over time, incidents, report and chat.

    Args:
        session: the session the chat talks to; without one the chat panel builds sessions from
            `skills` with backend and model pickers (`chat_options` go to `ChatPanel`).
        skills: what the Skills tab shows: a `Registry` (followed live), skills or paths;
            default: the session's skills.
        sources: a log API URL or file (one run: `MonitoringAgent.analyze`), or a list of them (a
            fleet: `analyze_many`); Refresh fetches and analyses them again.
        result: a `MonitoringResult` or `FleetResult` to show at once (else the first refresh runs
            when the dashboard is built).
        agent: the `MonitoringAgent` that refreshes; default: a pipeline-mode agent on the local
            backend, owned by the dashboard and closed with it.
        refresh: a function returning a new result, instead of `sources` and `agent`.
        interval: auto-refresh period in seconds: 0 (off), 30, 60 or 300.
        limit: records fetched per source on each refresh.
        **chat_options: passed to `ChatPanel` (`approvals=`, `prices=`, `models=`, ...).
    """
    from ....skills._registry import Registry

    browse = skills if skills is not None else (session.skills if session is not None else [])
    chat_skills = browse.list() if isinstance(browse, Registry) else browse
    if session is None:
        chat_options.setdefault("skills", chat_skills)
    cleanup: list[Callable[[], None]] = []
    if refresh is None and sources is not None:
        refresh, agent = _refresher(sources, agent, limit, cleanup)
    monitor = None
    if refresh is not None or result is not None:
        monitor = MonitorPanel(refresh, result, interval=interval)
    chat = ChatPanel(session, **chat_options)

    def close_owned() -> None:
        for fn in cleanup:
            fn()

    return Dashboard(chat, FilesPanel(session), SkillBrowser(browse), monitor, close_owned)


def _refresher(
    sources: Any, agent: Any, limit: int, cleanup: list[Callable[[], None]]
) -> tuple[Callable[[], Any], Any]:
    """The function Refresh calls: analyse one source, or a fleet of several.

    An agent without `out_dir` keeps each run in a temp dir of its own (the fetched logs there feed
    the per-service chart); the dashboard removes the dir of a run it made once the next one is in.
    """
    if agent is None:
        from ....monitoring._agent import MonitoringAgent

        agent = MonitoringAgent(backend="local", mode="pipeline")
        cleanup.append(agent.close)
    many = isinstance(sources, (list, tuple))
    if many and len(sources) == 1:
        sources, many = sources[0], False
    made: list[Any] = []

    def run() -> Any:
        if many:
            result = agent.analyze_many(list(sources), limit=limit)
        else:
            result = agent.analyze(os.fspath(sources), limit=limit)
        if agent.out_dir is None and result.working_dir is not None:
            while made:
                shutil.rmtree(made.pop(), ignore_errors=True)
            made.append(result.working_dir)
        return result

    return run, agent
