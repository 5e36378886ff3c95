"""One created file as a card: the notebook layer's file rendering (`cj.show`'s) in a widget.

xlsx sheets, pdf pages (PNG), images, tables and text, with a `data:` download link, all plain
HTML, so it needs no custom JavaScript and no server route in any frontend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w

from ...tools._file_previews import FileOptions, file_html

if TYPE_CHECKING:  # pragma: no cover
    from ...tools import CreatedFile

__all__ = ["PREVIEW", "file_card"]

PREVIEW = FileOptions(max_rows=10, max_pages=2)
"""How much of each file a panel shows (rows per sheet, pdf pages); change it to see more."""


def file_card(file: CreatedFile) -> w.HTML:
    """A widget showing one created file with its preview and download link."""
    card = w.HTML(f'<div class="conjure-file">{file_html(file, PREVIEW)}</div>')
    card.add_class("conjure-file-card")
    return card
