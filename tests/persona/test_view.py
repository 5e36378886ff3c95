"""What a turn's chat message can contain: model text never becomes live markup."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from conjure_nb.notebook.persona._settings import parse_approvals, resolve_model
from conjure_nb.notebook.persona._view import FileLink, TurnView, _safe_markdown, input_summary, sheet_preview


def test_raw_html_images_and_script_links_from_the_model_stay_text() -> None:
    out = _safe_markdown(
        "Hi <b onmouseover=x>bold</b>\n\n<script>alert(1)</script>\n\n![pixel](https://evil.example/p.png)\n\n"
        "[click](javascript:alert(3)) [docs](https://example.org)"
    )
    assert "<b " not in out and "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<img" not in out and "pixel" in out and "evil.example" not in out  # alt text, nothing loaded
    assert 'href="javascript' not in out and 'href="https://example.org"' in out


def test_a_message_is_one_html_block_even_with_blank_lines_in_code() -> None:
    view = TurnView()
    view.add_text("Look:\n\n```\nline one\n\n\nline two <tag>\n```\n\nEnd.")
    row = view.add_tool("toolu_1", "bash_tool", {"command": "echo '<b>x</b>'\n\n" + "y" * 300})
    row.status, row.duration_ms = "ok", 12.0
    view.files.append(FileLink("work/a b.txt", 2048, "/base/"))
    view.finished = True
    body = view.body()
    assert "\n\n" not in body and body.startswith('<div class="conjure-turn">') and body.endswith("</div>")
    assert "line one&#10;&#10;&#10;line two &lt;tag&gt;" in body
    assert "<code>echo &#x27;&lt;b&gt;x&lt;/b&gt;&#x27; yyy" in body and "…</code> · ok · 12 ms" in body
    assert '<a href="/base/lab/tree/work/a%20b.txt" target="_blank">a b.txt</a> (2.0 KB)' in body
    assert "working…" not in body


def test_input_summary_names_the_command_or_path() -> None:
    assert input_summary("bash_tool", {"command": "ls  -la\n/tmp", "description": "d"}) == "ls -la /tmp"
    assert input_summary("view", {"path": "/mnt/chat/logs/app.log"}) == "/mnt/chat/logs/app.log"
    assert input_summary("log_fetcher_execute", {"query": "x"}) == '{"query": "x"}'


def test_xlsx_preview_is_a_bounded_escaped_table(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Incidents"
    sheet.append(["service", "note"])
    for i in range(30):
        sheet.append([f"api-{i}", "<script>x</script>"])
    book.save(tmp_path / "r.xlsx")
    html = sheet_preview(tmp_path / "r.xlsx", max_rows=5)
    assert "sheet Incidents (31 rows × 2 columns)" in html
    assert html.count("<tr>") == 5 and "&lt;script&gt;" in html and "<script>" not in html
    assert sheet_preview(tmp_path / "missing.xlsx") == ""


def test_settings_helpers() -> None:
    assert parse_approvals(None) is None and parse_approvals("ask") == "ask"
    assert parse_approvals("bash_tool=ask, view=allow") == {"bash_tool": "ask", "view": "allow"}
    assert resolve_model(None, env={}) is None
    assert resolve_model("claude-sonnet-4-6", env={}) is None  # a Claude id without a key: no model
    assert resolve_model(f"{__name__}:test_settings_helpers", env={}) is test_settings_helpers
