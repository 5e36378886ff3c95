"""Issue 20 item 1 in a real JupyterLab in chromium: untrusted markup runs nothing and loads nothing.

One notebook pushes the payload corpus (tests/display/payloads.py: `<script>`, handlers, `javascript:`
links, iframes, `<style>`, SVG, Markdown images at a loopback "attacker" server, the same split across
streamed deltas) through every renderer: a Response and a ToolResult with and without
`%load_ext conjure_nb`, every `-f` of `%%conjure chat`, a ChatPanel streaming it from a ScriptedModel
(a fake model, said so in the notebook), a FilesPanel and `cj.show` of a file named with markup, a
DataFrame and an xlsx with markup cells and sheet name, a Skill whose SKILL.md carries it, its
ValidationReport and SkillBrowser, and error messages. Each payload that could run sets
`window.__pwned`; the test asserts it stays undefined, that no dialog opened, and that the attacker
server got no request. A control cell (the person's own `HTML(...)`, which is trusted) proves the
page does run output scripts and fetch images, so a pass is not for want of a working page.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import pytest
from display.payloads import corpus  # tests/display: the same corpus as the unit tests

from conjure_nb.testing._serve import serve_in_thread

from .test_panels_in_jupyterlab import _open_and_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SETUP = """\
import json, pathlib, shlex, tempfile
import pandas as pd
import conjure_nb as cj

S = cj.ScriptedModel  # a fake model replaying scripted replies, not Claude; no API key is used
PAYLOAD = json.loads({payload!r})
NAME = "<img src=x onerror=window.__pwned='name'>.md"
work = pathlib.Path(tempfile.mkdtemp())


def fake():
    return S([
        S.reply(PAYLOAD[:300], S.tool_use("create_file", path=NAME, file_text=PAYLOAD, description=PAYLOAD[:80])),
        S.reply(PAYLOAD),
    ], chunk_size=16)  # every payload split across deltas


def boom(messages):
    raise cj.ModelError("<img src=x onerror=window.__pwned='error'> upstream said no")


session = cj.Session.new_local([], fake(), working_dir=work / "s1")
r = session.chat(PAYLOAD)
r
"""

PLAIN = """\
result = session.run_tool("bash_tool", command="printf '%s' " + shlex.quote(PAYLOAD), description=PAYLOAD[:60])
display(result)
cj.show(result, r, session)
"""

PANELS = """\
panel = cj.ChatPanel(cj.Session.new_local([], fake(), working_dir=work / "s2"))
panel.chat(PAYLOAD)
failing = cj.ChatPanel(cj.Session.new_local([], boom, working_dir=work / "s3"))
failing.chat("hi")
display(panel, failing, cj.FilesPanel(session))
"""

TABLES = """\
import openpyxl
df = pd.DataFrame({"<script>window.__pwned='col'</script>": ["<img src=x onerror=window.__pwned='cell'>"]})
cj.show(df)
wb = openpyxl.Workbook()
wb.active.title = "<svg onload=window.__pwned=1>"
wb.active.append(["<img src=x onerror=window.__pwned='xlsx'>", "<a href=javascript:window.__pwned=2>x</a>"])
wb.save(work / "cells.xlsx")
cj.show(work / "cells.xlsx", pd.DataFrame([{"a": PAYLOAD}]))
"""

SKILL = """\
skill_dir = work / "evil"
skill_dir.mkdir()
(skill_dir / "SKILL.md").write_text(
    '---\\nname: evil\\ndescription: "<img src=x onerror=window.__pwned=1> ![x](ATTACKER/desc)"\\n---\\n' + PAYLOAD
)
skill = cj.load_skill(skill_dir)
display(skill, cj.validate(skill_dir, strict=True), cj.SkillBrowser([skill]))
"""

CONTROL = """\
from IPython.display import HTML
HTML("<img src=x onerror=\\"window.__control='ran'\\"><img src='ATTACKER/control.png'>")
"""

DONE = """\
for p in (panel, failing):
    p.wait(60)
print("DONE", [type(e).__name__ for e in failing.errors], len(panel.turns))
"""


def _write_notebook(path: Path, attacker: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell
    payload = json.dumps(corpus(int(attacker.rsplit(":", 1)[1])))
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "Browser test of the trust model. The model is a **ScriptedModel**, a fake that replays "
            "scripted replies, not Claude; every string it returns is hostile markup."
        ),
        cell(SETUP.format(payload=payload)),
        cell(PLAIN),
        cell(PANELS),
        cell(TABLES),
        cell(SKILL.replace("ATTACKER", attacker)),
        cell("%load_ext conjure_nb"),
        cell("r"),
        cell("display(result)\ncj.show(session)"),
        cell("fake2 = fake()\nfake3 = fake()"),
        cell("%%conjure chat --model fake2 -f html --session h\n{PAYLOAD}".replace("{PAYLOAD}", "Say it.")),
        cell("%%conjure chat --model fake3 --session m\nSay it."),
        cell(CONTROL.replace("ATTACKER", attacker)),
        cell(DONE),
        cell("%%conjure chat --model boom --session e\nhi"),  # fails: the last cell, so Run All gets here
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


class _Attacker(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def attacker() -> Any:
    _Attacker.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    thread = serve_in_thread(server, "attacker")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Attacker.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _no_windowing(lab: Any) -> None:
    """Every cell's output in the DOM at once (JupyterLab otherwise renders only what is in view)."""
    settings = lab.root.parent / "home" / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


def test_no_untrusted_markup_runs_or_loads_in_jupyterlab(
    lab: Any, browser: Any, artifacts: Path, attacker: Any
) -> None:
    url, hits = attacker
    _no_windowing(lab)
    _write_notebook(lab.root / "trust.ipynb", url)
    dialogs: list[str] = []
    page = _open_and_run(lab, browser, "trust.ipynb", height=2400)
    try:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.get_by_text("DONE ['ModelError'] 1").wait_for(timeout=120_000)
        page.get_by_text("upstream said no").first.wait_for()
        page.wait_for_timeout(1500)  # time for anything that would load or fire late
        page.screenshot(path=str(artifacts / "20-trust-corpus.png"), full_page=True)
        assert page.evaluate("window.__control") == "ran", "the control: trusted output does run here"
        assert page.evaluate("typeof window.__pwned") == "undefined", page.evaluate("String(window.__pwned)")
        assert dialogs == []
        assert set(hits) == {"/control.png"}, f"the attacker server was asked for {hits}"
        # the look is kept: the answer's heading and table rendered, the code block too
        assert page.locator(".jp-OutputArea h1", has_text="Findings").count() >= 3
        assert page.locator(".jp-OutputArea pre code", has_text="code <here>").count() >= 3
    finally:
        page.close()
