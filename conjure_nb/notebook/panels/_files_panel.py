"""`FilesPanel`: the files a session created, as a gallery with previews and download links.

xlsx files show their sheets, pdfs their first pages, images themselves, tables as tables (the
notebook layer's renderer, the one `cj.show` uses). The panel refreshes itself whenever its session
records new files (the `("conjure", "files", "created")` event), from a chat turn or `run_tool` alike,
and after each chat turn; Refresh (or `panel.refresh()`) shows files changed by other means.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ... import telemetry
from ._file_card import file_card

if TYPE_CHECKING:  # pragma: no cover
    from ...session import Session
    from ...tools import CreatedFile

__all__ = ["FilesPanel"]

_EVENTS = [("conjure", "chat", "stop"), ("conjure", "files", "created")]


def _key(file: CreatedFile) -> tuple[str | None, str | None, str | None]:
    return (file.path or file.file_id, file.sha256, file.file_id)


class FilesPanel(w.VBox):
    """A gallery of created files, newest first, each with a preview and a download link.

    Args:
        session: the session whose `created_files` are shown; None for a panel fed by `add()`
            (the dashboard feeds it from its ChatPanel).
    """

    def __init__(self, session: Session | None = None):
        self._session = session
        self._cards: dict[str, tuple[tuple[Any, ...], w.Widget]] = {}
        self._files: list[CreatedFile] = []
        self._lock = threading.RLock()
        self.title = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.gallery = w.VBox()
        super().__init__([w.HBox([self.title, self.refresh_button]), self.gallery])
        self.add_class("conjure-files-panel")
        self._handler_id = f"conjure-files-panel-{id(self)}"
        if session is not None:
            _follow(self, session.id)
        self.refresh()

    @property
    def files(self) -> list[CreatedFile]:
        """The files shown, oldest first."""
        with self._lock:
            return list(self._files)

    def refresh(self) -> None:
        """Show the session's files as they are now (changed files get a new preview)."""
        if self._session is not None:
            for file in list(self._session.created_files):
                self.add(file)
        self._render_title()

    def add(self, file: CreatedFile) -> None:
        """Show one file (again, when its content changed)."""
        name = file.path or file.file_id or file.filename
        with self._lock:
            known = self._cards.get(name)
            if known is not None and known[0] == _key(file):
                return
            card = file_card(file)
            self._cards[name] = (_key(file), card)
            self._files = [f for f in self._files if (f.path or f.file_id or f.filename) != name] + [file]
            self.gallery.children = tuple(
                self._cards[f.path or f.file_id or f.filename][1] for f in reversed(self._files)
            )
        self._render_title()

    def wait(self, timeout: float | None = None) -> None:
        """Refreshes run synchronously, so there is nothing to wait for (the panels share this method)."""

    def close(self) -> None:
        telemetry.detach(self._handler_id)
        super().close()

    def _render_title(self) -> None:
        count = len(self._files)
        label = "no files yet" if not count else f"{count} file{'s' if count != 1 else ''}"
        self.title.value = f"<b>Files</b> · {label}"

    def __repr__(self) -> str:
        return f"<FilesPanel {len(self._files)} files>"


def _follow(panel: FilesPanel, session_id: str) -> None:
    """Refresh `panel` when the session records files or ends a turn, without keeping it alive."""
    ref = weakref.ref(panel)
    handler_id = panel._handler_id

    def on_turn(_event: Any, _measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        target = ref()
        if target is None:
            telemetry.detach(handler_id)
        elif metadata.get("session") == session_id:
            target.refresh()

    telemetry.attach(handler_id, _EVENTS, on_turn)
