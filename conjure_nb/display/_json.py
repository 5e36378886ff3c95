"""JSON text from a tool or a file, parsed fast and read exactly as the standard library reads it.

orjson (a core dependency) parses a megabyte of log records in about half the time `json.loads`
takes, which is most of what `ToolResult.dataframe` costs. It reads two things differently: an
integer past 64 bits becomes a float (a 25-digit id would show as 1.2E+24), and it refuses what
the standard library accepts (NaN, Infinity, lone surrogates). So a text holding a run of 19 or
more digits (the shortest integer that may not fit) goes to `json.loads`, and so does a text
orjson refuses: the result is always the one `json.loads` gives. orjson 3.9.15 and later limit the
nesting depth instead of overflowing the C stack (CVE-2024-27454); an older one is not used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["loads"]

_DIGITS = bytes(0x31 if 0x30 <= i <= 0x39 else 0x30 for i in range(256))  # each byte: 1 a digit, else 0
_LONG_RUN = b"1" * 19


@lru_cache(maxsize=1)
def _orjson_loads() -> Callable[[bytes], Any] | None:
    try:
        import orjson
    except ImportError:  # pragma: no cover - a core dependency
        return None
    version = tuple(int(p) for p in orjson.__version__.split(".")[:3] if p.isdigit())
    return orjson.loads if version >= (3, 9, 15) else None


def loads(text: str) -> Any:
    """`json.loads(text)`, faster (see the module doc).

    Raises:
        ValueError: `text` is not JSON (json.JSONDecodeError, as `json.loads` raises it).
    """
    fast = _orjson_loads()
    if fast is not None:
        data = text.encode("utf-8", "surrogatepass")
        if not _long_digit_run(data):
            try:
                return fast(data)
            except ValueError:
                pass  # NaN, Infinity, a lone surrogate...: the standard library decides
    return json.loads(text)


def _long_digit_run(data: bytes, chunk: int = 1 << 20) -> bool:
    """Whether `data` holds 19 digits in a row, looked at a megabyte at a time (a text of any size
    costs one more megabyte, not one more copy of itself)."""
    overlap = len(_LONG_RUN) - 1
    return any(
        _LONG_RUN in data[at : at + chunk + overlap].translate(_DIGITS) for at in range(0, len(data), chunk)
    )
