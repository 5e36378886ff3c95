"""The ChatPanel in a real JupyterLab in a real chromium: type, send, stream, approve, stop.

One notebook, one kernel, one page: a ScriptedModel session (a fake model, said so in the
notebook) whose turns produce a table, a pdf, a call that needs approval and a long tool call.
Screenshots of every step land in test-artifacts/browser/.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = '''\
import time
import conjure_nb as cj

S = cj.ScriptedModel


class SlowScripted(cj.ScriptedModel):
    """The ScriptedModel typing its text a few characters at a time, so the streaming shows."""

    def request(self, req):
        on_text = req.on_text
        if on_text is not None:
            req.on_text = lambda text: (time.sleep(0.03), on_text(text))
        return super().request(req)


TABLE = "echo '[{\\"host\\": \\"web-1\\", \\"errors\\": 3}, {\\"host\\": \\"web-2\\", \\"errors\\": 0}]'"
PDF = (
    "python3 -c \\"from reportlab.pdfgen import canvas; c = canvas.Canvas('report.pdf'); "
    "c.setFont('Helvetica', 32); c.drawString(72, 700, 'Incident report'); c.showPage(); c.save()\\""
)
model = SlowScripted([
    S.reply("Counting the errors per host first.", S.tool_use("bash_tool", command=TABLE, description="count")),
    S.reply(S.tool_use("bash_tool", command=PDF, description="write the report")),
    "Here is the table: **web-1** has 3 errors, web-2 none. The report is attached below.",
    S.reply(S.tool_use("create_file", path="notes.md", file_text="# Notes\\nweb-1 is noisy.\\n", description="notes")),
    "Noted in notes.md.",
    S.reply(S.tool_use("bash_tool", command="echo $$ > long.pid; sleep 60", description="a long job")),
    "unused",
], chunk_size=4)
session = cj.Session.new_local([], model, timeout=120)
panel = cj.ChatPanel(session, approvals={"create_file": "ask"})
panel
'''

CHECK = """\
# the test runs this cell again after its clicks; then it closes the session (no temp dir left)
pairs = all(
    {b["id"] for b in m["content"] if b.get("type") == "tool_use"}
    <= {b.get("tool_use_id") for b in n["content"] if b.get("type") == "tool_result"}
    for m, n in zip(session.messages, session.messages[1:]) if m["role"] == "assistant"
)
print("STATE", len(panel.turns), [type(e).__name__ for e in panel.errors], panel.busy, pairs)
if len(panel.turns) == 3:
    panel.close()
    session.close()
    print("CLOSED", session.closed)
