"""The one place the dashboard turns values into markup: every string a log source, a tool or a
model produced goes through `esc` (the display layer's escape) or a `render` helper that escapes."""

from __future__ import annotations

from typing import Any

from ....display import escape
from ....display._html import error_box, img_png, note

__all__ = ["error_box", "esc", "img_png", "note"]


def esc(value: Any) -> str:
    """`value` as text that cannot become markup."""
    return escape(str(value))
