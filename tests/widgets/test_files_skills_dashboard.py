"""FilesPanel, SkillBrowser and the dashboard, headless, on ScriptedModel sessions."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import conjure_nb as cj
from conjure_nb.notebook.panels import ChatPanel, SkillBrowser, dashboard

from .conftest import S, wait_until

MakeSession = Callable[..., cj.Session]

MAKE_FILES = textwrap.dedent(
    """\
    python3 - <<'EOF'
    import openpyxl
    from PIL import Image
    from reportlab.pdfgen import canvas
    wb = openpyxl.Workbook(); ws = wb.active; ws.title = "Hosts"
    ws.append(["host", "errors"]); ws.append(["web-1", 3]); wb.save("report.xlsx")
    c = canvas.Canvas("report.pdf"); c.drawString(72, 720, "Incident report"); c.showPage(); c.save()
    Image.new("RGB", (40, 20), (200, 30, 30)).save("chart.png")
    print("made 3 files")
    EOF
    """
)


def files_turn() -> S:
    return S(
        [S.reply(S.tool_use("bash_tool", command=MAKE_FILES, description="make files")), "Files are ready."]
    )


def _write_skill(
    root: Path, name: str, description: str, body: str = "# Use it\n\nRun the script.\n"
) -> Path:
    folder = root / name
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "run.py").write_text("print('hi')\n")
    (folder / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {description}\nlicense: MIT\nmetadata:\n  owner: ops\n---\n{body}"
    )
    return folder


def test_skill_browser_searches_and_shows_a_skill(tmp_path: Path) -> None:
    _write_skill(tmp_path, "log-reader", "Read logs from files.")
    _write_skill(tmp_path, "chart-maker", "Draw charts of numbers.", body="# Charts\n\nUse **matplotlib**.\n")
    browser = SkillBrowser(cj.load(tmp_path))
    try:
        assert browser.shown == ["chart-maker", "log-reader"]
        browser.search.value = "logs"
        assert browser.shown == ["log-reader"] and browser.selected is not None
        assert browser.selected.name == "log-reader"
        browser.select("chart-maker")
        assert browser.search.value == "" and browser.selected.name == "chart-maker"
        assert "Draw charts of numbers." in browser.frontmatter.value
        assert "MIT" in browser.frontmatter.value and "metadata.owner" in browser.frontmatter.value
        assert browser.body.outputs[0]["data"]["text/html"].startswith("<h1>Charts</h1>")
        assert "scripts/run.py" in browser.resources.value
        assert "● valid" in browser.report.value
    finally:
        browser.close()


def test_skill_browser_shows_validation_problems(tmp_path: Path) -> None:
    _write_skill(tmp_path, "loose", "ok")
    browser = SkillBrowser(cj.load(tmp_path), strict=True)
    try:
        report = cj.validate(tmp_path / "loose", strict=True)
        for problem in report.errors + report.warnings:
            assert problem.split(":")[0] in browser.report.value
        assert "strict" in browser.report.value
    finally:
        browser.close()


def test_skill_browser_follows_a_watching_registry(tmp_path: Path) -> None:
    _write_skill(tmp_path, "first-skill", "The first one.")
    with cj.Registry([tmp_path], watch=True, debounce_ms=50) as registry:
        browser = SkillBrowser(registry)
        try:
            assert browser.shown == ["first-skill"] and "watching" in browser.summary.value
            _write_skill(tmp_path, "second-skill", "Added while the browser is open.")
            wait_until(lambda: "second-skill" in browser.shown, "the new skill in the browser")
            assert browser.selected is not None and browser.selected.name == "first-skill", "selection kept"
            browser.select("second-skill")
            assert "Added while the browser is open." in browser.frontmatter.value
        finally:
            browser.close()


def test_dashboard_puts_the_three_together(local_session: MakeSession, tmp_path: Path) -> None:
    _write_skill(tmp_path, "report-writer", "Writes reports.")
    session = local_session(files_turn())
    board = dashboard(session, skills=cj.load(tmp_path))
    try:
        assert isinstance(board.chat, ChatPanel) and board.tabs.titles == ("Files", "Skills")
        assert board.skills.shown == ["report-writer"]
        board.chat.message.value = "make the report"
        board.chat.send_button.click()
        assert board.wait(timeout=120) is not None
        assert sorted(f.filename for f in board.files.files) == ["chart.png", "report.pdf", "report.xlsx"]
        turn = board.chat.turns[0]
        assert sorted(f.filename for f in turn.files) == ["chart.png", "report.pdf", "report.xlsx"]
        assert len(turn.file_box.children) == 3, "created files show inline in the chat too"
    finally:
        board.close()
