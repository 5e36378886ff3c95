"""Tool output and files as tables: JSON (records, columns, split), JSON Lines, CSV, bounded.

`parse_table` turns text into a DataFrame when it is a table. For a preview it is given row and
column caps and builds the DataFrame from the head only, after counting the whole: a JSON output of
300,000 columns costs a `json.loads`, not a 300,000-column DataFrame (18 s) and 13 MB of HTML.
`ToolResult.dataframe` calls it without caps and gets the whole table.

A column whose every value (nulls aside) is an ISO-8601 timestamp with a time of day becomes a
datetime column: UTC-aware when every value names its offset (`Z`, `+02:00`), naive when none does.
A column that mixes the two, holds anything else, or names an impossible date stays text.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._html import ISO_TIMESTAMP, grid, missing, note, table
from ._json import loads
from ._limits import limits

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["TableHead", "parse_table", "records_html", "table_from_json", "table_head_html"]


@dataclass
class TableHead:
    """A table's first rows and columns (`frame`) and its full size."""

    frame: pd.DataFrame
    rows: int
    cols: int


_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_SHORTEST = len("2026-12-06T08:24")  # an ISO timestamp with a time of day is at least this long


def _as_times(column: pd.Series) -> pd.Series | None:
    """`column` as datetimes when every value (nulls aside) is an ISO-8601 timestamp, else None.

    One regex match on the first value turns a text column away; then every value must be text
    (pandas' C check) at least as long as a timestamp with a time of day, and pandas' ISO-8601 parser
    (C) checks and converts them, refusing mixed zones; only then are offsets looked at one by one.
    """
    import pandas as pd

    first = _first_present(column)
    if not isinstance(first, str) or not ISO_TIMESTAMP.fullmatch(first):
        return None
    if pd.api.types.infer_dtype(column, skipna=True) != "string":
        return None
    values = column.tolist()
    try:
        shortest = min(map(len, values))
    except TypeError:  # nulls among the texts
        values = column[column.notna().to_numpy()].tolist()
        shortest = min(map(len, values))
    if shortest < _SHORTEST:  # dates alone stay text
        return None
    try:
        times = pd.to_datetime(column, format="ISO8601", cache=False)
    except (ValueError, OverflowError):
        if not all(_OFFSET.search(v) for v in values):  # zoned and naive values mixed
            return None
        try:
            times = pd.to_datetime(column, format="ISO8601", utc=True, cache=False)
        except (ValueError, OverflowError):
            return None
    zone = times.dt.tz
    if zone is not None and str(zone) != "UTC":
        times = times.dt.tz_convert("UTC")
    return times


def _first_present(column: pd.Series) -> Any:
    """The column's first value that is not null (None when all are)."""
    for value in column.iloc[:8].tolist():
        if not missing(value):
            return value
    present = column.notna().to_numpy()
    return column.iloc[int(present.argmax())] if present.any() else None


