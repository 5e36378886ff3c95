"""The four file/shell tools as Messages-API definitions, and the check of a tool input against them."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .._errors import UsageError

__all__ = ["TOOL_NAMES", "check_input", "tool_definitions"]

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
