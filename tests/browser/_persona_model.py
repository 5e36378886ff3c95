"""The fake model the browser test's JupyterLab server gives the @Conjure persona (no key needed).

The server imports it (CONJURE_PERSONA_MODEL=_persona_model:MODEL, with this folder on PYTHONPATH).
Asked something, it runs one bash_tool call that counts the ERROR lines of the chat folder's log
and writes them to a file with a small PNG chart beside it (and, for the test, notes where the
session's working dir is, in the file $CONJURE_TEST_SESSION_NOTE); given the result, it answers. Its text
is streamed in pieces, as a real model's is. Not a real model.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import Any

import conjure_nb as cj

USAGE = {"input_tokens": 1200, "output_tokens": 80}


def _chart() -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2, 1.4), dpi=80)
    ax = fig.add_subplot()
    ax.barh(["ERROR", "INFO"], [1, 3], color=["#c0392b", "#2e86c1"])
    ax.set_title("log lines by level", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


_CHART = _chart()


def _record_working_dir(system: str) -> None:
    note = os.environ.get("CONJURE_TEST_SESSION_NOTE")
    found = re.search(r"The working directory is (\S+)\.", system)
    if note and found:
        Path(note).write_text(found.group(1))


def _stream(request: Any, text: str) -> None:
    if request.on_text is not None:
        for i in range(0, len(text), 12):
            request.on_text(text[i : i + 12])


def _reply(request: Any) -> Any:
    last = request.messages[-1]["content"]
    results = [b for b in last if isinstance(b, dict) and b.get("type") == "tool_result"]
    if not results:
        found = re.search(r"The folder of their chat is (\S+):", request.system)
        log = f"{found.group(1) if found else '.'}/logs/app.log"
        chart = f"echo {_CHART} | base64 -d > levels.png"
        command = f"grep -c ERROR {log} | tee errors.txt; {chart}; sleep 1"
        _record_working_dir(request.system)
        _stream(request, "Checking the log.")
        reply = cj.ScriptedModel.reply(
            "Checking the log.", cj.ScriptedModel.tool_use("bash_tool", command=command, description="count")
        )
        return {**reply, "usage": USAGE}
    count = str(results[0].get("content", "")).strip()
    text = (
        f"**logs/app.log is degraded**: {count} ERROR line out of 4 (disk full).\n\n"
        "| level | lines |\n|---|---|\n| INFO | 3 |\n| ERROR | 1 |\n\n"
        "<img src=x onerror=alert(1)> stays text."
    )
    _stream(request, text)
    return {"content": [{"type": "text", "text": text}], "usage": USAGE}


MODEL = cj.FunctionModel(_reply, offline=True)  # a stand-in, said so: its token counts are not usage
