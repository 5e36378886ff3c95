"""@Conjure in a real JupyterLab chat (jupyterlab-chat + the persona manager), seen in chromium.

The shared server (conftest.py) runs with the `jupyter-ai` extra's extensions and the persona from
its entry point, configured through the environment to use a fake model
(tests/browser/_persona_model.py) on the local backend, and Conjure as the chats' default persona. The test types a message into a `.chat`
file, watches the persona's message appear and grow in place, checks the tool row, the answer
(model HTML shown as text), the chart served by the server, and that a file's chip opens it in
JupyterLab, and that closing the chat closes its session. Screenshot: test-artifacts/browser/chat-persona.png.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Lab, _unavailable

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOG = "INFO up\nERROR disk full\nINFO up\nINFO up\n"

# every state the persona's message went through, as the page showed it
RECORD_TURNS = """() => {
  window.__turns = [];
  const seen = () => {
    const turn = document.querySelector('.conjure-turn');
    const text = turn ? turn.innerText : null;
    if (text && window.__turns[window.__turns.length - 1] !== text) window.__turns.push(text);
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_conjure_answers_in_the_chat_sidebar(lab: Lab, browser: Any, artifacts: Path) -> None:
    if importlib.util.find_spec("jupyter_ai_persona_manager") is None:
        _unavailable("jupyter-ai-persona-manager is not installed (pip install -e '.[dev]')")
    work = lab.root / "work"
    (work / "logs").mkdir(parents=True)
    (work / "logs" / "app.log").write_text(LOG)
    (work / "health.chat").write_text("{}")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(lab.open_url("work/health.chat"))
        box = page.locator(".jp-chat-input-textfield textarea").first
        box.wait_for(timeout=90_000)
        page.evaluate(RECORD_TURNS)
        box.fill("@Conjure check the health of logs/app.log")
        box.press("Enter")
        turn = page.locator(".conjure-turn").first
        turn.locator(".conjure-note").wait_for(timeout=60_000)  # the usage line ends a finished turn

        # the message was shown while the tool ran, then grew in place into the answer
        states: list[str] = page.evaluate("() => window.__turns")
        assert any("bash_tool" in s and "running" in s and "degraded" not in s for s in states), states
        text = turn.inner_text()
        assert "✓ bash_tool grep -c ERROR" in text and "· ok ·" in text
        assert "logs/app.log is degraded: 1 ERROR line out of 4" in text
        assert "<img src=x onerror=alert(1)> stays text." in text  # the model's HTML is text
        assert turn.locator("img[src='x']").count() == 0
        assert turn.locator("table td", has_text="ERROR").count() == 1  # Markdown still renders
        # the stand-in model is named under its answer, and its made-up token counts are not usage
        assert turn.locator(".conjure-fake-model", has_text="function model, offline").count() == 1
        assert "not real" in text and "tokens" not in text and "2,400" not in text

        chart = turn.locator("img[src$='levels.png']")
        assert chart.evaluate("img => img.complete && img.naturalWidth") > 0  # served by the server
        assert (work / "errors.txt").read_text().strip() == "1" and (work / "levels.png").exists()
        page.locator(".jp-chat-messages-container").evaluate("e => e.scrollTop = e.scrollHeight")
        page.screenshot(path=str(artifacts / "chat-persona.png"))

        page.locator(".jp-chat-attachment-clickable", has_text="errors.txt").first.click()
        page.locator(".lm-TabBar-tab", has_text="errors.txt").first.wait_for(timeout=30_000)

        # closing the chat closes its session: the working dir goes
        session_dir = Path((lab.root.parent / "persona-session.txt").read_text())
        assert session_dir.is_dir()
        page.locator(".lm-TabBar-tab", has_text="health.chat").locator(".lm-TabBar-tabCloseIcon").click()
        deadline = time.monotonic() + 30
        while session_dir.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not session_dir.exists(), "the chat was closed but its session's working dir is still there"
    finally:
        page.close()
