"""Saving a session's state as JSON and reading it back (`Session.save` / `Session.load`)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..tools.data import CreatedFile, ToolCallRecord

__all__ = ["FORMAT_VERSION", "as_dicts", "read_state", "state_fields", "write_state"]

FORMAT_VERSION = 1


def write_state(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    target = Path(path)
    target.write_text(json.dumps(state, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return target


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The saved state, checked; a clear UsageError for anything that is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load a session from {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise UsageError(f"{path} is not a saved conjure_nb session (version {FORMAT_VERSION})")
    return data


def state_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The saved state as the session's own attribute values."""
    try:
        return {
            "messages": list(data.get("messages", [])),
            "created_files": [CreatedFile(**f) for f in data.get("created_files", [])],
            "tool_log": [ToolCallRecord(**r) for r in data.get("tool_log", [])],
            "usage": dict(data.get("usage", {})),
            "_hosted_container": data.get("container"),
        }
    except TypeError as exc:
        raise UsageError(f"a saved session has fields this version does not know: {exc}") from exc


def as_dicts(items: list[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(x) for x in items]
