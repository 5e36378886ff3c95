"""The one place the dashboard turns values into markup: every string a log source, a tool or a
model produced goes through `esc` (or a `render` helper that escapes) before it is shown."""

from __future__ import annotations

from ...render.html import esc, img_png, note

__all__ = ["esc", "img_png", "note"]
