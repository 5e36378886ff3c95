"""The display layer: the ONE way untrusted text and files become notebook output.

Everything a model, a tool, a skill's files, a sandbox, a log source or the hosted service produces
is untrusted. It reaches the notebook only as

- escaped text (`escape`),
- HTML made from Markdown by one sanitizing renderer (`markdown_html`: raw HTML off, then nh3),
- bounded previews of files the host read itself, each size checked before anything parses it
  (`limits` holds the caps), and
- host-made images (`image_html`: bytes the host read, inlined as a data: URI).

Files inside a session's working dir are opened beneath it without following links (`beneath`):
a link planted by a sandbox is refused with a message naming the file.

Modules:

```
text       escape, markdown_html, sanitize_html
html       the small HTML building blocks every renderer shares (each escapes what it is given)
limits     the caps, one settings object with documented defaults; PreviewRefused
beneath    the no-follow opener: open_beneath (fd level), open_in / read_in / write_new (paths)
previews   one open file -> its preview (FileOptions); dispatches to:
json       JSON text parsed fast (orjson) and read exactly as the standard library reads it
tables     text -> DataFrame (parse_table; ISO timestamps as datetime columns), capped for previews
jsontree   JSON as a collapsible tree: levels folded, records as tables, bounded, every value escaped
xlsx       checks from the zip directory and cell references, then calamine in a separate process
isolated   that process: long-lived, given open files over a socket, memory-limited, deadline per call
sheetxml   what a sheet's XML adds (formulas, styles, widths), from the head of the part only
styles     styles.xml read (streamed, capped) and every workbook part parsed with no DTD
numfmt     Excel number formats: a value as Excel shows it
sheets     a sheet's preview rows as a table: formatted cells, the sheet's column widths, what is hidden
pdf        page boxes checked before PDFium renders a page; pages 1,000 px wide, "page i of n"
images     PNG/JPEG/GIF: byte cap, pixel cap from the header, then inlined as a data: URI
```
"""

from __future__ import annotations

from ._beneath import LinkRefused, open_beneath, open_in, read_in, write_new
from ._limits import Limits, PreviewRefused, limits
from ._text import escape, markdown_html, sanitize_html

__all__ = [
    "Limits",
    "LinkRefused",
    "PreviewRefused",
    "escape",
    "limits",
    "markdown_html",
    "open_beneath",
    "open_in",
    "read_in",
    "sanitize_html",
    "write_new",
]