def _times(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with its all-timestamp text columns as datetime columns (see the module doc)."""
    for index, kind in enumerate([dtype.kind for dtype in df.dtypes.tolist()]):
        if kind == "O":
            times = _as_times(df.iloc[:, index])
            if times is not None:
                df.isetitem(index, times)
    return df


def _head(df: pd.DataFrame, rows: int, cols: int) -> TableHead:
    return TableHead(_times(df), rows, cols)


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


def _from_records(recs: list[dict[str, Any]], max_rows: int | None, max_cols: int | None) -> TableHead:
    import pandas as pd

    if max_rows is None and max_cols is None:
        # the columns named up front (every key, in order of appearance: what pandas works out itself,
        # in one C pass instead of a Python generator over the records)
        df = pd.DataFrame(recs, columns=list(dict.fromkeys(itertools.chain.from_iterable(recs))))
        return _head(df, len(df), len(df.columns))
    cols = list(dict.fromkeys(k for r in recs for k in r))
    keep = cols[:max_cols] if max_cols is not None else cols
    head = recs[:max_rows] if max_rows is not None else recs
    return _head(
        pd.DataFrame([{k: r.get(k) for k in keep} for r in head], columns=keep), len(recs), len(cols)
    )


def table_from_json(data: Any, max_rows: int | None = None, max_cols: int | None = None) -> TableHead | None:
    """A parsed JSON value as a table (records, columns, split), or None when it is not one."""
    import pandas as pd

    if isinstance(data, dict) and set(data) >= {"columns", "data"}:
        columns, rows = list(data["columns"]), list(data["data"])
        keep = columns[:max_cols] if max_cols is not None else columns
        body = [list(r)[: len(keep)] for r in (rows[:max_rows] if max_rows is not None else rows)]
        return _head(pd.DataFrame(body, columns=keep), len(rows), len(columns))
    recs = _records(data)
    if not recs:
        return None
    if isinstance(recs, dict):
        names = list(recs)
        keep = names[:max_cols] if max_cols is not None else names
        total = len(recs[names[0]])
        cut = max_rows if max_rows is not None else total
        return _head(pd.DataFrame({k: recs[k][:cut] for k in keep}), total, len(names))
    return _from_records(recs, max_rows, max_cols)


def _from_csv(text: str, max_rows: int | None, max_cols: int | None) -> TableHead | None:
    import pandas as pd

    end = text.find("\n")
    if "," not in (text if end < 0 else text[:end]):  # the first line (or more of it) has no comma
        return None
    lines = text.splitlines()
    if len(lines) < 2 or "," not in lines[0]:
        return None
    try:
        dialect = csv.Sniffer().sniff(lines[0][:20_000] + "\n" + lines[1][:20_000], delimiters=",;\t")
        if not csv.Sniffer().has_header("\n".join(line[:20_000] for line in lines[:20])):
            return None
    except csv.Error:
        return None
    cols = len(next(csv.reader([lines[0]], dialect)))
    usecols = range(min(cols, max_cols)) if max_cols is not None else None
    try:
        df = pd.read_csv(io.StringIO(text), dialect=dialect, nrows=max_rows, usecols=usecols)
    except Exception:
        return None
    return _head(df, len(lines) - 1 if max_rows is not None else len(df), cols)


def parse_table(text: str, max_rows: int | None = None, max_cols: int | None = None) -> TableHead | None:
    """`text` as a table (JSON table, JSON Lines of objects, or CSV), or None when it is not one.

    Args:
        max_rows: build the DataFrame from at most this many rows (None: all).
        max_cols: and at most this many columns (None: all); `rows` and `cols` count them all.
    """
    text = text.strip()
    if not text:
        return None
    if text[0] not in "[{":
        return _from_csv(text, max_rows, max_cols)
    try:
        data = loads(text)
    except ValueError:
        rows = []
        for line in text.splitlines():
            try:
                obj = loads(line)
            except ValueError:
                return None
            if not isinstance(obj, dict):
                return None
            rows.append(obj)
        return _from_records(rows, max_rows, max_cols) if rows else None
    return table_from_json(data, max_rows, max_cols)


def table_head_html(head: TableHead, max_rows: int) -> str:
    """The head as an HTML table, with a note naming the rows and columns left out."""
    if not head.rows:
        return note("empty table")
    out = table(head.frame, max_rows)
    shown_rows, shown_cols = min(len(head.frame), max_rows), len(head.frame.columns)
    if head.rows > shown_rows or head.cols > shown_cols:
        out += note(f"{shown_rows:,} of {head.rows:,} rows and {shown_cols:,} of {head.cols:,} columns shown")
    return out


def records_html(records: list[dict[str, Any]], max_rows: int) -> str:
    """A list of JSON objects as a table with no DataFrame in between (a tree holds many small
    ones): the first `max_rows` rows and `limits.max_table_cols` columns, and a note naming what is
    left out."""
    names = list(dict.fromkeys(itertools.chain.from_iterable(records)))  # every key, in order of appearance
    keep, head = names[: limits.max_table_cols], records[:max_rows]
    out = grid(keep, [[r.get(k) for r in head] for k in keep])
    if len(records) > len(head) or len(names) > len(keep):
        out += note(
            f"{len(head):,} of {len(records):,} rows and {len(keep):,} of {len(names):,} columns shown"
        )
    return out


def preview_table(text: str, max_rows: int | None = None) -> str | None:
    """`text` as a capped HTML table, or None when it is not a table or is too big to parse."""
    if len(text) > limits.max_table_input_bytes:
        return None
    rows = limits.max_table_rows if max_rows is None else max_rows
    head = parse_table(text, rows, limits.max_table_cols)
    return None if head is None else table_head_html(head, rows)
