"""`-i NAME[,NAME...]`: notebook variables handed to a session.

Tables (a DataFrame, a Series, a list of records) are written into the session's working dir as
**JSON Lines**, one record per line: unlike CSV it keeps types (numbers stay numbers, nulls stay
null, nested values survive), every skill script can read it with the standard library, and the
bundled log analyzer reads it directly. The message gets one line naming the file, its rows and its
columns. Scalars and short one-line strings are given inline; long strings go to a `.txt` file and
other JSON values to a `.json` file (inline when short). In the cell body, `{NAME}` of an input
becomes its file name (or its value), so a `%%conjure run` command can name the file.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...display._beneath import write_new

__all__ = ["Inputs", "prepare_inputs"]

INLINE_LIMIT = 200
_MAX_COLUMNS_LISTED = 20


@dataclass
class Inputs:
    """What `-i` produced: lines for the message, `{NAME}` replacements, files written."""

    lines: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _usage_error(message: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(message)


def _columns(cols: list[str]) -> str:
    shown = ", ".join(cols[:_MAX_COLUMNS_LISTED])
    return shown + (f", … ({len(cols)} in all)" if len(cols) > _MAX_COLUMNS_LISTED else "")


def _write(path: Path, text: str) -> None:
    """A new file at `path` in the working dir, replacing whatever entry is there: a symlink a tool
    planted at that name (`df.jsonl -> /victim`) is replaced, never written through."""
    write_new(path.parent, path.name, text.encode("utf-8"))


def _write_records(path: Path, records: list[dict[str, Any]]) -> None:
    _write(path, "".join(json.dumps(rec, ensure_ascii=False, default=str) + "\n" for rec in records))


def _table(name: str, value: Any, workdir: Path, out: Inputs) -> bool:
    """Write a DataFrame, Series or list of records; False when `value` is none of them."""
    kind = type(value).__name__
    if kind == "Series" and hasattr(value, "to_frame"):
        value = value.to_frame()
        kind = "DataFrame"
    if kind == "DataFrame" and hasattr(value, "to_json"):
        path = workdir / f"{name}.jsonl"
        frame = value.reset_index() if _named_index(value) else value
        _unique_columns(name, [str(c) for c in frame.columns])
        _write(path, frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False) or "")
        rows, cols = len(frame), [str(c) for c in frame.columns]
    elif isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        path = workdir / f"{name}.jsonl"
        _write_records(path, value)
        rows = len(value)
        cols = list(dict.fromkeys(str(k) for r in value for k in r))
    else:
        return False
    out.files.append(path)
    out.refs[name] = path.name
    out.lines.append(
        f"Notebook variable `{name}` is the file `{path.name}` in the working directory "
        f"(JSON Lines, one record per line): {rows:,} rows; columns: {_columns(cols)}."
    )
    return True


def _unique_columns(name: str, cols: list[str]) -> None:
    """JSON records need one key per column: a repeated name is the caller's to fix, said in one line."""
    repeated = sorted({c for c in cols if cols.count(c) > 1})
    if repeated:
        shown = ", ".join(repr(c) for c in repeated[:5]) + (" ..." if len(repeated) > 5 else "")
        raise _usage_error(
            f"-i {name}: the DataFrame has duplicate column names ({shown}); rename them first, "
            f"e.g. {name}.columns = [...]"
        )


def _named_index(df: Any) -> bool:
    names = [n for n in getattr(df.index, "names", []) if n is not None]
    return bool(names)


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _one(name: str, value: Any, workdir: Path, out: Inputs) -> None:
    if _table(name, value, workdir, out):
        return
    value = _scalar(value)
    if value is None or isinstance(value, (bool, numbers.Number)):
        text = json.dumps(value, default=str)
        out.refs[name] = text
        out.lines.append(f"Notebook variable `{name}` = {text}")
        return
    if isinstance(value, str):
        if len(value) <= INLINE_LIMIT and "\n" not in value:
            out.refs[name] = value
            out.lines.append(f"Notebook variable `{name}` = {json.dumps(value, ensure_ascii=False)}")
            return
        path = workdir / f"{name}.txt"
        _write(path, value)
        desc = f"text, {len(value):,} characters"
    elif isinstance(value, (dict, list, tuple)):
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise _usage_error(f"-i {name}: the value is not JSON ({exc})") from None
        if len(text) <= INLINE_LIMIT:
            out.refs[name] = text
            out.lines.append(f"Notebook variable `{name}` = {text}")
            return
        path = workdir / f"{name}.json"
        _write(path, text)
        desc = f"JSON, {len(text):,} characters"
    else:
        raise _usage_error(
            f"-i {name}: cannot pass a {type(value).__name__}; give a DataFrame, a list of records, "
            "a number, a string, or a JSON value (dict/list)"
        )
    out.files.append(path)
    out.refs[name] = path.name
    out.lines.append(
        f"Notebook variable `{name}` is the file `{path.name}` in the working directory ({desc})."
    )


def parse_names(spec: list[str] | None) -> list[str]:
    names = [n.strip() for part in spec or [] for n in part.split(",") if n.strip()]
    bad = [n for n in names if not n.isidentifier()]
    if bad:
        raise _usage_error(f"-i takes variable names separated by commas; {bad} are not names")
    return list(dict.fromkeys(names))


def prepare_inputs(names: list[str], namespace: dict[str, Any], workdir: Path) -> Inputs:
    """Hand each named notebook variable to the session (files in `workdir`, or inline)."""
    out = Inputs()
    missing = [n for n in names if n not in namespace]
    if missing:
        raise _usage_error(f"-i: no variable named {', '.join(map(repr, missing))} in the notebook")
    for name in names:
        _one(name, namespace[name], workdir, out)
    return out
