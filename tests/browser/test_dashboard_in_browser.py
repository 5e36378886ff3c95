"""The monitoring dashboard in a real chromium: served by `conjure-nb dashboard` (Voilà) against the
embedded demo log API, and in a real JupyterLab. Health tiles, the chart, Refresh changing the
last-run time; screenshots at 1400x900 and 1920x1080 land in test-artifacts/browser/.

The pipeline-mode agent needs no model; the chat is offline (it says so). Nothing here is faked
but the model.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import _free_port, require_browser
from .test_panels_in_jupyterlab import _open_and_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ((1400, 900), (1920, 1080))


def _no_horizontal_clipping(page: Any, selector: str) -> None:
    """Nothing inside the dashboard is wider than the box it sits in (no cut labels, no side scroll)."""
    clipped = page.evaluate(
        """(sel) => {
        const root = document.querySelector(sel);
        const out = [];
        const shown = (el) => el.offsetParent !== null && el.getBoundingClientRect().width > 0;
        const picked = 'th, td, .conjure-tile, .conjure-tile > div, img, button, select, .lm-TabBar-tab';
        for (const el of root.querySelectorAll(picked)) {
            if (!shown(el)) continue;
            const r = el.getBoundingClientRect();
            if (el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'IMG')
                out.push([el.tagName, el.textContent.trim().slice(0, 30), 'cut inside']);
            for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
                if (getComputedStyle(a).overflowX === 'visible') continue;
                if (r.right > a.getBoundingClientRect().right + 1) {
                    out.push([el.tagName, el.textContent.trim().slice(0, 30), 'past', a.className.slice(0, 40)]);
                    break;
                }
            }
        }
        return out;
    }""",
        selector,
    )
    assert clipped == [], f"clipped at {page.viewport_size}: {clipped}"


def _shots(page: Any, artifacts: Path, name: str, selector: str) -> None:
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # let the flex layout settle at the new width
        _no_horizontal_clipping(page, selector)
        page.screenshot(path=str(artifacts / f"{name}-{width}x{height}.png"))


@pytest.fixture
def voila_dashboard() -> Iterator[str]:
    """`conjure-nb dashboard --port N` as a person runs it; the address it prints."""
    require_browser()
    port = _free_port()
    cmd = [sys.executable, "-m", "conjure_nb", "dashboard", "--port", str(port), "--limit", "600",
           "--interval", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("dashboard on "):
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not found.wait(120):
            raise AssertionError("conjure-nb dashboard printed no address:\n" + "".join(lines[-40:]))
        address = next(line for line in lines if line.startswith("dashboard on ")).split()[2]
        assert address.startswith(f"http://127.0.0.1:{port}/?token=")
        assert any("embedded demo log API" in line for line in lines), "without a URL it says what it watches"
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)  # the command stops Voila, its kernel and the demo API
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_dashboard_app_in_voila(voila_dashboard: str, browser: Any, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(120_000)
    try:
        page.goto(voila_dashboard)
        tiles = page.locator(".conjure-health-tiles")
        tiles.wait_for()
        assert "error rate" in tiles.inner_text().lower()
        chart = page.locator("img.conjure-errors-chart")
        chart.wait_for()
        assert page.evaluate("(img) => img.naturalWidth", chart.element_handle()) > 200, "the chart loaded"
        last = page.locator(".conjure-last-run")
        first = last.inner_text()
        assert first.strip().endswith("run 1")
        _shots(page, artifacts, "10-dashboard-voila", ".conjure-dashboard")
        page.get_by_role("button", name="Refresh").click()
        # the label ends "· run N" ("last run 20:10:46" holds "run 2" too: between 20:00 and 23:59)
        page.wait_for_function(
            "() => document.querySelector('.conjure-last-run').innerText.trim().endsWith('run 2')",
            timeout=120_000,
        )
        assert last.inner_text() != first
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=str(artifacts / "11-dashboard-voila-refreshed.png"))
    finally:
        page.close()


DASHBOARD = """\
import conjure_nb as cj

# the demo log API (its data ends now: the dashboard asks for the last hour) and a pipeline-mode agent
# (no model); the chat's model is a ScriptedModel, a fake
server = cj.DemoLogServer(records=600, seed=42).start()
session = cj.Session.new_local([], cj.ScriptedModel(["(scripted, offline) The tiles show the health."]))
board = cj.dashboard(session, skills=cj.load(SKILLS), sources=server.logs_url, limit=600)
board
"""


def _write_notebook(path: Path) -> None:
    from conjure_nb.monitoring._agent import default_skills_dir

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Browser test of the dashboard (a fake chat model, no key)."),
        nbformat.v4.new_code_cell(DASHBOARD.replace("SKILLS", repr(str(default_skills_dir())))),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_dashboard_in_jupyterlab(lab: Any, browser: Any, artifacts: Path) -> None:
    _write_notebook(lab.root / "dashboard.ipynb")
    page = _open_and_run(lab, browser, "dashboard.ipynb", height=900)
    try:
        page.set_viewport_size({"width": 1400, "height": 900})
        page.locator(".conjure-dashboard .conjure-last-run", has_text="run 1").wait_for(timeout=120_000)
        page.locator(".conjure-dashboard img.conjure-errors-chart").wait_for()
        page.locator(".conjure-dashboard").scroll_into_view_if_needed()
        _shots(page, artifacts, "12-dashboard-jupyterlab", ".conjure-dashboard")
        page.set_viewport_size({"width": 1400, "height": 900})
        page.locator(".conjure-dashboard .lm-TabBar-tab", has_text="Skills").click()
        page.locator(".conjure-skill-browser select").wait_for()
        page.wait_for_timeout(300)
        _no_horizontal_clipping(page, ".conjure-dashboard")
        page.screenshot(path=str(artifacts / "13-dashboard-jupyterlab-skills.png"))
    finally:
        page.close()  # the kernel (and the demo API in it) stops with the lab server
