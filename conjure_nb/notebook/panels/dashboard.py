"""`cj.dashboard(...)`: the chat, the files it made and the skills it can use, in one widget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .chat import ChatPanel
from .files import FilesPanel
from .skills import SkillBrowser

if TYPE_CHECKING:  # pragma: no cover
    from ...session import Session
    from ...tools.response import Response

__all__ = ["Dashboard", "dashboard"]


class Dashboard(w.HBox):
    """A ChatPanel beside tabs holding a FilesPanel and a SkillBrowser; `.chat`, `.files`, `.skills`."""

    def __init__(self, chat: ChatPanel, files: FilesPanel, skills: SkillBrowser):
        self.chat, self.files, self.skills = chat, files, skills
        chat.layout.flex = "3"
        tabs = w.Tab(children=[files, skills], layout=w.Layout(flex="2", min_width="320px"))
        tabs.titles = ("Files", "Skills")
        self.tabs = tabs
        chat.on_file(files.add)
        super().__init__([chat, tabs], layout=w.Layout(width="100%"))
        self.add_class("conjure-dashboard")

    def wait(self, timeout: float | None = None) -> Response | None:
        """Wait for the chat's running turn (see `ChatPanel.wait`)."""
        return self.chat.wait(timeout)

    def close(self) -> None:
        for panel in (self.chat, self.files, self.skills):
            panel.close()
        super().close()


def dashboard(
    session: Session | None = None,
    skills: Any = None,
    **chat_options: Any,
) -> Dashboard:
    """The ChatPanel, FilesPanel and SkillBrowser together (the monitoring tutorial's last cell).

    Args:
        session: the session to chat with; without one the chat panel builds sessions from
            `skills` with backend and model pickers (`chat_options` go to `ChatPanel`).
        skills: what the SkillBrowser shows: a `Registry` (followed live), skills or paths;
            default: the session's skills.
        **chat_options: passed to `ChatPanel` (`approvals=`, `prices=`, `models=`, ...).
    """
    from ...skills.registry import Registry

    browse = skills if skills is not None else (session.skills if session is not None else [])
    chat_skills = browse.list() if isinstance(browse, Registry) else browse
    if session is None:
        chat_options.setdefault("skills", chat_skills)
    chat = ChatPanel(session, **chat_options)
    return Dashboard(chat, FilesPanel(session), SkillBrowser(browse))
