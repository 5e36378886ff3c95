"""Turning tool output into a DataFrame when it is a table (imports pandas lazily)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _records(data: Any) -> list[dict[str, Any]] | dict[str, list[Any]] | None:
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return data
    if isinstance(data, dict):
        # {"columns": [...], "data": [[...]]} (pandas split orient) is handled by the caller.
        lists = [v for v in data.values() if isinstance(v, list)]
        if data and len(lists) == len(data) and len({len(v) for v in lists}) == 1 and lists[0]:
            return data
        for key in ("records", "rows", "data", "items", "logs", "results"):
            if key in data:
                return _records(data[key])
    return None


def to_dataframe(text: str) -> pd.DataFrame | None:
    """Parse `text` as a JSON table, JSON Lines of objects, or CSV; None when it is none of them."""
    text = text.strip()
    if not text:
        return None
    import pandas as pd

    if text[0] in "[{":
        try:
            data = json.loads(text)
        except ValueError:
            rows = []
            for line in text.splitlines():
                try:
                    obj = json.loads(line)
                except ValueError:
                    return None
                if not isinstance(obj, dict):
                    return None
                rows.append(obj)
            return pd.DataFrame(rows) if rows else None
        if isinstance(data, dict) and set(data) >= {"columns", "data"}:
            return pd.DataFrame(data["data"], columns=data["columns"])
        recs = _records(data)
        return pd.DataFrame(recs) if recs else None
    lines = text.splitlines()
    if len(lines) < 2 or "," not in lines[0]:
        return None
    try:
        dialect = csv.Sniffer().sniff(lines[0] + "\n" + lines[1], delimiters=",;\t")
        if not csv.Sniffer().has_header("\n".join(lines[:20])):
            return None
    except csv.Error:
        return None
    try:
        return pd.read_csv(io.StringIO(text), dialect=dialect)
    except Exception:
        return None
