"""How the panels turn objects into what an `Output` widget shows, without `with out:` capture.

An `Output` widget's `outputs` are plain display-data dicts. Building them directly (rather than
printing inside `with out:`) works from any thread, in every frontend, and lets the headless tests
read exactly what a browser would render.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

__all__ = ["display_data", "escape", "mime_bundle", "pre", "summary"]


def mime_bundle(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The display data IPython would produce for `obj` (its `_repr_*_` methods, the kernel's printers).

    Binary payloads (PNG, JPEG) come back base64-encoded, as the notebook format stores them.
    """
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.getipython import get_ipython

    shell = get_ipython()
    formatter: Any = shell.display_formatter if shell is not None else DisplayFormatter()
    data, metadata = formatter.format(obj)
    clean = {key: _jsonable(value) for key, value in data.items()}
    return clean, dict(metadata or {})


def display_data(obj: Any) -> dict[str, Any]:
    """One `outputs` entry of an Output widget showing `obj`."""
    data, metadata = mime_bundle(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def markdown_output(text: str) -> dict[str, Any]:
    """An `outputs` entry rendering Markdown (with a plain-text fallback)."""
    return {
        "output_type": "display_data",
        "data": {"text/markdown": text, "text/plain": text},
        "metadata": {},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def pre(text: str, limit: int = 4000) -> str:
    """Text in a wrapped `<pre>`, cut at `limit` characters with a note."""
    cut = ""
    if len(text) > limit:
        cut = f"\n… {len(text) - limit:,} more characters"
        text = text[:limit]
    style = "white-space:pre-wrap;word-break:break-word;margin:2px 0;font-size:12px"
    return f'<pre style="{style}">{escape(text + cut)}</pre>'


def summary(inp: dict[str, Any], limit: int = 80) -> str:
    """A one-line summary of a tool input: the command or path when there is one, else the JSON."""
    text = inp.get("command") or inp.get("path") or json.dumps(inp, ensure_ascii=False)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
