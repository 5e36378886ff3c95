"""Inline rendering for notebooks: `cj.show(x)` and the MIME bundles the magics display.

Every rendering is plain HTML (plus a text/plain fallback), so it shows the same in JupyterLab,
Notebook 7, VS Code and nbconvert's HTML export, with no custom JavaScript.

```python
cj.show(result)            # a ToolResult: a status line, then a DataFrame when the output is a table
cj.show(response)          # a Response: the answer, created files inline, the trace folded
cj.show("report.xlsx")     # every sheet; pdf pages as PNG; images; JSON/CSV as tables
cj.show(analysis)          # the log analyzer's JSON: health, charts, top signatures
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...display._html import frame, pre, table
from ...display._mime import Rendered
from ...monitoring._result import FleetResult, MonitoringResult, analysis_html, is_analysis
from ...tools import CreatedFile, ToolResult
from ...tools._file_previews import FileOptions, file_html, files_html
from ...tools._render import capped, response_html, tool_result_html
from ...tools._response import Response
from ._objects import json_html

__all__ = ["FileOptions", "bundle", "show", "to_html"]


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "to_html")


def _session_html(session: Any, opts: FileOptions) -> str:
    return frame(files_html(list(session.created_files), opts))


def to_html(value: Any, opts: FileOptions | None = None) -> str:
    """The HTML rendering of `value` (anything `show` accepts), at most `limits.max_html_chars`."""
    return capped(_to_html(value, opts or FileOptions()))


def _to_html(value: Any, opts: FileOptions) -> str:
    if isinstance(value, Response):
        return response_html(value, opts)
    if isinstance(value, ToolResult):
        return tool_result_html(value, max_rows=opts.max_rows, max_text=opts.max_text)
    if isinstance(value, (CreatedFile, Path, os.PathLike)):
        return frame(file_html(value, opts))
    if isinstance(value, str):
        if len(value) < 4096 and "\n" not in value and Path(value).is_file():
            return frame(file_html(value, opts))
        return frame(pre(value, opts.max_text))
    if _is_dataframe(value):
        return frame(table(value, opts.max_rows))
    if isinstance(value, (MonitoringResult, FleetResult)):
        return value.html(opts)  # they render themselves
    if isinstance(value, Rendered):  # a Skill, a ValidationReport, ...: its own default HTML
        html = value._repr_mimebundle_(include=("text/html",))[0].get("text/html")
        if isinstance(html, str):
            return html
    if is_analysis(value):
        return analysis_html(value)
    if hasattr(value, "created_files") and hasattr(value, "tool_log"):
        return _session_html(value, opts)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (CreatedFile, Path)) for v in value):
        return frame(files_html(list(value), opts))
    return json_html(value, opts.max_rows)


def bundle(value: Any, opts: FileOptions | None = None) -> dict[str, str]:
    """A MIME bundle (text/html + text/plain) for `value`."""
    return {"text/html": to_html(value, opts), "text/plain": repr(value)}


def show(
    *values: Any, max_rows: int = 20, max_pages: int = 2, metadata: dict[str, Any] | None = None
) -> None:
    """Display each value inline, rendered for what it is.

    Args:
        values: tool results, responses, DataFrames, files (paths or `CreatedFile`), analyses,
            monitoring results, sessions (their created files), or any JSON value.
        max_rows: rows shown per table or sheet.
        max_pages: pdf pages rendered, each 1,000 pixels wide: the first open, the others as
            thumbnails that open on a click.
        metadata: output metadata to attach to each display.
    """
    from IPython.display import display

    opts = FileOptions(max_rows=max_rows, max_pages=max_pages)
    for value in values:
        if _is_dataframe(value):
            display(value, metadata=metadata)
            continue
        display(bundle(value, opts), raw=True, metadata=metadata)
