"""Telemetry around the executor seam: `ObservedExecutor` wraps any executor and reports what it does.

A session puts one around its executor, so no backend (and no executor a user writes) emits an
event itself, and the tool loop stays free of telemetry:

- `("conjure","executor","init")` after setup and `("conjure","executor","cleanup")` after the
  first close, as the Elixir library's executors do;
- per call, `("conjure","execute","start"|"stop")` and the per-tool pair
  `("conjure","executor",<op>,"start")` / `("conjure","executor",<op>)` (op: bash, view,
  create_file, str_replace, or a native tool's name; the second is the Elixir library's
  `[:conjure, :executor, :bash]` with `status` ok, error or timeout);
- `("conjure","execute","exception")` when the executor raises instead of returning a result. The
  exception goes on to the session, which hands the model an `is_error` result;
- `("conjure","backend",<backend>,"tool_call")` for each server tool call a hosted reply reports
  (`server=True` in the metadata; local calls get theirs from the session's tool runner).

docs/telemetry.md lists every event with its measurements and metadata.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from .. import telemetry
from ..tools import ToolCall, ToolResult
from ._base import Executor, ExecutorSetup, ServerCalls, WrappedExecutor

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = ["ObservedExecutor", "tool_op"]

_OPS = {"bash_tool": "bash"}


def tool_op(tool: str) -> str:
    """The per-tool event segment of a tool: `bash` for bash_tool, else the tool's own name."""
    return _OPS.get(tool, tool)


def _status(result: ToolResult) -> str:
    if not result.is_error:
        return "ok"
    return "timeout" if result.error_code == "timeout" else "error"


class ObservedExecutor(WrappedExecutor):
    """`inner` with telemetry events around setup, each call and close; nothing else changes.

    `inner` may be replaced at any time (a session's `executor` setter does, when
    `cj.require_approval` wraps it); the events follow the current one.
    """

    def __init__(self, inner: Executor):
        super().__init__(inner)
        self._ready = False
        self._closed = False

    def watching(self, inner: Executor) -> ObservedExecutor:
        """The same events, for the same session, about another executor: a chat call's approval
        gate in front of this one's (set up already; this wrapper never closes it)."""
        twin = ObservedExecutor(inner)
        twin._setup = self._setup
        return twin

    def _meta(self) -> dict[str, Any]:
        session = self._setup.session_id if self._setup is not None else None
        return {"session": session, "backend": self.inner.backend, "executor": type(self.inner).__name__}

    def setup(self, setup: ExecutorSetup) -> None:
        self._setup = setup
        self.inner.setup(setup)
        meta = {**self._meta(), "container_id": self.inner.container_id}
        telemetry.emit(("conjure", "executor", "init"), {"system_time": time.time()}, meta)
        self._ready = True

    def run(self, call: ToolCall) -> ToolResult:
        op = ("conjure", "executor", tool_op(call.name))
        meta = {**self._meta(), "tool": call.name, "tool_use_id": call.id}
        started = {"system_time": time.time()}
        telemetry.emit(("conjure", "execute", "start"), started, meta)
        telemetry.emit((*op, "start"), started, meta)
        t0 = time.perf_counter()
        try:
            result = self.inner.run(call)
        except BaseException as exc:
            ms = (time.perf_counter() - t0) * 1000
            telemetry.emit(
                ("conjure", "execute", "exception"), {"duration_ms": ms}, {**meta, "error": repr(exc)}
            )
            telemetry.emit(op, {"duration_ms": ms}, {**meta, "status": "error", "error": repr(exc)})
            raise
        ms = (time.perf_counter() - t0) * 1000
        done = {"duration_ms": ms}
        stop = {**meta, "is_error": result.is_error, "exit_code": result.exit_code}
        telemetry.emit(("conjure", "execute", "stop"), done, stop)
        telemetry.emit(op, done, {**meta, "status": _status(result), "container_id": self.inner.container_id})
        return result

    def read_reply(self, content: list[dict[str, Any]], known: Collection[str] = ()) -> ServerCalls:
        found = self.inner.read_reply(content, known)
        backend = self.inner.backend
        for record in found.calls:
            meta = {
                **self._meta(),
                "tool": record.tool,
                "server": True,
                "tool_use_id": record.tool_use_id,
                "success": not record.is_error,
                "error_code": record.error_code,
            }
            telemetry.emit(("conjure", "backend", backend, "tool_call"), {"duration_ms": 0.0}, meta)
        return found

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if self._ready and not self._closed:
                self._closed = True
                meta = {**self._meta(), "container_id": None}
                telemetry.emit(("conjure", "executor", "cleanup"), {"system_time": time.time()}, meta)

    def __repr__(self) -> str:
        return f"<ObservedExecutor around {self.inner!r}>"
