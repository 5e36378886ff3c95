"""Previews of one file the host opened itself: what it shows depends on its extension.

xlsx sheets, pdf pages, images inline, JSON/CSV tables, other text truncated, anything else just its
size. The caller opens the file (inside a working dir, through `beneath.open_in`, so no planted link
is followed) and hands over the open file: the preview never looks a path up again. Each kind checks
its caps (`limits`) before parsing; a refused or failed preview is one line saying why, and the
caller still offers the download.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass, field
from typing import IO

from ._html import data_link, error_box, esc, note, pre
from ._images import IMAGE_TYPES, image_html
from ._limits import PreviewRefused, limits
from ._tables import preview_table

__all__ = ["FileOptions", "opened_file_html", "preview_html", "size_text"]

TEXT_EXT = {".txt", ".md", ".log", ".py", ".sh", ".yaml", ".yml", ".toml", ".html", ".xml", ".ini", ".cfg"}
TABLE_EXT = {".json", ".jsonl", ".ndjson", ".csv", ".tsv"}


@dataclass
class FileOptions:
    """Caps for previews (the per-call ones; the rest are in `limits`).

    Attributes:
        max_rows: rows shown per table or sheet.
        max_pages: pdf pages rendered (the first open, the others as thumbnails that open on a click).
        max_text: characters of text shown.
        max_link_bytes: files up to this size get an embedded download link (data: URI); bigger
            ones name their path instead, so a notebook does not swell with large files.
    """

    max_rows: int = 20
    max_pages: int = 2
    max_text: int = 3000
    max_link_bytes: int = field(default_factory=lambda: limits.max_link_bytes)


def size_text(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _body(f: IO[bytes], name: str, ext: str, opts: FileOptions) -> str:
    if ext == ".xlsx":
        from ._xlsx import xlsx_html

        return xlsx_html(f, opts.max_rows)
    if ext == ".pdf":
        from ._pdf import pdf_html

        return pdf_html(f, opts.max_pages)
    if ext in IMAGE_TYPES:
        return image_html(f, name, ext)
    if ext in TABLE_EXT or ext in TEXT_EXT:
        return _text_body(f, ext, opts)
    return ""


def _text_body(f: IO[bytes], ext: str, opts: FileOptions) -> str:
    size = os.fstat(f.fileno()).st_size
    raw = f.read(min(size, limits.max_table_input_bytes) if ext in TABLE_EXT else opts.max_text * 4 + 4)
    text = raw.decode("utf-8", errors="replace")
    if ext in TABLE_EXT and len(raw) == size:
        shown = preview_table(text, opts.max_rows)
        if shown is not None:
            return shown
    out = pre(text, opts.max_text)
    if len(raw) < size and len(text) <= opts.max_text:
        out += note(f"the first {len(raw):,} of {size:,} bytes shown")
    return out


def preview_html(f: IO[bytes], name: str, opts: FileOptions | None = None) -> str:
    """The preview of the open file `f` named `name` (untrusted, escaped); a refusal is one line."""
    opts = opts or FileOptions()
    try:
        return _body(f, name, os.path.splitext(name)[1].lower(), opts)
    except PreviewRefused as exc:
        return error_box(f"cannot preview {name}", note(str(exc)))
    except Exception as exc:  # a broken file shows why, the rest of the output still renders
        return error_box(f"cannot preview {name}", note(f"{type(exc).__name__}: {exc}"[:300]))


def opened_file_html(f: IO[bytes], label: str, where: str, opts: FileOptions | None = None) -> str:
    """One open file as a notebook shows it: its name and size, its preview, and a download link
    with the file inside (or, past `max_link_bytes`, the place `where` it is)."""
    opts = opts or FileOptions()
    size = os.fstat(f.fileno()).st_size
    head = f"<h4 style='margin:0.6em 0 0.2em'>{esc(label)} <small>({size_text(size)})</small></h4>"
    body = preview_html(f, label, opts)
    if size <= opts.max_link_bytes:
        f.seek(0)
        media_type = mimetypes.guess_type(label)[0] or "application/octet-stream"
        link = data_link(os.path.basename(label), f.read(size), media_type)
    else:
        link = note(f"{size_text(size)} is too big to embed; the file is at {where}")
    return head + body + f"<div>{link}</div>"
