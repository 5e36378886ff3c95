"""Previews of files on disk (created by tools or given by path), each with a download link.

What a file shows depends on its extension: xlsx sheets, pdf pages, images inline, JSON/CSV
tables as DataFrames, other text truncated, anything else just its size. A file that cannot be
previewed says why instead of failing the cell.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from ...tools import CreatedFile
from .html import data_link, error_box, esc, note, pre, table

__all__ = ["FileOptions", "file_html", "files_html"]

_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_TEXT_EXT = {".txt", ".md", ".log", ".py", ".sh", ".yaml", ".yml", ".toml", ".html", ".xml", ".ini", ".cfg"}
_TABLE_EXT = {".json", ".jsonl", ".ndjson", ".csv", ".tsv"}


@dataclass
class FileOptions:
    """Caps for previews.

    Attributes:
        max_rows: rows shown per table or sheet.
        max_pages: pdf pages rendered.
        max_text: characters of text shown.
        max_link_bytes: files up to this size get an embedded download link (data: URI); bigger
            ones name their path instead, so a notebook does not swell with large files.
    """

    max_rows: int = 20
    max_pages: int = 4
    max_text: int = 3000
    max_link_bytes: int = 10 * 1024 * 1024


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _media_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _body(path: Path, ext: str, opts: FileOptions) -> str:
    if ext == ".xlsx":
        from .sheets import xlsx_html

        return xlsx_html(path, opts.max_rows)
    if ext == ".pdf":
        from .pdf import pdf_html

        return pdf_html(path, opts.max_pages)
    if ext in _IMAGE_TYPES:
        import base64

        b64 = base64.b64encode(path.read_bytes()).decode("ascii")
        return (
            f'<img src="data:{_IMAGE_TYPES[ext]};base64,{b64}" alt="{esc(path.name)}" style="max-width:100%">'
        )
    if ext in _TABLE_EXT or ext in _TEXT_EXT:
        return _text_body(path, ext, opts)
    return ""


def _text_body(path: Path, ext: str, opts: FileOptions) -> str:
    with path.open("rb") as f:
        raw = f.read(4 * 1024 * 1024)
    text = raw.decode("utf-8", errors="replace")
    if ext in _TABLE_EXT and len(raw) == path.stat().st_size:
        from ...tools.tables import to_dataframe

        df = to_dataframe(text)
        if df is not None:
            return table(df, opts.max_rows) if len(df) else note("empty table")
    return pre(text, opts.max_text)


def file_html(item: CreatedFile | str | os.PathLike[str], opts: FileOptions | None = None) -> str:
    """One file: its name and size, a preview where the type allows, and a download link."""
    opts = opts or FileOptions()
    if isinstance(item, CreatedFile):
        if item.path is None:
            return f"<h4>{esc(item.filename)}</h4>" + note(
                f"hosted file {item.file_id}: download it with session.download_files(dir)"
            )
        path, label = Path(item.path), item.filename
    else:
        path = Path(item)
        label = path.name
    if not path.is_file():
        return error_box(f"{label}: no such file", note(str(path)))
    size = path.stat().st_size
    head = f"<h4 style='margin:0.6em 0 0.2em'>{esc(label)} <small>({_size(size)})</small></h4>"
    try:
        body = _body(path, path.suffix.lower(), opts)
    except Exception as exc:  # a broken file shows why, the rest of the output still renders
        body = error_box(f"cannot preview {label}", note(f"{type(exc).__name__}: {exc}"))
    if size <= opts.max_link_bytes:
        link = data_link(path.name, path.read_bytes(), _media_type(path))
    else:
        link = note(f"{_size(size)} is too big to embed; the file is at {path}")
    return head + body + f"<div>{link}</div>"


def files_html(files: list[CreatedFile] | list[Path], opts: FileOptions | None = None) -> str:
    if not files:
        return note("no files")
    return "".join(file_html(f, opts) for f in files)
