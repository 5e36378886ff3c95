"""How a session runs its tool calls: in order or in parallel, logged, spilled, files collected.

A mixin of `Session`, kept apart so the session's own module stays about the conversation.
Everything here runs in the caller's thread or the session's small thread pool.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

from .. import telemetry
from .._loop import ToolsOutcome
from ..executors._base import Executor
from ..executors._observed import ObservedExecutor
from ..skills._model import Skill
from ..tools._data import CreatedFile, ToolCall, ToolCallRecord, ToolResult
from ..tools._definitions import check_input
from ..tools._spill import spill
from ..tools._workspace import created_since, snapshot
from ..tools.events import Event, FileCreated, ToolCallFinished, ToolCallStarted

__all__ = ["Emit", "ToolRunner", "as_executor", "cleanup", "load_skills"]

Emit = Callable[[Event], None]


def as_executor(executor: Any) -> Executor:
    """An Executor instance; an Executor class is instantiated with its defaults."""
    if isinstance(executor, type) and issubclass(executor, Executor):
        return executor()
    if isinstance(executor, Executor) or all(
        callable(getattr(executor, name, None)) for name in ("setup", "run", "tool_definitions")
    ):
        return cast(Executor, executor)
    raise TypeError(
        f"executor must be an Executor instance such as cj.LocalExecutor() or "
        f"cj.DockerExecutor(image=...), not {executor!r}"
    )


def cleanup(executor: Executor, tmpdir: str | None, pool: list[ThreadPoolExecutor]) -> None:
    try:
        executor.close()
    finally:
        for p in pool:
            p.shutdown(wait=False, cancel_futures=True)
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def load_skills(skills: Any) -> list[Skill]:
    """Skills as given: Skill objects kept, paths loaded (sorted by name)."""
    if skills is None:
        return []
    if isinstance(skills, (str, os.PathLike)):
        skills = [skills]
    items = list(skills)
    if all(isinstance(s, Skill) for s in items):
        return items
    from ..skills._loader import load

    loaded = [s for s in items if isinstance(s, Skill)]
    paths = [s for s in items if not isinstance(s, Skill)]
    return sorted([*loaded, *load(paths)], key=lambda s: s.name)


class ToolRunner:
    """Runs a batch of tool calls for `Session` (which sets every attribute declared here)."""

    id: str
    executor: Executor
    _observed: ObservedExecutor
    working_dir: Path
    max_output: int
    tool_log: list[ToolCallRecord]
    created_files: list[CreatedFile]
    _tools: dict[str, dict[str, Any]]
    _lock: threading.Lock
    _pool: list[ThreadPoolExecutor]

    @property
    def backend(self) -> str:
        """Where this session's tools run: "local", "docker", "native" or "anthropic"."""
        return self.executor.backend

    def _run_tools(self, calls: list[ToolCall], emit: Emit | None) -> ToolsOutcome:
        before = snapshot(self.working_dir)
        results: list[ToolResult | None] = [None] * len(calls)
        interrupt: BaseException | None = None
        futures: list[Future[ToolResult]] = []
        try:
            if len(calls) == 1:
                results[0] = self._run_one(calls[0], emit)
            else:
                pool = self._thread_pool()
                futures = [pool.submit(self._run_one, c, emit) for c in calls]
                for i, fut in enumerate(futures):
                    results[i] = fut.result()
        except KeyboardInterrupt as exc:
            interrupt = exc
            self.executor.cancel()
            for i, fut in enumerate(futures):
                if results[i] is None:
                    try:
                        results[i] = fut.result(timeout=5)
                    except BaseException:
                        results[i] = None
        final = [
            r
            if r is not None
            else ToolResult(
                "Interrupted by the user before it finished.",
                is_error=True,
                exit_code=None,
                tool_use_id=c.id,
                error_code="interrupted",
            )
            for c, r in zip(calls, results)
        ]
        self._collect_files(before, calls, emit)
        return ToolsOutcome(final, interrupt)

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if not self._pool:
                self._pool.append(ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"conjure-{self.id}"))
            return self._pool[0]

    def _run_one(self, call: ToolCall, emit: Emit | None) -> ToolResult:
        if emit is not None:
            emit(ToolCallStarted(call))
        result = self._execute(call)
        result.tool_use_id = call.id
        record = ToolCallRecord(
            tool=call.name,
            input=call.input,
            is_error=result.is_error,
            exit_code=result.exit_code,
            duration_ms=result.duration_ms,
            backend=self.backend,
            error_code=result.error_code,
            tool_use_id=call.id,
            result=result,
        )
        with self._lock:
            self.tool_log.append(record)
        self._tool_call_events(call, result)
        if emit is not None:
            emit(ToolCallFinished(call, result))
        return result

    def _tool_call_events(self, call: ToolCall, result: ToolResult) -> None:
        """The Elixir library's conversation and per-backend tool-call events, for every call."""
        meta = {
            "session": self.id,
            "backend": self.backend,
            "tool": call.name,
            "tool_use_id": call.id,
            "success": not result.is_error,
            "error_code": result.error_code,
        }
        done = {"duration_ms": result.duration_ms}
        telemetry.emit(("conjure", "conversation", "tool_call"), done, meta)
        telemetry.emit(("conjure", "backend", self.backend, "tool_call"), done, meta)

    def _execute(self, call: ToolCall) -> ToolResult:
        definition = self._tools.get(call.name)
        if definition is None:
            return ToolResult(
                f"Unknown tool {call.name!r}. Available tools: {', '.join(self._tools)}.",
                is_error=True,
                exit_code=None,
                error_code="unknown_tool",
            )
        problem = check_input(definition, call.input)
        if problem:
            return ToolResult(
                f"Invalid input for {call.name}: {problem}.",
                is_error=True,
                exit_code=None,
                error_code="invalid_input",
            )
        try:
            result = self._observed.run(call)
        except Exception as exc:
            msg = f"The {self.backend} backend failed to run {call.name}: {type(exc).__name__}: {exc}"
            return ToolResult(
                msg, is_error=True, exit_code=None, stdout="", stderr=msg, error_code="executor_error"
            )
        result.tool_use_id = call.id
        shown = self.executor.working_dir_display()
        return spill(
            result,
            tool=call.name,
            working_dir=self.working_dir,
            shown_dir=shown,
            cap=self.max_output,
            tools=self._tools,
        )

    def _collect_files(
        self, before: dict[str, tuple[int, int]], calls: list[ToolCall], emit: Emit | None
    ) -> None:
        try:
            self.executor.sync_out()
        except Exception as exc:  # a failed copy-out must not lose the tool results
            telemetry.emit(("conjure", "execute", "exception"), {}, {"session": self.id, "error": repr(exc)})
            ids = {c.id for c in calls}
            with self._lock:
                for record in self.tool_log:
                    if record.tool_use_id in ids and record.error_code is None:
                        record.error_code = "copy_out_failed"
            with contextlib.suppress(Warning):  # warnings-as-errors must not cost the results
                warnings.warn(
                    f"the {self.backend} backend could not copy the files of the last tool call(s) "
                    f"out to {self.working_dir} ({type(exc).__name__}: {exc}); session.created_files "
                    "may miss them (tool_log marks those calls with error_code='copy_out_failed')",
                    stacklevel=2,
                )
        new = created_since(self.working_dir, before, calls)
        for f in new:
            with self._lock:
                self.created_files = [c for c in self.created_files if c.path != f.path] + [f]
            if emit is not None:
                emit(FileCreated(f))
        if new:  # chat turns and run_tool alike, so a FilesPanel shows them at once
            telemetry.emit(
                ("conjure", "files", "created"),
                {"count": len(new)},
                {"session": self.id, "backend": self.backend, "files": [f.filename for f in new]},
            )
