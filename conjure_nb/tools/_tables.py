"""Turning tool output into a DataFrame when it is a table (the parsing lives in the display layer,
which previews the same tables with caps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..display._tables import parse_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def to_dataframe(text: str) -> pd.DataFrame | None:
    """Parse `text` as a JSON table, JSON Lines of objects, or CSV; None when it is none of them."""
    head = parse_table(text)
    return None if head is None else head.frame
