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


def test_files_panel_refresh_picks_up_run_tool_files_and_changes(local_session: MakeSession) -> None:
    session = local_session(None)
    files = FilesPanel(session)
    try:
        session.run_tool("bash_tool", command="echo one > notes.txt", description="write")
        files.refresh_button.click()
        (card,) = files.gallery.children
        assert "one" in card.value
        files.refresh()
        assert files.gallery.children == (card,), "an unchanged file keeps its card"
        session.run_tool("bash_tool", command="echo two > notes.txt", description="rewrite")
        files.refresh()
        (new_card,) = files.gallery.children
        assert new_card is not card and "two" in new_card.value
    finally:
        files.close()
