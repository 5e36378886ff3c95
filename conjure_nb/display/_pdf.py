"""pdf previews: pages rendered to PNG with pypdfium2, a page count, and a cap on pages shown.

pypdfium2 renders with PDFium (Chrome's engine) in-process: a page at preview size takes a few
milliseconds, and only the pages that are shown are rendered, so a long pdf costs no more than
its first pages.

Pages are meant to be read: each is rendered 1,000 pixels wide (a landscape A4 page's 8-point text
is then about 10 pixels tall) as a 32-colour PNG, which keeps text and charts crisp at a fraction
of the bytes. The first page is open at that size; the next ones wait as thumbnails, each
captioned "page 2 of 5", and a click on one opens it at full size below (a `<details>`: no script).
Two pages are shown by default: the same pixels, and about the same time, as four pages at the
700 pixels that were unreadable before.

A pdf is untrusted: a 192-byte file can declare a page of 1 x 1200 inches, which at preview width
is hundreds of millions of pixels. Each page's pixel count is computed from its page box before it
is rendered, and a page over `limits.max_pdf_page_pixels` is named and skipped.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import dataclass
from typing import IO, Any, Union

from ._html import img_png, note
from ._limits import PreviewRefused, limits

__all__ = ["Page", "pdf_html", "pdf_pages", "render_pages"]

DEFAULT_MAX_PAGES = 2


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("pdf previews need pypdfium2: pip install conjure-nb") from exc
    return pypdfium2


Source = Union[str, "os.PathLike[str]", IO[bytes]]


DEFAULT_WIDTH = 1000
THUMB_WIDTH = 180
COLORS = 32


@dataclass
class Page:
    """One rendered page: its number (from 1), a PNG at full width, and a small one."""

    number: int
    png: bytes
    thumb: bytes = b""


def pdf_pages(
    source: Source,
    max_pages: int = DEFAULT_MAX_PAGES,
    width: int = DEFAULT_WIDTH,
    skipped: list[str] | None = None,
) -> tuple[list[bytes], int]:
    """PNG bytes of the first `max_pages` pages rendered `width` pixels wide, and the page count.

    A page whose rendering would pass `limits.max_pdf_page_pixels` is not rendered; one line
    saying so is appended to `skipped`.
    """
    pages, count = render_pages(source, max_pages, width, skipped, thumbs=False)
    return [p.png for p in pages], count


def render_pages(
    source: Source,
    max_pages: int = DEFAULT_MAX_PAGES,
    width: int = DEFAULT_WIDTH,
    skipped: list[str] | None = None,
    thumbs: bool = True,
) -> tuple[list[Page], int]:
    """The first `max_pages` pages as `Page`s (with thumbnails after the first when `thumbs`), and
    the page count; see `pdf_pages` for the pixel cap."""
    pdfium = _pdfium()
    from PIL import Image  # pypdfium2's to_pil() needs Pillow anyway

    if isinstance(source, (str, os.PathLike)):
        doc = pdfium.PdfDocument(os.fspath(source))
    else:
        source.seek(0)
        doc = pdfium.PdfDocument(source, autoclose=False)
    try:
        count = len(doc)
        pages = []
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
                image = page.render(scale=scale, rev_byteorder=True).to_pil()
                small = b""
                if thumbs and index:
                    ratio = THUMB_WIDTH / image.width
                    # a whole-factor box reduction first (C, a third of the time), then the last step
                    coarse = image.reduce(max(image.width // THUMB_WIDTH, 1))
                    small = _png(
                        coarse.resize((THUMB_WIDTH, max(int(image.height * ratio), 1)), Image.Resampling.BOX)
                    )
                pages.append(Page(index + 1, _png(image), small))
            finally:
                page.close()
        return pages, count
    finally:
        doc.close()


def _png(image: Any) -> bytes:
    """A 32-colour palette PNG: text and charts stay crisp at a fraction of the RGB bytes (16 colours
    garble white text on a dark table header).

    The palette is chosen from every other pixel of every other row (a quarter of the work; nearest,
    not averaged, so it holds the page's real colours), and each pixel then takes its nearest palette
    colour: a third of the time of quantizing the whole page, as close to the page, and a few percent
    more bytes. Deflating is most of what is left: zlib level 5 (Z_FILTERED) takes 70% of level 6's
    time for 3.5% more bytes (level 3: 40% of the time, 18% more bytes; tutorial 04 stays under
    300 KB with level 5).
    """
    from PIL import Image

    sample = image.resize((max(image.width // 2, 1), max(image.height // 2, 1)), Image.Resampling.NEAREST)
    palette = sample.quantize(colors=COLORS, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    image.quantize(palette=palette, dither=Image.Dither.NONE).save(
        buf, format="PNG", compress_level=5, compress_type=zlib.Z_FILTERED
    )
    return buf.getvalue()


def pdf_html(source: Source, max_pages: int = DEFAULT_MAX_PAGES, width: int = DEFAULT_WIDTH) -> str:
    """The page count and the first pages as PNG (a page over the pixel cap is named instead): the
    first open at `width` pixels (or the output's width when narrower), the others as thumbnails
    that open at that size when clicked, each captioned "page i of n".

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
        pages, count = render_pages(source, max_pages, width, skipped)
    except _pdfium().PdfiumError as exc:
        raise PreviewRefused(f"not a readable pdf ({exc})") from None
    shown = min(count, max_pages)
    out = note(
        f"{count} page{'s' if count != 1 else ''}" + (f"; the first {shown} shown" if count > shown else "")
    )
    out += "".join(note(line) for line in skipped)
    return (
        out
        + f'<div style="display:flex;flex-wrap:wrap;gap:0.5em 1em;align-items:flex-start">{"".join(_page_html(p, count, width) for p in pages)}</div>'
    )


def _page_html(page: Page, count: int, width: int) -> str:
    caption = f"page {page.number} of {count}"
    large = img_png(
        page.png, caption, style=f"width:{width}px;max-width:100%;border:1px solid rgba(128,128,128,0.4)"
    )
    if not page.thumb:
        return f'<details open style="max-width:100%"><summary>{caption}</summary>{large}</details>'
    thumb = img_png(page.thumb, caption, style="border:1px solid rgba(128,128,128,0.4);display:block")
    return (
        f'<details style="max-width:100%"><summary style="list-style:none;cursor:zoom-in">{thumb}'
        f"<small>▸ {caption}</small></summary>{large}</details>"
    )
