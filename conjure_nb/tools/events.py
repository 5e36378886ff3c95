"""Typed events a chat turn delivers as it happens (`on_event=` and `Session.astream`).

The notebook layer and the widget panels are built on these; each has a `type` string so a
handler can dispatch without isinstance checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .data import CreatedFile, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from .response import Response

__all__ = [
    "Event",
    "FileCreated",
    "ModelRequestStart",
    "ModelRequestStop",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnFinished",
]


@dataclass
class Event:
    type: ClassVar[str] = "event"


@dataclass
class TextDelta(Event):
    """A piece of the assistant's text, as it streams."""

    type: ClassVar[str] = "text_delta"
    text: str


@dataclass
class ModelRequestStart(Event):
    type: ClassVar[str] = "model_request_start"
    iteration: int


@dataclass
class ModelRequestStop(Event):
    type: ClassVar[str] = "model_request_stop"
    iteration: int
    stop_reason: str | None
    usage: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0


@dataclass
class ToolCallStarted(Event):
    type: ClassVar[str] = "tool_call_started"
    tool_use_id: str
    tool: str
    input: dict[str, Any]


@dataclass
class ToolCallFinished(Event):
    type: ClassVar[str] = "tool_call_finished"
    tool_use_id: str
    tool: str
    result: ToolResult
    is_error: bool
    duration_ms: float


@dataclass
class FileCreated(Event):
    type: ClassVar[str] = "file_created"
    file: CreatedFile


@dataclass
class TurnFinished(Event):
    type: ClassVar[str] = "turn_finished"
    response: Response
