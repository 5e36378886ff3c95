"""HTML for values that have no class of their own to render them: any JSON value.

Tool results and responses render themselves (`tools/_render.py`, named by their `formats`);
analyses and monitoring results render in `monitoring/_result.py`.
"""

from __future__ import annotations

import json
from typing import Any

from ...display._html import frame, pre
from ...display._limits import limits
from ...display._tables import parse_table, table_head_html

__all__ = ["json_html"]


def json_html(value: Any, max_rows: int = 50) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    head = (
        parse_table(text, max_rows, limits.max_table_cols)
        if len(text) <= limits.max_table_input_bytes
        else None
    )
    if head is not None:
        return frame(table_head_html(head, max_rows))
    return frame(pre(json.dumps(value, indent=2, ensure_ascii=False, default=str), limits.max_json_chars))
