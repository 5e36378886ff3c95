"""The plain data that flows between the loop and the executors: tool calls, results, files, records.

Everything here round-trips to JSON with `dataclasses.asdict`, so a session (history, tool log,
created files) can be saved and reloaded.
"""

from __future__ import annotations

import json
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union, get_args

from ..display._mime import Formats, Rendered

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["HOSTED_ERROR_CODES", "CreatedFile", "ErrorCode", "ToolCall", "ToolCallRecord", "ToolResult"]


LocalErrorCode = Literal[  # a failure on this side: the executors, the loop, the approval wrapper
    "timeout",
    "cancelled",
    "interrupted",
    "denied",
    "not_run",
    "unknown_tool",
    "invalid_input",
    "spawn_failed",
    "executor_error",
    "copy_out_failed",
    "tool_error",
    "exception",
    "bad_return",
    "container_died",
    "closed",
    "bad_return",
]
HostedErrorCode = Literal[  # Anthropic's hosted code execution; a code not listed here is "server_error"
    "invalid_tool_input",
    "unavailable",
    "too_many_requests",
    "execution_time_exceeded",
    "output_file_too_large",
    "server_error",
]
ErrorCode = Union[LocalErrorCode, HostedErrorCode]  # noqa: UP007 (a type alias, evaluated at runtime)
"""Why a tool call failed without an exit code of its own; `ToolResult.error_code` is one of these."""
HOSTED_ERROR_CODES: frozenset[str] = frozenset(get_args(HostedErrorCode))


@dataclass
class ToolCall:
    """One `tool_use` block the model asked for."""

    id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)


class OfCall:
    """Read-only views onto the `ToolCall` an object carries as `call` (an event, an approval
    request, a turn's row): its id, its tool's name and its input, never copies of them."""

    call: ToolCall

    @property
    def tool_use_id(self) -> str:
        """The call's id (the model's `tool_use` id)."""
        return self.call.id

    @property
    def tool(self) -> str:
        """The tool's name (`bash_tool`, `log_fetcher_execute`, ...)."""
        return self.call.name

    @property
    def input(self) -> dict[str, Any]:
        """The call's full input, as the model sent it."""
        return self.call.input


@dataclass
class ToolResult(Rendered):
    """What one tool call produced; `content` is what the model reads.

    Failing tools are data, not exceptions: `is_error` is set and `content` carries the exit code,
    stdout and stderr (or the exception's type and message) so the model can react.
    """

    content: str
    _: KW_ONLY  # the rest by keyword: ToolResult("text", is_error=True, exit_code=2)
    is_error: bool = False
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    duration_ms: float = 0.0
    tool_use_id: str | None = None
    error_code: ErrorCode | None = None
    output_file: str | None = None
    """Path (on this machine) of the file holding the whole output, when it was over the cap."""

    @property
    def dataframe(self) -> pd.DataFrame | None:
        """The output as a DataFrame when it is a JSON table (records/columns) or CSV, else None.

        A long output is read from `output_file`, so the table is whole, not its head and tail.
        """
        from ._tables import to_dataframe

        text = self.full_text()
        return None if text is None else to_dataframe(text)

    def full_text(self, limit: int | None = None) -> str | None:
        """The whole output: `output_file` when it was spilled (read beneath the working dir, no link
        followed), else stdout or content; None when the spilled file cannot be read.

        Args:
            limit: read at most this many bytes of a spilled file.
        """
        if self.output_file is None:
            return self.stdout or self.content
        from ._spill import read_spilled

        try:
            return read_spilled(self.output_file, limit)
        except OSError:
            return None

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

    formats: ClassVar[Formats] = {"default": {"text/html": lambda r: _result_html(r), "text/plain": repr}}
    """How a ToolResult displays: a status line, then its output as a table when it is one."""


@dataclass
class CreatedFile(Rendered):
    """A file a tool created or changed in the working dir (or a hosted file, by `file_id`)."""

    path: str | None
    filename: str
    size: int | None
    sha256: str | None
    media_type: str
    tool_use_id: str | None = None
    file_id: str | None = None

    def __repr__(self) -> str:
        size = "size unknown" if self.size is None else f"{self.size:,} bytes"
        where = f" hosted {self.file_id}" if self.path is None and self.file_id else ""
        return f"<CreatedFile {self.filename!r} {size} {self.media_type}{where}>"

    formats: ClassVar[Formats] = {"default": {"text/html": lambda f: _file_html(f), "text/plain": repr}}
    """How a created file displays: its preview by type (read beneath its working dir) and a
    download link."""


@dataclass
class ToolCallRecord:
    """One line of `session.tool_log`: a tool call, local or hosted, with its outcome.

    `result` is the `ToolResult` itself, so a program can use a tool's output without capturing
    events: `session.tool_log[-1].result.content`, `.dataframe`, or `.output_file` for an output
    that was over the cap. A saved session keeps each result's `content` (what the model read),
    status fields and `output_file`; its `stdout` and `stderr` come back empty after `Session.load`
    (the content holds them for a failed call), which keeps a saved file small.
    """

    tool: str
    _: KW_ONLY
    input: dict[str, Any]
    is_error: bool
    exit_code: int | None
    duration_ms: float
    backend: str
    server: bool = False
    error_code: ErrorCode | None = None
    tool_use_id: str | None = None
    result: ToolResult | None = None


def _result_html(result: ToolResult) -> str:
    from ._render import run_html  # the renderers import this module's types

    return run_html(result)


def _file_html(file: CreatedFile) -> str:
    from ..display._html import frame
    from ._file_previews import file_html  # the previews import this module's types

    return frame(file_html(file))
