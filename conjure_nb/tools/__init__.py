"""The tools layer: tool schemas and the data that flows through a turn.

`definitions` (the four tool schemas), `data` (ToolCall, ToolResult, CreatedFile, ToolCallRecord),
`events` (what a turn reports as it happens), `response` (what a turn produced), `tables` (tool output
as a DataFrame) and `workspace` (snapshots of a working dir, created files). Nothing here does I/O
with a model or a backend; the layers above build on it.
"""

from ._data import CreatedFile, ToolCall, ToolCallRecord, ToolResult
from ._definitions import TOOL_NAMES, check_input, tool_definitions

__all__ = [
    "TOOL_NAMES",
    "CreatedFile",
    "ToolCall",
    "ToolCallRecord",
    "ToolResult",
    "check_input",
    "tool_definitions",
]
