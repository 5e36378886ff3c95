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
limits     the caps, one settings object with documented defaults
beneath    the no-follow opener: open_beneath (fd level), open_in / read_in / write_new (paths)
```
"""

from __future__ import annotations

from .beneath import LinkRefused, open_beneath, open_in, read_in, write_new
from .limits import Limits, limits
from .text import escape, markdown_html, sanitize_html

__all__ = [
    "Limits",
    "LinkRefused",
    "escape",
    "limits",
    "markdown_html",
    "open_beneath",
    "open_in",
    "read_in",
    "sanitize_html",
    "write_new",
]
