"""How a session runs its tool calls: in order or in parallel, logged, spilled, files collected.

`ToolRunner` is a collaborator the session holds: it runs a batch of calls on the session's
executor (or on the approval gate of one chat call), writes each into the session's
`SessionState` (tool log, created files), and sends the live events. It also records what a
hosted reply says ran on the model's side. Everything here runs in the caller's thread or the
runner's small thread pool.
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
from ..tools._data import ToolCall, ToolCallRecord, ToolResult
from ..tools._definitions import check_input
from ..tools._spill import spill
from ..tools._workspace import created_since, snapshot
from ..tools.events import Event, FileCreated, ToolCallFinished, ToolCallStarted
from ._state import SessionState

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


def _interrupted(call: ToolCall) -> ToolResult:
    return ToolResult(
        "Interrupted by the user before it finished.",
        is_error=True,
        exit_code=None,
        tool_use_id=call.id,
        error_code="interrupted",
    )


def _cancelled(call: ToolCall) -> ToolResult:
    return ToolResult(
        "Cancelled before it started.",
        is_error=True,
        exit_code=None,
        tool_use_id=call.id,
        error_code="cancelled",
    )


class ToolRunner:
    """Runs a session's tool calls and records them in its state.

    Args:
        session_id: names the pool's threads and the telemetry events.
        executor: the session's executor, with telemetry around it (set up already).
        state: where the tool log and created files go.
        working_dir: the host working dir (spilled output, created files).
        max_output: the most characters of a result the model reads; the rest is spilled.
        pool: the list the runner's thread pool goes in (the session's cleanup shuts it down).
    """

    def __init__(
        self,
        session_id: str,
        executor: ObservedExecutor,
        state: SessionState,
        working_dir: Path,
        max_output: int,
        pool: list[ThreadPoolExecutor],
    ):
        self.session_id = session_id
        self.executor = executor
        self.state = state
        self.working_dir = working_dir
        self.max_output = max_output
        self.definitions = {t["name"]: t for t in executor.tool_definitions()}
        """The tools the session offers the model, by name."""
        self._pool = pool
        self._lock = threading.Lock()
        self._cancels = 0  # bumped by cancel(): a call announced but not yet run by then does not run

    @property
    def backend(self) -> str:
        return self.executor.backend

    def run(
        self, calls: list[ToolCall], emit: Emit | None, on: ObservedExecutor | None = None
    ) -> ToolsOutcome:
        """Run a batch of calls (in parallel when there are several) on `on` (else the session's executor).

        A KeyboardInterrupt stops the running calls; each unfinished one gets an `interrupted` result and
        the interrupt comes back in the outcome, to be raised once the results are in the history.
        """
        executor = on or self.executor
        before = snapshot(self.working_dir)
        results: list[ToolResult | None] = [None] * len(calls)
        interrupt: BaseException | None = None
        futures: list[Future[ToolResult]] = []
        try:
            if len(calls) == 1:
                results[0] = self._run_one(calls[0], emit, executor)
            else:
                pool = self._thread_pool()
                futures = [pool.submit(self._run_one, c, emit, executor) for c in calls]
                for i, fut in enumerate(futures):
                    results[i] = fut.result()
        except KeyboardInterrupt as exc:
            interrupt = exc
            executor.cancel()
            for i, fut in enumerate(futures):
                if results[i] is None:
                    try:
                        results[i] = fut.result(timeout=5)
                    except BaseException:
                        results[i] = None
        final = [r if r is not None else _interrupted(c) for c, r in zip(calls, results)]
        self._collect_files(before, calls, emit)
        return ToolsOutcome(final, interrupt)

    def cancel(self, on: ObservedExecutor | None = None) -> None:
        """Stop the running calls (task cancellation), on `on` (else the session's executor).

        A call announced with `ToolCallStarted` that had not reached the executor yet does not run:
        the one who cancelled saw it start, and the executor alone would not know it was meant.
        """
        with self._lock:
            self._cancels += 1
        (on or self.executor).cancel()

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if not self._pool:
                self._pool.append(
                    ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"conjure-{self.session_id}")
                )
            return self._pool[0]

    def _run_one(self, call: ToolCall, emit: Emit | None, executor: ObservedExecutor) -> ToolResult:
        epoch = self._cancels
        if emit is not None:
            emit(ToolCallStarted(call))
        # a cancel from someone who saw the call start (emit let them run) before it reached the executor
        result = _cancelled(call) if self._cancels != epoch else self._execute(call, executor)
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
            self.state.tool_log.append(record)
        self._tool_call_events(call, result)
        if emit is not None:
            emit(ToolCallFinished(call, result))
        return result

    def _tool_call_events(self, call: ToolCall, result: ToolResult) -> None:
        """The Elixir library's conversation and per-backend tool-call events, for every call."""
        meta = {
            "session": self.session_id,
            "backend": self.backend,
            "tool": call.name,
            "tool_use_id": call.id,
            "success": not result.is_error,
            "error_code": result.error_code,
        }
        done = {"duration_ms": result.duration_ms}
        telemetry.emit(("conjure", "conversation", "tool_call"), done, meta)
        telemetry.emit(("conjure", "backend", self.backend, "tool_call"), done, meta)

    def _execute(self, call: ToolCall, executor: ObservedExecutor) -> ToolResult:
        definition = self.definitions.get(call.name)
        if definition is None:
            return ToolResult(
                f"Unknown tool {call.name!r}. Available tools: {', '.join(self.definitions)}.",
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
            result = executor.run(call)
        except Exception as exc:
            msg = f"The {self.backend} backend failed to run {call.name}: {type(exc).__name__}: {exc}"
            return ToolResult(
                msg, is_error=True, exit_code=None, stdout="", stderr=msg, error_code="executor_error"
            )
        result.tool_use_id = call.id
        return spill(
            result,
            tool=call.name,
            working_dir=self.working_dir,
            shown_dir=self.executor.working_dir_display(),
            cap=self.max_output,
            tools=self.definitions,
        )

    def _collect_files(
        self, before: dict[str, tuple[int, int]], calls: list[ToolCall], emit: Emit | None
    ) -> None:
        try:
            self.executor.sync_out()
        except Exception as exc:  # a failed copy-out must not lose the tool results
            self._copy_out_failed(calls, exc)
        new = created_since(self.working_dir, before, calls)
        for f in new:
            with self._lock:
                self.state.created_files = [c for c in self.state.created_files if c.path != f.path] + [f]
            if emit is not None:
                emit(FileCreated(f))
        if new:  # chat turns and run_tool alike, so a FilesPanel shows them at once
            telemetry.emit(
                ("conjure", "files", "created"),
                {"count": len(new)},
                {"session": self.session_id, "backend": self.backend, "files": [f.filename for f in new]},
            )

    def _copy_out_failed(self, calls: list[ToolCall], exc: Exception) -> None:
        telemetry.emit(
            ("conjure", "execute", "exception"), {}, {"session": self.session_id, "error": repr(exc)}
        )
        ids = {c.id for c in calls}
        with self._lock:
            for record in self.state.tool_log:
                if record.tool_use_id in ids and record.error_code is None:
                    record.error_code = "copy_out_failed"
        with contextlib.suppress(Warning):  # warnings-as-errors must not cost the results
            warnings.warn(
                f"the {self.backend} backend could not copy the files of the last tool call(s) "
                f"out to {self.working_dir} ({type(exc).__name__}: {exc}); session.created_files "
                "may miss them (tool_log marks those calls with error_code='copy_out_failed')",
                stacklevel=4,
            )

    def read_reply(self, content: list[dict[str, Any]], emit: Emit | None) -> None:
        """Record what a reply says ran on the model's side (hosted server tools and their files).

        The executor reads the reply and returns the calls and files; they go into the tool log and
        created files here, as they arrive, so a turn that fails later keeps them.
        """
        known = {f.file_id for f in self.state.created_files if f.file_id}
        found = self.executor.read_reply(content, known)
        for record in found.calls:
            with self._lock:
                self.state.tool_log.append(record)
            if emit is not None and record.result is not None:
                call = ToolCall(record.tool_use_id or "", record.tool, record.input)
                emit(ToolCallStarted(call))
                emit(ToolCallFinished(call, record.result))
        for created in found.files:
            with self._lock:
                self.state.created_files.append(created)
            if emit is not None:
                emit(FileCreated(created))
