"""Tool schemas and the plain data that flows between the loop and the executors.

Everything here round-trips to JSON with `dataclasses.asdict`, so a session (history, tool log,
created files) can be saved and reloaded.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CreatedFile",
    "ToolCall",
    "ToolCallRecord",
    "ToolResult",
    "tool_definitions",
]

_VIEW: dict[str, Any] = {
    "name": "view",
    "description": (
        "View a file with line numbers, or list a directory two levels deep. Use it to read a "
        "skill's SKILL.md before using the skill, and to read files the skill refers to."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "Absolute path, or relative to the working dir.",
            },
            "view_range": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 2,
                "description": "Optional [start, end] line numbers, 1-indexed; end -1 reads to the end.",
            },
        },
        "required": ["path"],
    },
}
_BASH: dict[str, Any] = {
    "name": "bash_tool",
    "description": (
        "Run a bash command in the working directory and get its exit code, stdout and stderr. "
        "Use it to run a skill's scripts."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run."},
            "description": {
                "type": "string",
                "description": "Why this command runs, in a few words.",
            },
        },
        "required": ["command", "description"],
    },
}
_CREATE: dict[str, Any] = {
    "name": "create_file",
    "description": "Create a file (or overwrite it) with the given text; parent folders are created.",
    "input_schema": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Path of the file to write."},
            "file_text": {"type": "string", "description": "The whole content of the file."},
            "description": {"type": "string", "description": "Why the file is written."},
        },
        "required": ["path", "file_text", "description"],
    },
}
_REPLACE: dict[str, Any] = {
    "name": "str_replace",
    "description": (
        "Replace one occurrence of old_str in a file with new_str (empty new_str deletes it). "
        "old_str must occur exactly once."
    ),
    "input_schema": {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Path of the file to edit."},
            "old_str": {"type": "string", "description": "Exact text to replace; must be unique."},
            "new_str": {"type": "string", "description": "Replacement text (default empty)."},
            "description": {"type": "string", "description": "Why the edit is made."},
        },
        "required": ["path", "old_str", "description"],
    },
}
_TOOLS: dict[str, dict[str, Any]] = {t["name"]: t for t in (_VIEW, _BASH, _CREATE, _REPLACE)}
TOOL_NAMES: tuple[str, ...] = tuple(_TOOLS)


def tool_definitions(
    only: Iterable[str] | None = None, except_: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The four file/shell tools as Messages-API tool definitions (fresh copies).

    Args:
        only: keep just these tool names.
        except_: drop these tool names.

    Raises:
        UsageError: a name in `only`/`except_` is not one of the four tools.
    """
    names = list(TOOL_NAMES)
    for arg in (only, except_):
        unknown = sorted(set(arg or ()) - set(TOOL_NAMES))
        if unknown:
            raise UsageError(f"unknown tool name(s) {unknown}; the tools are {list(TOOL_NAMES)}")
    if only is not None:
        keep = set(only)
        names = [n for n in names if n in keep]
    if except_ is not None:
        drop = set(except_)
        names = [n for n in names if n not in drop]
    return [copy.deepcopy(_TOOLS[n]) for n in names]


@dataclass
class ToolCall:
    """One `tool_use` block the model asked for."""

    id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolResult:
    """What one tool call produced; `content` is what the model reads.

    Failing tools are data, not exceptions: `is_error` is set and `content` carries the exit code,
    stdout and stderr (or the exception's type and message) so the model can react.
    """

    content: str
    is_error: bool = False
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    tool_use_id: str | None = None
    error_code: str | None = None

    @property
    def dataframe(self) -> pd.DataFrame | None:
        """The output as a DataFrame when it is a JSON table (records/columns) or CSV, else None."""
        from ._tables import to_dataframe

        return to_dataframe(self.stdout or self.content)

    def to_block(self) -> dict[str, Any]:
        """The `tool_result` content block for the Messages API."""
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": self.tool_use_id,
            "content": self.content if self.content else "(no output)",
        }
        if self.is_error:
            block["is_error"] = True
        return block

    def __repr__(self) -> str:
        head = self.content if len(self.content) <= 80 else self.content[:77] + "..."
        flag = " is_error" if self.is_error else ""
        return f"<ToolResult{flag} exit={self.exit_code} {self.duration_ms:.1f}ms {json.dumps(head)}>"


@dataclass
class CreatedFile:
    """A file a tool created or changed in the working dir (or a hosted file, by `file_id`)."""

    path: str | None
    filename: str
    size: int | None
    sha256: str | None
    media_type: str
    tool_use_id: str | None = None
    file_id: str | None = None


@dataclass
class ToolCallRecord:
    """One line of `session.tool_log`: a tool call, local or hosted, with its outcome."""

    tool: str
    input: dict[str, Any]
    is_error: bool
    exit_code: int | None
    duration_ms: float
    backend: str
    server: bool = False
    error_code: str | None = None
    tool_use_id: str | None = None


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def check_input(definition: dict[str, Any], value: Any) -> str | None:
    """Check a tool input against its schema's top level; return the problem, or None.

    Only what matters for calling the tool safely is checked: an object, the required keys, and
    the JSON types of the given properties (a bool is not an integer here).
    """
    if not isinstance(value, dict) or "__invalid__" in value:
        return "input must be a JSON object"
    schema = definition.get("input_schema", {})
    props: dict[str, Any] = schema.get("properties", {})
    missing = [k for k in schema.get("required", []) if k not in value]
    if missing:
        return f"missing required input(s): {', '.join(missing)}"
    for key, val in value.items():
        want = props.get(key, {}).get("type")
        types = _JSON_TYPES.get(want or "")
        if types is None or (val is None and key not in schema.get("required", [])):
            continue
        if not isinstance(val, types) or (want in ("integer", "number") and isinstance(val, bool)):
            return f"input {key!r} must be {want}, not {type(val).__name__}"
    return None