"""


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "Browser test of the ChatPanel. The model is a **ScriptedModel**: a fake that replays "
            "scripted replies, not Claude; no API key is used."
        ),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(CHECK),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _start_kernel(lab: Any, notebook: str) -> None:
    """Start the notebook's kernel through the REST API, so the page opens on a running kernel."""
    body = json.dumps({"path": notebook, "type": "notebook", "name": notebook, "kernel": {"name": "python3"}})
    request = urllib.request.Request(
        f"{lab.url}/api/sessions?token={lab.token}",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 201


def _accept_kernel(page: Any) -> None:
    """JupyterLab may still ask which kernel to use; the preselected Python 3 is the one."""
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
    try:
        select.wait_for(timeout=5_000)
    except Exception:  # no dialog this time
        return
    select.click()
    select.wait_for(state="detached")


def _run_all(page: Any) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def _open_and_run(lab: Any, browser: Any, notebook: str, height: int) -> Any:
    """A new page on `notebook` with its kernel started, every cell set running; the caller closes it."""
    _start_kernel(lab, notebook)
    page = browser.new_page(viewport={"width": 1300, "height": height})
    page.set_default_timeout(60_000)
    try:
        page.goto(lab.open_url(notebook))
        page.wait_for_selector(".jp-Notebook .jp-Cell")
        _accept_kernel(page)
        _run_all(page)
    except BaseException:
        page.close()
        raise
    return page


def _shot(page: Any, target: Any, path: Path) -> None:
    """A screenshot of the page with `target` in view (element shots of tall widgets come out torn)."""
    target.scroll_into_view_if_needed()
    page.screenshot(path=str(path))


def _watch_streaming(page: Any) -> None:
    """Record whether a streaming (partial) answer was ever in the DOM."""
    page.evaluate(
        """() => {
        window.__conjureStreamed = [];
        new MutationObserver(() => {
            for (const el of document.querySelectorAll('.conjure-stream')) {
                if (el.textContent) window.__conjureStreamed.push(el.textContent);
            }
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }"""
    )


def test_chat_panel_in_jupyterlab(lab: Any, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    t0 = time.monotonic()
    _write_notebook(lab.root / "panels.ipynb")
    page = _open_and_run(lab, browser, "panels.ipynb", height=1100)
    try:
        chat = page.locator(".conjure-chat-panel")
        chat.wait_for()
        page.get_by_text("STATE 0 [] False True").wait_for()
        page.screenshot(path=str(artifacts / "01-panel-ready.png"))

        # 1. type, click Send: streamed text, live tool rows, the table, the pdf page inline
        _watch_streaming(page)
        box = chat.locator(".widget-text input")
        box.fill("How many errors per host? Write a report.")
        chat.get_by_role("button", name="Send").click()
        chat.get_by_text("Here is the table").wait_for()
        streamed = page.evaluate("window.__conjureStreamed")
        assert any(0 < len(s) < len("Here is the table") for s in streamed), "the answer streamed in pieces"
        rows = chat.locator(".conjure-tool-row.conjure-ok")
        assert rows.count() == 2
        table = chat.locator(".conjure-tool-row table").first
        assert "web-1" in table.inner_text() and "errors" in table.inner_text()
        pdf_img = chat.locator(".conjure-file img").first
        pdf_img.wait_for()
        assert "report.pdf" in chat.locator(".conjure-file").first.inner_text()
        assert pdf_img.evaluate("img => img.complete && img.naturalWidth > 100"), "the pdf page image renders"
        expect(chat.get_by_role("button", name="Send")).to_be_enabled()
        _shot(page, table, artifacts / "02-reply-table.png")
        _shot(page, pdf_img, artifacts / "02-reply-pdf-page.png")

        # 2. Enter sends; the create_file call waits for approval, shown with its full input
        box.fill("Note it down.")
        box.press("Enter")
        card = chat.locator(".conjure-approval")
        card.wait_for()
        assert "notes.md" in card.inner_text() and "web-1 is noisy." in card.inner_text()
        expect(chat.get_by_role("button", name="Send")).to_be_disabled()  # while the turn runs
        _shot(page, card, artifacts / "03-approval-pending.png")
        card.get_by_role("button", name="Approve").click()
        chat.get_by_text("Noted in notes.md.").wait_for()
        assert "approved" in card.inner_text()

        # 3. a long tool: Stop ends it
        box.fill("Run the long job.")
        chat.get_by_role("button", name="Send").click()
        running = chat.locator(".conjure-tool-row.conjure-running")
        running.wait_for()
        _shot(page, running, artifacts / "04-long-tool-running.png")
        chat.get_by_role("button", name="Stop").click()
        stopped = chat.get_by_text("Stopped by you.")
        stopped.wait_for()
        expect(chat.get_by_role("button", name="Send")).to_be_enabled()
        _shot(page, stopped, artifacts / "05-stopped.png")

        # the kernel's view: three turns, no errors, idle, every tool_use answered
        page.locator(".jp-Cell").last.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        page.get_by_text("STATE 3 [] False True").wait_for()
        page.get_by_text("CLOSED True").wait_for()
        page.screenshot(path=str(artifacts / "06-kernel-state.png"), full_page=True)
    finally:
        page.screenshot(path=str(artifacts / "last-seen.png"))  # where a failure left the page
        page.close()
        took = time.monotonic() - t0
        (artifacts / "timings.json").write_text(
            json.dumps({"test_chat_panel_in_jupyterlab_s": round(took, 1)})
        )
        print(f"browser test took {took:.1f} s")
