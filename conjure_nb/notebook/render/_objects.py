"""HTML for values that have no class of their own to render them: any JSON value.

Tool results and responses render themselves (`tools/_render.py`, named by their `formats`);
analyses and monitoring results render in `monitoring/_result.py`.
"""

from __future__ import annotations

import json
from typing import Any

from ...display._html import frame
from ...display._jsontree import json_tree_html
from ...display._limits import limits
from ...display._tables import table_from_json, table_head_html

__all__ = ["json_html"]


def json_html(value: Any, max_rows: int = 50) -> str:
    """Any JSON value: a table when it is one, else a collapsible tree."""
    head = None
    if isinstance(value, (list, dict)):
        size = len(json.dumps(value, ensure_ascii=False, default=str))
        if size <= limits.max_table_input_bytes:
            head = table_from_json(value, max_rows, limits.max_table_cols)
    if head is not None:
        return frame(table_head_html(head, max_rows))
    return frame(json_tree_html(value, max_rows=max_rows))
