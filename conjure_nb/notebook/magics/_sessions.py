"""The sessions the magics opened, by name, with what they were opened with.

A name keeps its session (and so its history) across cells. Asking an existing name for another
backend or other skills is refused with a message saying how to get what was asked for, because
quietly replacing the session would throw away its history and quietly ignoring the request would
run the cell somewhere the user did not ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...models._base import fake_label
from ...session import Response, Session
from ...tools._usage import counted

__all__ = ["Opened", "SessionStore", "Spec"]


@dataclass(frozen=True)
class Spec:
    """What a session was opened with: its backend and its skills (as labels)."""

    backend: str
    skills: tuple[str, ...]


@dataclass
class Opened:
    session: Session
    spec: Spec
    turns: list[Response] = field(default_factory=list)


class SessionStore:
    """Named sessions; `close_all` runs on unload and at interpreter exit."""

    def __init__(self) -> None:
        self._open: dict[str, Opened] = {}

    def get(self, name: str) -> Opened | None:
        found = self._open.get(name)
        if found is not None and found.session.closed:
            del self._open[name]
            return None
        return found

    def check(self, name: str, backend: str | None, skills: tuple[str, ...] | None) -> None:
        """Refuse a request that does not match the open session `name` (None: not asked for)."""
        found = self.get(name)
        if found is None:
            return
        asked = []
        if backend is not None and backend != found.spec.backend:
            asked.append(f"backend {backend!r} (it runs on {found.spec.backend!r})")
        if skills is not None and sorted(skills) != sorted(found.spec.skills):
            asked.append(f"skills {list(skills)} (it has {list(found.spec.skills)})")
        if asked:
            from IPython.core.error import UsageError

            raise UsageError(
                f"session {name!r} is already open and this cell asks for {' and '.join(asked)}; "
                f"use --session OTHER_NAME for a second session, or `%conjure reset --session {name}` "
                "to close this one first"
            )

    def open(self, name: str, spec: Spec, make: Callable[[], Session]) -> Opened:
        """The open session `name`, or a new one from `make()`."""
        found = self.get(name)
        if found is not None:
            return found
        opened = Opened(make(), spec)
        self._open[name] = opened
        return opened

    def close(self, name: str) -> bool:
        found = self._open.pop(name, None)
        if found is None:
            return False
        found.session.close()
        return True

    def close_all(self) -> None:
        """Close every session (errors in one do not keep the others open)."""
        errors: list[BaseException] = []
        for name in list(self._open):
            try:
                self.close(name)
            except Exception as exc:  # pragma: no cover - a backend failing to clean up
                errors.append(exc)
        if errors:
            raise errors[0]

    def __iter__(self) -> Iterator[tuple[str, Opened]]:
        return iter([(n, o) for n, o in self._open.items() if not o.session.closed])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def as_records(self) -> list[dict[str, Any]]:
        rows = []
        for name, opened in self:
            s = opened.session
            shown = counted(s.usage, s.invented_usage)
            rows.append(
                {
                    "session": name,
                    "backend": s.backend,
                    "model": _named(s.model),
                    "skills": ", ".join(opened.spec.skills),
                    "messages": len(s.messages),
                    "tool_calls": len(s.tool_log),
                    "files": len(s.created_files),
                    # a stand-in model's made-up counts are not usage (`tools._usage`)
                    "input_tokens": shown.get("input_tokens", 0),
                    "output_tokens": shown.get("output_tokens", 0),
                }
            )
        return rows


def _named(model: Any) -> str:
    """`model_label`, with a stand-in's own name: "ScriptedModel (scripted model, offline)"."""
    label = fake_label(model)
    return f"{model_label(model)} ({label})" if label else model_label(model)


def model_label(model: Any) -> str:
    """A short name for a model: its id when it has one, else its type."""
    if model is None:
        return "none"
    ident = getattr(model, "model", None)
    if isinstance(ident, str):
        return ident
    fn = getattr(model, "fn", None)
    if fn is not None:
        return f"FunctionModel({getattr(fn, '__name__', 'fn')})"
    return type(model).__name__
