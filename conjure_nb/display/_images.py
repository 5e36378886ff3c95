"""Images the host inlines itself: the size from the header, checked before the bytes are read.

Only PNG, JPEG and GIF are inlined (SVG can carry script and is never shown as an image). The file
size is checked against `limits.max_image_bytes` (a sparse 3 GB png is refused by its `stat`), the
width and height from the format's header against `limits.max_image_pixels` (a small file that
decodes to a giant bitmap would be the browser's problem), and only then are the bytes read and
inlined as a data: URI: the browser never fetches anything.
"""

from __future__ import annotations

import base64
import os
import struct
from typing import IO

from ._limits import PreviewRefused, limits
from ._text import escape

__all__ = ["IMAGE_TYPES", "image_html", "image_size"]

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = struct.unpack(">H", head[i + 2 : i + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", head[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def image_size(head: bytes, media_type: str) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG, GIF or JPEG; None when the header is not one."""
    if media_type == "image/png" and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if media_type == "image/gif" and head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    if media_type == "image/jpeg" and head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    return None


def image_html(f: IO[bytes], name: str, ext: str) -> str:
    """An `<img>` with the file's bytes inlined, after the byte and pixel caps.

    Raises:
        PreviewRefused: too many bytes, too many pixels, or not the format its name says.
    """
    media_type = IMAGE_TYPES[ext]
    size = os.fstat(f.fileno()).st_size if hasattr(f, "fileno") else f.seek(0, os.SEEK_END)
    if size > limits.max_image_bytes:
        raise PreviewRefused(
            f"{size:,} bytes, more than limits.max_image_bytes={limits.max_image_bytes:,}; not read"
        )
    f.seek(0)
    head = f.read(64 * 1024)
    dims = image_size(head, media_type)
    if dims is None:
        raise PreviewRefused(f"not a {media_type.split('/')[1].upper()} image (its header does not say so)")
    width, height = dims
    if width * height > limits.max_image_pixels:
        raise PreviewRefused(
            f"{width:,} x {height:,} pixels, more than limits.max_image_pixels={limits.max_image_pixels:,}; not shown"
        )
    data = head + f.read()
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img src="data:{media_type};base64,{b64}" alt="{escape(name)}" style="max-width:100%">'
