"""pdf previews: pages rendered to PNG with pypdfium2, a page count, and a cap on pages shown.

pypdfium2 renders with PDFium (Chrome's engine) in-process: a page at preview size takes a few
milliseconds, and only the pages that are shown are rendered, so a long pdf costs no more than
its first pages.

A pdf is untrusted: a 192-byte file can declare a page of 1 x 1200 inches, which at preview width
is hundreds of millions of pixels. Each page's pixel count is computed from its page box before it
is rendered, and a page over `limits.max_pdf_page_pixels` is named and skipped.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any, Union

from ._html import img_png, note
from ._limits import PreviewRefused, limits

__all__ = ["pdf_html", "pdf_pages"]

DEFAULT_MAX_PAGES = 4


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("pdf previews need pypdfium2: pip install conjure-nb") from exc
    return pypdfium2


Source = Union[str, "os.PathLike[str]", IO[bytes]]


def pdf_pages(
    source: Source, max_pages: int = DEFAULT_MAX_PAGES, width: int = 700, skipped: list[str] | None = None
) -> tuple[list[bytes], int]:
    """PNG bytes of the first `max_pages` pages rendered `width` pixels wide, and the page count.

    A page whose rendering would pass `limits.max_pdf_page_pixels` is not rendered; one line
    saying so is appended to `skipped`.
    """
    pdfium = _pdfium()
    from PIL import Image  # pypdfium2's to_pil() needs Pillow anyway

    if isinstance(source, (str, os.PathLike)):
        doc = pdfium.PdfDocument(os.fspath(source))
    else:
        source.seek(0)
        doc = pdfium.PdfDocument(source, autoclose=False)
    try:
        count = len(doc)
        pngs = []
        for index in range(min(count, max_pages)):
            page = doc[index]
            try:
                w_pt, h_pt = max(page.get_width(), 1.0), max(page.get_height(), 1.0)
                scale = width / w_pt
                pixels = width * h_pt * scale
                if pixels > limits.max_pdf_page_pixels:
                    if skipped is not None:
                        skipped.append(
                            f"page {index + 1} is {w_pt / 72:g} x {h_pt / 72:g} in: {pixels:,.0f} pixels at "
                            f"{width} px wide, more than limits.max_pdf_page_pixels="
                            f"{limits.max_pdf_page_pixels:,}; not rendered"
                        )
                    continue
                image = page.render(scale=scale).to_pil()
                # A 64-colour palette keeps text and charts crisp at a third of the bytes, and
                # deflating fewer bytes is faster than the RGB image was: notebooks stay small.
                image = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
                buf = io.BytesIO()
                image.save(buf, format="PNG", optimize=False, compress_level=1)
                pngs.append(buf.getvalue())
            finally:
                page.close()
        return pngs, count
    finally:
        doc.close()


def pdf_html(source: Source, max_pages: int = DEFAULT_MAX_PAGES, width: int = 700) -> str:
    """The page count and the first pages as PNG (a page over the pixel cap is named instead).

    Raises:
        PreviewRefused: the file is bigger than `limits.max_pdf_bytes` or PDFium cannot open it.
    """
    if not isinstance(source, (str, os.PathLike)):
        size = source.seek(0, os.SEEK_END)
        if size > limits.max_pdf_bytes:
            raise PreviewRefused(
                f"{size:,} bytes, more than limits.max_pdf_bytes={limits.max_pdf_bytes:,}; not opened"
            )
    skipped: list[str] = []
    try:
        pngs, count = pdf_pages(source, max_pages, width, skipped)
    except _pdfium().PdfiumError as exc:
        raise PreviewRefused(f"not a readable pdf ({exc})") from None
    shown = min(count, max_pages)
    out = note(f"{count} page(s)" + (f"; the first {shown} shown" if count > shown else ""))
    out += "".join(note(line) for line in skipped)
    imgs = "".join(
        f'<div style="margin:0.3em 0">{img_png(p, f"page {i}", width // 2 if len(pngs) > 1 else None)}</div>'
        for i, p in enumerate(pngs, 1)
    )
    return out + f'<div style="display:flex;flex-wrap:wrap;gap:0.5em">{imgs}</div>'
