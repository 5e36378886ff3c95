"""JSON as a tree a person can read: indented, nested levels folded, tables where the data is tabular.

A tool's JSON output is often an object holding a few facts and a list of records. Shown as one
indented `<pre>` it is hundreds of lines to scroll; shown as a tree, the first levels are open,
deeper ones fold under a line saying what they hold (`{…} 6 keys`, `[…] 120 items`), a list of
records is a table, small values stay on one line, and text with many lines folds with its count.

Everything in a value (keys, strings, numbers) is escaped text; the markup is the host's own and
uses only `<details>`, `<div>`, `<span>` and fixed inline styles. The tree is bounded: at most
`limits.max_json_items` entries of one object or array and `limits.max_json_nodes` values in all
are shown, and what is left out is counted on the spot.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from ._html import esc, note, pre
from ._json import loads
from ._limits import limits
from ._tables import records_html

__all__ = ["NOT_JSON", "json_tree_html", "loads_json"]

NOT_JSON: Any = object()
_INLINE = 80  # a small object or array of plain values stays on one line up to this many characters
_STRING = 2000  # characters of one string shown before it is cut

_compact = json.JSONEncoder(ensure_ascii=False, default=str).encode  # one encoder, not one per value
_ascii = json.JSONEncoder(default=str).encode
_COLORS = {bool: "#7b1fa2", type(None): "#7b1fa2", int: "#1565c0", float: "#1565c0"}
_INDENT = "margin-left:0.3em;padding-left:0.9em;border-left:1px solid rgba(128,128,128,0.35)"
_BOX = "font-family:var(--jp-code-font-family,monospace);font-size:0.92em;line-height:1.5"


def loads_json(text: str) -> Any:
    """`text` parsed as a JSON object or array, or `NOT_JSON` (anything else, or not JSON at all)."""
    stripped = text.strip()
    if stripped[:1] not in ("{", "["):
        return NOT_JSON
    try:
        return loads(stripped)
    except ValueError:
        return NOT_JSON


@dataclass
class _Budget:
    nodes: int
    cut: bool = False


def json_tree_html(value: Any, open_levels: int = 2, max_rows: int | None = None) -> str:
    """`value` (any JSON value) as a collapsible tree.

    Args:
        open_levels: levels shown unfolded; deeper objects and arrays fold under their summary.
        max_rows: rows of a table made from a list of records (default `limits.max_table_rows`).
    """
    budget = _Budget(limits.max_json_nodes)
    rows = limits.max_table_rows if max_rows is None else max_rows
    body = _node("", value, 0, open_levels, rows, budget)
    if budget.cut:
        body += note(
            f"… the rest is not shown: limits.max_json_nodes={limits.max_json_nodes:,} values are shown at most"
        )
    return f'<div style="{_BOX}">{body}</div>'


def _key(label: str) -> str:
    return f"{esc(label)}: " if label else ""


def _scalar(value: Any) -> str:
    """A plain value: strings quoted (no markup, they are most of a document), other values coloured."""
    if isinstance(value, str):
        text, cut = (value[:_STRING], len(value) - _STRING) if len(value) > _STRING else (value, 0)
        more = f" <small>… {cut:,} more characters</small>" if cut else ""
        return esc(_compact(text)) + more
    kind = type(value)
    if kind in _COLORS:  # JSON's own literals and numbers: their JSON text is all ASCII, nothing to escape
        return f'<span style="color:{_COLORS[kind]}">{_literal(value)}</span>'
    return f'<span style="color:inherit">{esc(_ascii(value))}</span>'


def _literal(value: bool | int | float | None) -> str:
    """`json.dumps(value)` of a JSON literal or number, without the encoder's machinery."""
    if value is None or type(value) is bool:
        return "null" if value is None else ("true" if value else "false")
    if type(value) is int:
        return int.__repr__(value)
    if value != value or value in (_INF, -_INF):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    return float.__repr__(value)


_INF = float("inf")


def _plain(value: Any) -> bool:
    return not isinstance(value, (dict, list)) and not (isinstance(value, str) and "\n" in value)


def _inline(value: dict[str, Any] | list[Any]) -> str | None:
    """A small container of plain values as one line of JSON, or None when it does not fit."""
    items = value.values() if isinstance(value, dict) else value
    if len(value) > 12 or not all(_plain(v) for v in items):
        return None
    text = _compact(value)
    return text if len(text) <= _INLINE else None


def _records(value: list[Any]) -> bool:
    return len(value) >= 2 and all(isinstance(v, dict) and v for v in value)


def _summary(value: dict[str, Any] | list[Any]) -> str:
    if isinstance(value, dict):
        names = ", ".join(itertools.islice(value, 4))
        more = ", …" if len(value) > 4 else ""
        return f"{{…}} {len(value):,} keys: {names[:_INLINE]}{more}"
    return f"[…] {len(value):,} items"


def _node(label: str, value: Any, depth: int, open_levels: int, rows: int, budget: _Budget) -> str:
    if budget.nodes <= 0:
        budget.cut = True
        return ""
    budget.nodes -= 1
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        lines = value.count("\n") + 1
        summary = f"{_key(label)}{_scalar(value.split(chr(10), 1)[0][:_INLINE] + '…')} ({lines:,} lines)"
        return f"<details><summary>{summary}</summary>{pre(value, limits.max_json_chars)}</details>"
    if not isinstance(value, (dict, list)):
        return f"<div>{_key(label)}{_scalar(value)}</div>"
    if not value:
        return f"<div>{_key(label)}{'{}' if isinstance(value, dict) else '[]'}</div>"
    small = _inline(value)
    if small is not None:
        return f"<div>{_key(label)}{esc(small)}</div>"
    flag = " open" if depth < open_levels else ""
    if isinstance(value, list) and _records(value):
        summary = f"{_key(label)}<small>[…] {len(value):,} records</small>"
        return f"<details{flag}><summary>{summary}</summary>{records_html(value, rows)}</details>"
    summary = f"{_key(label)}<small>{esc(_summary(value))}</small>"
    pairs = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
    shown = pairs[: limits.max_json_items]
    children = "".join(_node(str(k), v, depth + 1, open_levels, rows, budget) for k, v in shown)
    if len(pairs) > len(shown):
        what = "keys" if isinstance(value, dict) else "items"
        children += note(f"… {len(pairs) - len(shown):,} more {what}")
    return f'<details{flag}><summary>{summary}</summary><div style="{_INDENT}">{children}</div></details>'
