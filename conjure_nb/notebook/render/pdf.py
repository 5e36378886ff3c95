"""pdf previews: pages rendered to PNG with pypdfium2, a page count, and a cap on pages shown.

pypdfium2 renders with PDFium (Chrome's engine) in-process: a page at preview size takes a few
milliseconds, and only the pages that are shown are rendered, so a long pdf costs no more than
its first pages.
"""

from __future__ import annotations

import io
import os
from typing import Any

from .html import img_png, note

__all__ = ["pdf_html", "pdf_pages"]

DEFAULT_MAX_PAGES = 4


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("pdf previews need pypdfium2: pip install conjure-nb") from exc
    return pypdfium2


def pdf_pages(
    path: str | os.PathLike[str], max_pages: int = DEFAULT_MAX_PAGES, width: int = 700
) -> tuple[list[bytes], int]:
    """PNG bytes of the first `max_pages` pages rendered `width` pixels wide, and the page count."""
    pdfium = _pdfium()
    doc = pdfium.PdfDocument(os.fspath(path))
    try:
        count = len(doc)
        pngs = []
        for index in range(min(count, max_pages)):
            page = doc[index]
            try:
                scale = width / max(page.get_width(), 1.0)
                image = page.render(scale=scale).to_pil()
                buf = io.BytesIO()
                image.save(buf, format="PNG", optimize=False, compress_level=1)
                pngs.append(buf.getvalue())
            finally:
                page.close()
        return pngs, count
    finally:
        doc.close()


def pdf_html(path: str | os.PathLike[str], max_pages: int = DEFAULT_MAX_PAGES, width: int = 700) -> str:
    pngs, count = pdf_pages(path, max_pages, width)
    out = note(f"{count} page(s)" + (f"; the first {len(pngs)} shown" if count > len(pngs) else ""))
    imgs = "".join(
        f'<div style="margin:0.3em 0">{img_png(p, f"page {i}", width // 2 if len(pngs) > 1 else None)}</div>'
        for i, p in enumerate(pngs, 1)
    )
    return out + f'<div style="display:flex;flex-wrap:wrap;gap:0.5em">{imgs}</div>'
