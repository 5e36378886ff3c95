"""The model's answer is Markdown; notebooks get it as HTML so one output carries everything.

markdown-it-py runs with raw HTML disabled: whatever a model writes cannot inject markup into
the notebook.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["markdown_html"]


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def markdown_html(text: str) -> str:
    """Render Markdown to HTML (tables and strikethrough on, raw HTML escaped)."""
    return str(_parser().render(text))
