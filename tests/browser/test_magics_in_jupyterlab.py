"""`%%conjure chat` and `%%conjure run` cells in a real JupyterLab in a real chromium.

What a person sees: a streamed turn shows its live rows while it runs, then the cell's `Out[n]`
holds the answer once (the live view is emptied), and a table output shows as a table. The model
is a ScriptedModel (a fake, said so in the notebook). Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from .test_panels_in_jupyterlab import _open_and_run, _shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = """\
import conjure_nb as cj

S = cj.ScriptedModel
fake = S([
    S.reply("Looking at the hosts.", S.tool_use("bash_tool", command="sleep 2; echo web-1,3", description="count")),
    "The hosts are fine: **web-1** logged 3 errors.",
])
"""

CHECK = """\
print("CHECK", type(Out[3]).__name__, type(Out[4]).__name__, Out[4] is _conjure)
get_ipython().run_line_magic("unload_ext", "conjure_nb")  # closes the cells' sessions
print("CLOSED")
"""


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "Browser test of the magics. The model is a **ScriptedModel**, a fake that replays scripted "
            "replies, not Claude; no API key is used."
        ),
        nbformat.v4.new_code_cell("%load_ext conjure_nb"),
        nbformat.v4.new_code_cell(MODEL),
        nbformat.v4.new_code_cell("%%conjure chat --model fake\nHow are the hosts?"),
        nbformat.v4.new_code_cell("""%%conjure run\necho '[{"host": "web-1", "errors": 3}]'"""),
        nbformat.v4.new_code_cell(CHECK),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_magic_cells_in_jupyterlab(lab: Any, browser: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    _write_notebook(lab.root / "magics.ipynb")
    page = _open_and_run(lab, browser, "magics.ipynb", height=1000)
    try:
        cells = page.locator(".jp-Notebook .jp-CodeCell")
        chat, run = cells.nth(2), cells.nth(3)

        # while the tool sleeps, the cell shows the live view: streamed text, a running row
        chat.get_by_text("Looking at the hosts.").wait_for()
        assert "running…" in chat.locator(".jp-OutputArea").inner_text()
        _shot(page, chat, artifacts / "06-magic-chat-running.png")

        # then Out[n] holds the answer, once; the trace is folded under it
        result = chat.locator(".jp-OutputArea-executeResult")
        result.get_by_text("logged 3 errors").wait_for()
        assert "[" in chat.locator(".jp-OutputArea-executeResult .jp-OutputPrompt").inner_text()
        outputs = chat.locator(".jp-OutputArea").inner_text()
        assert outputs.count("logged 3 errors") == 1, outputs
        assert "running…" not in outputs
        assert "1 tool call(s)" in result.inner_text()
        _shot(page, result, artifacts / "07-magic-chat-done.png")

        # %%conjure run: a JSON table output shows as a table in Out[n]
        table = run.locator(".jp-OutputArea-executeResult table")
        table.wait_for()
        assert "web-1" in table.inner_text() and "errors" in table.inner_text()
        _shot(page, table, artifacts / "08-magic-run-table.png")

        expect(cells.nth(4).locator(".jp-OutputArea")).to_contain_text(
            "CHECK Response ToolResult True\nCLOSED"
        )
    finally:
        page.close()
