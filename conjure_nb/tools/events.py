"""Typed events a chat turn delivers as it happens (`on_event=` and `Session.astream`).

The notebook layer and the widget panels are built on these; each has a `type` string so a
handler can dispatch without isinstance checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ._data import CreatedFile, OfCall, ToolCall, ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from ._response import Response

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
class _ToolCallEvent(OfCall, Event):
    call: ToolCall


@dataclass
class ToolCallStarted(_ToolCallEvent):
    """A tool call begins; `call` is the very `ToolCall` the turn runs (its id, name and input)."""

    type: ClassVar[str] = "tool_call_started"


@dataclass
class ToolCallFinished(_ToolCallEvent):
    """A tool call ended; `call` and `result` are the objects the history and `tool_log` hold."""

    type: ClassVar[str] = "tool_call_finished"
    result: ToolResult

    @property
    def is_error(self) -> bool:
        """Whether the result is an error (the model gets `is_error`)."""
        return self.result.is_error

    @property
    def duration_ms(self) -> float:
        """How long the call ran, in milliseconds."""
        return self.result.duration_ms


@dataclass
class FileCreated(Event):
    type: ClassVar[str] = "file_created"
    file: CreatedFile


@dataclass
class TurnFinished(Event):
    type: ClassVar[str] = "turn_finished"
    response: Response
