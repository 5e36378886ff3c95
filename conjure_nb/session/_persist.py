"""Saving a session's state as JSON and reading it back (`Session.save` / `Session.load`).

A saved file is input from outside: it may be hand-edited or crafted. Everything read back is
checked against the schema below and refused with a `UsageError` naming the field, and a created
file's place is its `filename` inside the new session's working dir, never a recorded path.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ..executors._approval import ApprovalRecord
from ..tools._data import CreatedFile, ToolCallRecord, ToolResult
from ..tools._spill import SPILL_DIR
from ._state import SessionState

__all__ = [
    "FORMAT_VERSION",
    "ISOLATED_BACKENDS",
    "chosen_backend",
    "read_state",
    "rebase",
    "state_dict",
    "state_from_dict",
    "write_state",
]

FORMAT_VERSION = 1
ISOLATED_BACKENDS = ("docker", "anthropic")
"""Backends whose tools do not run on this machine: a saved file may pick these by itself."""

_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_FILE_FIELDS: dict[str, tuple[type, ...]] = {
    "path": _OPT_STR,
    "filename": (str,),
    "size": _OPT_INT,
    "sha256": _OPT_STR,
    "media_type": (str,),
    "tool_use_id": _OPT_STR,
    "file_id": _OPT_STR,
}
_RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "tool": (str,),
    "input": (dict,),
    "is_error": (bool,),
    "exit_code": _OPT_INT,
    "duration_ms": (int, float),
    "backend": (str,),
    "server": (bool,),
    "error_code": _OPT_STR,
    "tool_use_id": _OPT_STR,
    "result": (dict, type(None)),
}
_APPROVAL_FIELDS: dict[str, tuple[type, ...]] = {
    "tool": (str,),
    "input_sha256": (str,),
    "decision": (str,),
    "by": (str,),
    "rule": (str,),
    "reason": (str,),
    "at": (str,),
    "tool_use_id": _OPT_STR,
    "flagged": (list,),
}
_REQUIRED_APPROVAL = ("tool", "input_sha256", "decision", "by", "rule", "reason", "at")
_RESULT_FIELDS: dict[str, tuple[type, ...]] = {
    "content": (str,),
    "is_error": (bool,),
    "exit_code": _OPT_INT,
    "duration_ms": (int, float),
    "tool_use_id": _OPT_STR,
    "error_code": _OPT_STR,
    "output_file": _OPT_STR,
}
_SAVED_RESULT = tuple(_RESULT_FIELDS)
"""What a saved tool-log line keeps of its `ToolResult`: not stdout/stderr (see ToolCallRecord)."""
_REQUIRED_FILE = ("filename", "media_type")
_REQUIRED_RECORD = ("tool", "input", "is_error", "exit_code", "duration_ms", "backend")


def write_state(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    target = Path(path)
    target.write_text(json.dumps(state, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return target


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The saved state, every field checked (`state_from_dict`); a clear UsageError for anything that
    is not one, naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"cannot load a session from {path}: its JSON is nested too deeply") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a session from {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise UsageError(f"{path} is not a saved conjure_nb session (version {FORMAT_VERSION})")
    state_from_dict(data, path)
    return data


def chosen_backend(data: Mapping[str, Any], path: object, backend: str | None) -> str:
    """Where a loaded session's tools run: `backend` when given, else the saved one if it is isolated.

    Raises:
        UsageError: the file asks for a backend that runs tools on this machine and `backend` was
            not given (a crafted file must not drop the sandbox by itself).
    """
    if backend is not None:
        return backend
    saved = data.get("backend")
    if saved not in ISOLATED_BACKENDS:
        raise UsageError(
            f"{path} was saved from a {saved!r} session; say where its tools run now with "
            f"backend=... ('docker' for the sandbox, or {saved!r} to run them on this machine): "
            "a saved file does not pick a backend that runs tools here"
        )
    return str(saved)


def state_from_dict(data: Mapping[str, Any], source: object = "the file") -> SessionState:
    """The saved state (`state_dict`'s data) as a `SessionState`, every field checked.

    A local created file's `path` comes back relative (its `filename`); the session puts it
    under its own working dir with `rebase`.

    Raises:
        UsageError: a field has the wrong type or shape, or a created file lies outside the
            working dir; the message names the field.
    """

    def bad(field: str, why: str) -> UsageError:
        return UsageError(f"{source} is not a valid saved session: {field} {why}")

    messages = data.get("messages", [])
    if not isinstance(messages, list):
        raise bad("'messages'", f"is a {type(messages).__name__}, not a list of messages")
    for i, msg in enumerate(messages):
        _check_message(msg, f"messages[{i}]", bad)
    usage = _token_counts(data, "usage", bad)
    invented = _token_counts(data, "invented_usage", bad)
    container = data.get("container")
    if not isinstance(container, (str, dict, type(None))):
        raise bad("'container'", "must be an id, an object or null")
    files = [
        _created_file(f, f"created_files[{i}]", bad) for i, f in enumerate(_list(data, "created_files", bad))
    ]
    approvals = [
        ApprovalRecord(**_checked(r, f"approvals[{i}]", _APPROVAL_FIELDS, _REQUIRED_APPROVAL, bad))
        for i, r in enumerate(_list(data, "approvals", bad))
    ]
    log = [_record(r, f"tool_log[{i}]", bad) for i, r in enumerate(_list(data, "tool_log", bad))]
    return SessionState(
        messages=copy.deepcopy(messages),  # a copy: the session appends to its own
        tool_log=log,
        created_files=files,
        approvals=approvals,
        usage=usage,
        invented_usage=invented,
        container=copy.deepcopy(container),
    )


def _token_counts(data: Mapping[str, Any], key: str, bad: Any) -> dict[str, int]:
    counts = data.get(key, {})
    if not isinstance(counts, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in counts.items()
    ):
        raise bad(f"'{key}'", "must map token kinds to integers")
    return dict(counts)


def _list(data: Mapping[str, Any], key: str, bad: Any) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise bad(f"'{key}'", f"is a {type(value).__name__}, not a list")
    return value


def _check_message(msg: Any, where: str, bad: Any) -> None:
    if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
        raise bad(where, "must be an object with role 'user' or 'assistant'")
    content = msg.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list) or not all(
        isinstance(b, dict) and isinstance(b.get("type"), str) for b in content
    ):
        raise bad(f"{where}.content", "must be a string or a list of content blocks with a 'type'")


def _checked(
    item: Any, where: str, spec: dict[str, tuple[type, ...]], required: tuple[str, ...], bad: Any
) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise bad(where, f"is a {type(item).__name__}, not an object")
    unknown = sorted(set(item) - set(spec))
    if unknown:
        raise bad(where, f"has fields this version does not know: {unknown}")
    missing = [k for k in required if k not in item]
    if missing:
        raise bad(where, f"misses {missing}")
    for key, value in item.items():
        types = spec[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise bad(f"{where}.{key}", f"has the wrong type ({type(value).__name__})")
    return item


def _record(item: Any, where: str, bad: Any) -> ToolCallRecord:
    fields = dict(_checked(item, where, _RECORD_FIELDS, _REQUIRED_RECORD, bad))
    raw = fields.get("result")
    if raw is not None:
        result = dict(_checked(raw, f"{where}.result", _RESULT_FIELDS, ("content",), bad))
        fields["result"] = ToolResult(**{**result, "output_file": _spill_name(result.get("output_file"))})
    return ToolCallRecord(**fields)


def _spill_name(path: str | None) -> str | None:
    """A saved output file as its name under SPILL_DIR (rebased by the session); else None.

    The recorded path is never used as is: a crafted file could point `ToolResult.dataframe` at
    any file on this machine.
    """
    if not path or f"/{SPILL_DIR}/" not in f"/{path}":
        return None
    name = path.rsplit("/", 1)[-1]
    return f"{SPILL_DIR}/{name}" if name not in ("", ".", "..") else None


def _created_file(item: Any, where: str, bad: Any) -> CreatedFile:
    fields = dict(_checked(item, where, _FILE_FIELDS, _REQUIRED_FILE, bad))
    fields.setdefault("size", None)
    fields.setdefault("sha256", None)
    name = fields["filename"]
    if fields.get("path") is None and fields.get("file_id"):
        return CreatedFile(**{"path": None, **fields})
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise bad(f"{where}.filename", f"{name!r} is not a path inside the working dir")
    fields["path"] = name  # its place is its name in the working dir, whatever path was recorded
    return CreatedFile(**fields)


def rebase(state: SessionState, working_dir: Path) -> None:
    """Point loaded local files, and tool results' output files, at their names under `working_dir`."""
    for f in state.created_files:
        if f.path is not None:
            f.path = str(working_dir / f.filename)
    for record in state.tool_log:
        if record.result is not None and record.result.output_file is not None:
            record.result.output_file = str(working_dir / record.result.output_file)


def state_dict(state: SessionState, session_id: str, backend: str) -> dict[str, Any]:
    """What `Session.save` writes: the state as JSON data, with the session's id and backend."""
    return {
        "version": FORMAT_VERSION,
        "id": session_id,
        "backend": backend,
        "messages": state.messages,
        "created_files": _as_dicts(state.created_files),
        "tool_log": _record_dicts(state.tool_log),
        "approvals": _as_dicts(state.approvals),
        "usage": state.usage,
        "invented_usage": state.invented_usage,
        "container": state.container,
    }


def _record_dicts(records: list[ToolCallRecord]) -> list[dict[str, Any]]:
    """The tool log as JSON data; each result keeps the fields in `_SAVED_RESULT`."""
    out = []
    for record in records:
        data = dataclasses.asdict(record)
        if record.result is not None:
            data["result"] = {k: v for k, v in data["result"].items() if k in _SAVED_RESULT}
        out.append(data)
    return out


def _as_dicts(items: list[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(x) for x in items]
