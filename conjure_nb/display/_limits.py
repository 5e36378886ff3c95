"""The display layer's caps, as one mutable settings object with documented defaults.

Every preview checks these before it parses anything, so a hostile file costs a stat and a few
header bytes, not the kernel. Change one for the whole process with, e.g.,
`conjure_nb.display.limits.max_table_rows = 200`; `cj.show(..., max_rows=...)` and the panels pass
their own row and page counts per call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "PreviewRefused", "limits"]

MB = 1024 * 1024


@dataclass
class Limits:
    """The caps in force.

    Attributes:
        max_markdown_chars: Markdown longer than this is rendered from its head, with a note.
        max_html_chars: the most characters of HTML one rendering produces (embedded downloads
            included); a bigger one is replaced by a line saying so.
        max_table_rows: rows of a table shown (a preview's default; callers may ask for fewer).
        max_table_cols: columns of a table shown; the rest are named in a note.
        max_table_input_bytes: JSON/CSV text parsed into a table at most; bigger shows as text.
        max_json_chars: characters of JSON or text shown in a `<pre>`.
        max_json_items: entries of one JSON object or array shown in a tree; the rest are counted.
        max_json_nodes: values of one JSON tree shown in all; a note says the rest is left out.
        max_text_lines: lines of text shown before the rest folds under a line counting them.
        max_image_bytes: an image file bigger than this is not read.
        max_image_pixels: width x height from the image header, checked before the bytes are read.
        max_pdf_bytes: a pdf bigger than this is not opened.
        max_pdf_page_pixels: pixels of one rendered page, computed from the page box first.
        max_xlsx_bytes: an xlsx bigger than this is not opened.
        max_xlsx_inflated_bytes: the sum of the uncompressed sizes of the parts a preview reads
            (sheets, shared strings, styles), from the zip directory (bombs).
        max_xlsx_cells: rows x columns of one sheet, from its `<dimension>` and its cell references.
        max_xlsx_columns: columns of one sheet (the same check, by column).
        parse_timeout_s: how long the xlsx reader (a separate process) may take.
        max_link_bytes: files up to this size get an embedded download link (a data: URI).
    """

    max_markdown_chars: int = 1_000_000
    max_html_chars: int = 32_000_000
    max_table_rows: int = 20
    max_table_cols: int = 60
    max_table_input_bytes: int = 32 * MB
    max_json_chars: int = 20_000
    max_json_items: int = 100
    max_json_nodes: int = 2_000
    max_text_lines: int = 40
    max_image_bytes: int = 20 * MB
    max_image_pixels: int = 40_000_000
    max_pdf_bytes: int = 100 * MB
    max_pdf_page_pixels: int = 8_000_000
    max_xlsx_bytes: int = 100 * MB
    max_xlsx_inflated_bytes: int = 300 * MB
    max_xlsx_cells: int = 10_000_000
    max_xlsx_columns: int = 16_384
    parse_timeout_s: float = 60.0
    max_link_bytes: int = 10 * MB


limits = Limits()


class PreviewRefused(Exception):
    """A file is not previewed: the message says why in one line (a cap, or a parser that failed)."""
