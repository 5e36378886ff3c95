"""Reading a hosted reply: server tool calls, their results and the files they produced.

The code-execution tool runs on Anthropic's side, so a reply carries both the call
(`server_tool_use`) and its result (`bash_code_execution_tool_result`, ...). These functions turn
them into the same `ToolCallRecord`s local tools produce, keeping the server's names, the
result's `return_code` as `exit_code` and a server error's `error_code`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from ..tools._data import HOSTED_ERROR_CODES, ErrorCode, ToolCallRecord, ToolResult

__all__ = ["ServerCall", "file_ids", "has_server_results", "server_calls"]

_RESULT_TYPES = (
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "code_execution_tool_result",
)


@dataclass
class ServerCall:
    """One server tool call of a reply, paired with its result (None while it has none)."""

    id: str
    name: str
    input: dict[str, Any]
    result: dict[str, Any] | None = None
    file_ids: list[str] = field(default_factory=list)

    @property
    def error_code(self) -> ErrorCode | None:
        """The server's error code, when the call failed; one this library does not know is "server_error"."""
        content = (self.result or {}).get("content")
        if isinstance(content, dict) and content.get("type", "").endswith("_error"):
            code = content.get("error_code")
            return cast(ErrorCode, code) if code in HOSTED_ERROR_CODES else "server_error"
        return None

    @property
    def exit_code(self) -> int | None:
        content = (self.result or {}).get("content")
        code = content.get("return_code") if isinstance(content, dict) else None
        return code if isinstance(code, int) and not isinstance(code, bool) else None

    @property
    def is_error(self) -> bool:
        if self.error_code is not None:
            return True
        content = (self.result or {}).get("content")
        if isinstance(content, dict) and content.get("is_error"):
            return True
        return self.exit_code not in (None, 0)

    def tool_result(self) -> ToolResult:
        """The result as a `ToolResult` (for events and renderers), as the model saw it."""
        content = (self.result or {}).get("content")
        data = content if isinstance(content, dict) else {}
        stdout, stderr = str(data.get("stdout") or ""), str(data.get("stderr") or "")
        if self.error_code is not None:
            text = f"The server tool failed: {data.get('error_code') or self.error_code}."
        elif "stdout" in data or "stderr" in data:
            text = stdout if not stderr else f"{stdout}\n[stderr]\n{stderr}"
        else:
            text = json.dumps(content, ensure_ascii=False)
        return ToolResult(
            content=text,
            is_error=self.is_error,
            exit_code=self.exit_code,
            stdout=stdout,
            stderr=stderr,
            tool_use_id=self.id,
            error_code=self.error_code,
        )

    def record(self, backend: str = "anthropic") -> ToolCallRecord:
        """This call as a `session.tool_log` line (`server=True`)."""
        return ToolCallRecord(
            tool=self.name,
            input=dict(self.input),
            is_error=self.is_error,
            exit_code=self.exit_code,
            duration_ms=0.0,
            backend=backend,
            server=True,
            error_code=self.error_code,
            tool_use_id=self.id,
            result=self.tool_result() if self.result is not None else None,
        )


def server_calls(content: list[dict[str, Any]]) -> list[ServerCall]:
    """The server tool calls of a reply's content, each with its result block and file ids."""
    calls: dict[str, ServerCall] = {}
    for block in content:
        kind = block.get("type")
        if kind == "server_tool_use":
            inp = block.get("input")
            call_id = str(block.get("id"))
            calls[call_id] = ServerCall(call_id, str(block.get("name")), inp if isinstance(inp, dict) else {})
        elif kind in _RESULT_TYPES:
            call_id = str(block.get("tool_use_id"))
            call = calls.setdefault(call_id, ServerCall(call_id, kind.removesuffix("_tool_result"), {}))
            call.result = block
            call.file_ids = list(_ids_in(block))
    return list(calls.values())


def file_ids(content: list[dict[str, Any]]) -> list[str]:
    """Every file id in the reply's code-execution result blocks, de-duplicated, in order."""
    found: dict[str, None] = {}
    for block in content:
        if block.get("type") in _RESULT_TYPES:
            found.update(dict.fromkeys(_ids_in(block)))
    return list(found)


def _ids_in(node: Any) -> Iterator[str]:
    """File ids anywhere under a result block (bash output items, legacy code-execution output)."""
    if isinstance(node, dict):
        fid = node.get("file_id")
        if isinstance(fid, str) and fid:
            yield fid
        for value in node.values():
            if isinstance(value, (dict, list)):
                yield from _ids_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _ids_in(item)


def has_server_results(content: list[dict[str, Any]]) -> bool:
    """True when a reply's content holds a server tool's result (so calls, and maybe files, to record)."""
    return any(block.get("type") in _RESULT_TYPES for block in content)
