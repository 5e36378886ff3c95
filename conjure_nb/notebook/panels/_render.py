"""How the panels fill `Output` widgets, without `with out:` capture; the renderings are `cj.show`'s.

An `Output` widget's `outputs` are plain display-data dicts. Building them directly (rather than
printing inside `with out:`) works from any thread, in every frontend, and lets the headless tests
read exactly what a browser would render.
"""

from __future__ import annotations

from typing import Any

from ...display._text import escape, markdown_html

__all__ = ["display_data", "escape", "markdown_output", "pre"]


def display_data(obj: Any) -> dict[str, Any]:
    """One `outputs` entry of an Output widget showing `obj` as `cj.show` renders it."""
    from ..render import bundle

    return {"output_type": "display_data", "data": bundle(obj), "metadata": {}}


def markdown_output(text: str) -> dict[str, Any]:
    """An `outputs` entry showing untrusted Markdown as sanitized HTML (with a plain-text fallback).

    Never `text/markdown`: an Output widget's outputs are trusted, so a frontend would render the
    raw HTML inside the Markdown (an `<img onerror=...>` would run).
    """
    return {
        "output_type": "display_data",
        "data": {"text/html": markdown_html(text), "text/plain": text},
        "metadata": {},
    }


def pre(text: str, limit: int = 4000) -> str:
    """Text in a wrapped `<pre>`, cut at `limit` characters with a note."""
    cut = ""
    if len(text) > limit:
        cut = f"\n… {len(text) - limit:,} more characters"
        text = text[:limit]
    style = "white-space:pre-wrap;word-break:break-word;margin:2px 0;font-size:12px"
    return f'<pre style="{style}">{escape(text + cut)}</pre>'
