"""What a session has to show for itself, held in one object its collaborators share.

`SessionState` is a conversation's plain data: the messages, the tool log, the files tools created,
the approval decisions, the token usage and the hosted container the next request reuses. The
session, its tool runner and its files helper hold the same object, so none of them reaches into
another's fields; `Session.save` writes it and `Session.load` makes a session that starts from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:  # pragma: no cover
    from ..executors._approval import ApprovalRecord
    from ..tools._data import CreatedFile, ToolCallRecord

__all__ = ["SessionState", "Shared"]

T = TypeVar("T")


@dataclass
class SessionState:
    """A session's history and records: plain data that round-trips to JSON (`Session.to_dict`)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    tool_log: list[ToolCallRecord] = field(default_factory=list)
    created_files: list[CreatedFile] = field(default_factory=list)
    approvals: list[ApprovalRecord] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    invented_usage: dict[str, int] = field(default_factory=dict)
    """The part of `usage` that stand-in models reported (`fake_label`): made-up counts, never
    shown as usage or cost."""
    container: Any = None
    """The hosted container (its id, or the object the API sent) the next request reuses."""


class Shared(Generic[T]):
    """A session attribute kept in its `SessionState`: `session.messages` is `state.messages`.

    Reading and assigning both go to the state, so the session's collaborators see the same list.
    """

    def __init__(self, doc: str):
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Shared[T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> T: ...
    def __get__(self, obj: object | None, objtype: type | None = None) -> T | Shared[T]:
        if obj is None:
            return self
        value: T = getattr(obj._state, self.name)  # type: ignore[attr-defined]
        return value

    def __set__(self, obj: object, value: T) -> None:
        setattr(obj._state, self.name, value)  # type: ignore[attr-defined]
