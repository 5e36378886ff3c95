"""One created file as a card: its name, size and type, a preview, and a download link.

The download is a plain `<a download href="data:...">` link: it needs no custom JavaScript and no
server route, so it works in JupyterLab, Notebook 7, VS Code and Colab alike. Files over
`MAX_DOWNLOAD_BYTES` get no link (the page would carry them whole); `session.download_files()`
copies those.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as w

from ._render import escape

if TYPE_CHECKING:  # pragma: no cover
    from ...tools import CreatedFile

__all__ = ["MAX_DOWNLOAD_BYTES", "download_link", "file_card", "preview_html"]

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024


def _size(n: int | None) -> str:
    if n is None:
        return "hosted"
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def download_link(file: CreatedFile) -> str:
    """A data-URI download link for the file, or a note saying why there is none."""
    if file.path is None:
        return "<i>hosted file: download it with session.download_files()</i>"
    path = Path(file.path)
    try:
        size = path.stat().st_size
        if size > MAX_DOWNLOAD_BYTES:
            return f"<i>{_size(size)}: too big for a link; use session.download_files()</i>"
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as exc:
        return f"<i>cannot read it any more ({escape(exc.strerror or str(exc))})</i>"
    media = file.media_type or mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
    return (
        f'<a class="conjure-download" download="{escape(file.filename)}" '
        f'href="data:{escape(media)};base64,{data}">⬇ download {escape(file.filename)}</a>'
    )


def preview_html(file: CreatedFile) -> str:
    """The file rendered inline: sheets, pdf pages, images, text (the notebook layer's renderer)."""
    import importlib

    files = importlib.import_module("conjure_nb.notebook.render.files")
    return str(files.file_html(file, files.FileOptions(max_rows=10, max_pages=2)))


def file_card(file: CreatedFile) -> w.Widget:
    """A widget showing one created file with its preview and download link."""
    head = (
        f"<b>{escape(file.filename)}</b> <span style='color:#666'>{_size(file.size)} · "
        f"{escape(file.media_type)}</span> · {download_link(file)}"
    )
    try:
        body = preview_html(file)
    except Exception as exc:  # a file that cannot be previewed still gets its card and link
        body = f"<i>no preview: {escape(type(exc).__name__)}: {escape(str(exc))}</i>"
    card = w.HTML(f'<div class="conjure-file">{head}<div>{body}</div></div>')
    card.add_class("conjure-file-card")
    return card
