"""FilesPanel, headless: created files as a gallery, previews from the notebook layer's renderer."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import conjure_nb as cj
from conjure_nb.notebook.panels import FilesPanel

from .test_files_skills_dashboard import files_turn

MakeSession = Callable[..., cj.Session]


def test_files_panel_shows_created_files_after_a_turn(local_session: MakeSession) -> None:
    session = local_session(files_turn())
    files = FilesPanel(session)
    try:
        assert files.files == [] and "no files yet" in files.title.value
        session.chat("make the report")  # a turn outside any panel: the panel follows the session
        names = [f.filename for f in files.files]
        assert sorted(names) == ["chart.png", "report.pdf", "report.xlsx"]
        assert "3 files" in files.title.value
        cards = {f.filename: card.value for f, card in zip(reversed(files.files), files.gallery.children)}
        assert "Hosts" in cards["report.xlsx"] and "web-1" in cards["report.xlsx"], "the sheet is shown"
        assert "<img" in cards["report.pdf"], "the pdf page is rendered as an image"
        assert "<img" in cards["chart.png"]
        for name, html in cards.items():
            assert f'download="{name}"' in html, f"{name} has a download link"
        png = Path(session.working_dir, "chart.png").read_bytes()
        assert base64.b64encode(png).decode() in cards["chart.png"]
    finally:
        files.close()


def test_files_panel_shows_run_tool_files_and_changes_at_once(local_session: MakeSession) -> None:
    session = local_session(None)
    files = FilesPanel(session)
    other = local_session(None)
    try:
        session.run_tool("bash_tool", command="echo one > notes.txt", description="write")
        (card,) = files.gallery.children  # no Refresh needed
        assert "one" in card.value and "1 file" in files.title.value
        files.refresh_button.click()
        assert files.gallery.children == (card,), "an unchanged file keeps its card"
        session.run_tool("bash_tool", command="echo two > notes.txt", description="rewrite")
        (new_card,) = files.gallery.children
        assert new_card is not card and "two" in new_card.value
        other.run_tool("bash_tool", command="echo x > elsewhere.txt", description="another session")
        assert [f.filename for f in files.files] == ["notes.txt"], "only its own session's files"
    finally:
        files.close()
