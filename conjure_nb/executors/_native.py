"""`NativeExecutor`: native skills' methods as tools, each call on a worker thread with a timeout.

What a native skill is, and how its methods become tools, is in `_native_skill`. Here a call is
bound to its method's parameters, run on a reused daemon worker (a call that times out is abandoned:
Python cannot kill a thread), and its return value turned into a `ToolResult`: a `str` as it is,
bytes, a DataFrame or a list as text/JSON, a `cj.ToolError` or any other exception as an
`is_error` result, and a tuple, a dict or None (the Elixir `{:ok, text}` habit) as an `is_error`
result that says so. Output over the cap can be read back with `view`, which reaches only the
session's saved outputs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .._errors import ToolError, UsageError
from ..tools import ToolCall, ToolResult, tool_definitions
from ..tools._spill import SPILL_DIR
from ._base import Executor, ExecutorSetup, cap_output, check_seconds
from ._file_tools import FileTools, LocalFilesystem, PathPolicy
from ._native_skill import Context, NativeSkill, as_native_skill, bind_input, tool_definition

__all__ = ["NativeExecutor"]


def _wrong_return(tool: str, value: Any) -> ToolResult | None:
    """An is_error result for a tuple, dict or None: the Elixir `{:ok, text}` habit, not an answer.

    Turning `("ok", text)` into JSON, or None into an empty success, would hand the model a result
    the skill never meant; saying so at the first call beats a silently odd conversation.
    """
    if value is not None and not isinstance(value, (tuple, dict)):
        return None
    shown = "None" if value is None else f"a {type(value).__name__} ({_brief(value)})"
    msg = (
        f"{tool} returned {shown}; a native skill method returns its output as a str (return "
        "json.dumps(data) for structured data) and raises cj.ToolError('why') for a failure, "
        "instead of returning {:ok, ...} / {:error, ...} as in the Elixir library"
    )
    return ToolResult(msg, is_error=True, exit_code=1, stdout="", stderr=msg, error_code="bad_return")


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "to_json") and hasattr(value, "columns"):  # a DataFrame
        return str(value.to_json(orient="records", date_format="iso"))
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


class _Call:
    """One native call. `wait` returns when it ends or when the caller abandons it.

    A bare lock (released by whichever side finishes first) is the cheapest completion signal
    Python has; the loop's per-call overhead is dominated by this handoff.
    """

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = False
        self.abandoned = False
        self._done = threading.Lock()
        self._done.acquire()

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:
            self.error = exc
        finally:
            self.finished = True
            self._release()

    def wait(self, timeout: float | None) -> None:
        self._done.acquire(timeout=-1 if timeout is None else max(timeout, 0.0))

    def abandon(self) -> None:
        self.abandoned = True
        self._release()

    def _release(self) -> None:
        with contextlib.suppress(RuntimeError):  # already released by the other side
            self._done.release()


class _Workers:
    """Daemon worker threads, reused between calls and added when all are busy.

    A call that times out keeps its worker until it returns (Python cannot kill a thread); the
    next call simply gets another worker, so a stuck skill never blocks the session.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0

    def submit(self, call: _Call) -> None:
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self._threads += 1
                threading.Thread(target=self._loop, daemon=True, name="conjure-native").start()
        self._queue.put(call)

    def _loop(self) -> None:
        while (call := self._queue.get()) is not None:
            call.run()
            with self._lock:
                self._idle += 1

    def close(self) -> None:
        with self._lock:
            n, self._threads, self._idle = self._threads, 0, 0
        for _ in range(n):
            self._queue.put(None)


class _SpillReader:
    """`view` for a native session: it reads the session's saved long outputs, nothing else.

    A native skill's output over the cap is written under `<working dir>/.conjure/output/`; the
    model is told so, and this is how it reads the rest. The reach is that folder only (resolved,
    no links followed), with the file tools' own policy.
    """

    def __init__(self, working_dir: Path, max_output: int):
        self.root = working_dir / SPILL_DIR
        self.fs = LocalFilesystem([str(self.root)])
        policy = PathPolicy(str(working_dir), writable=[], readonly=[str(self.root)], fs=self.fs)
        self.policy = policy
        self.tools = FileTools(self.fs, policy, max_output)

    def run(self, call: ToolCall) -> ToolResult:
        path = call.input.get("path")
        try:
            self.policy.resolve(path if isinstance(path, str) else "", write=False)
        except (PermissionError, ValueError):
            msg = (
                f"view failed: {path!r} is not a saved output; in a native session view reads only "
                f"the long tool outputs saved under {self.root}/"
            )
            return ToolResult(msg, is_error=True, exit_code=1, stderr=msg)
        return self.tools.run(call)

    def close(self) -> None:
        self.fs.close()


def _view_definition() -> dict[str, Any]:
    (view,) = tool_definitions(only=["view"])
    view["description"] = (
        "Read a tool output that was too long to show in full: it was saved under "
        f"{SPILL_DIR}/ in the working directory, and the cut output names the file. Use view_range "
        "[start, end] (1-indexed lines) to read it in parts."
    )
    return view


class NativeExecutor(Executor):
    """Runs native skills' methods, each call with a timeout, results as ToolResults.

    Besides the skills' tools it offers `view`, limited to the session's saved long outputs, so
    the model can read the rest of a result that was cut.
    """

    backend = "native"

    def __init__(self, skills: Iterable[Any] = (), *, timeout: float | None = None):
        check_seconds("timeout", timeout)
        self.skills = [as_native_skill(s) for s in skills]
        self._timeout = timeout
        self._state: dict[str, Any] = {}
        self._tools: dict[str, tuple[NativeSkill, str]] = {}
        self._running: set[_Call] = set()
        self._lock = threading.Lock()
        self._workers = _Workers()
        self._reader: _SpillReader | None = None
        for skill in self.skills:
            for method in skill.methods():
                tool = f"{skill.tool_prefix}_{method}"
                if tool in self._tools:
                    raise UsageError(f"two native skills both define the tool {tool!r}; rename one")
                self._tools[tool] = (skill, method)

    def setup(self, setup: ExecutorSetup) -> None:
        super().setup(setup)
        self._reader = _SpillReader(setup.working_dir, setup.max_output)

    def tool_definitions(self) -> list[dict[str, Any]]:
        defs = [tool_definition(skill, method) for skill, method in self._tools.values()]
        return [*defs, _view_definition()] if self.skills else defs

    def prompt_extra(self) -> str:
        if not self.skills:
            return ""
        from xml.sax.saxutils import escape

        lines = ["<available_native_skills>"]
        for s in self.skills:
            tools = " ".join(f"{s.tool_prefix}_{m}" for m in s.methods())
            lines += [
                "<skill>",
                f"<name>{escape(s.name)}</name>",
                f"<description>{escape(s.description)}</description>",
                f"<tools>{escape(tools)}</tools>",
                "</skill>",
            ]
        lines.append("</available_native_skills>")
        lines.append("Native skills run inside the application; call their tools directly.")
        return "\n".join(lines)

    def cancel(self) -> None:
        """Stop waiting for running calls; Python cannot kill their threads, so they are abandoned."""
        with self._lock:
            running = list(self._running)
        for worker in running:
            worker.abandon()

    def close(self) -> None:
        self.cancel()
        self._workers.close()
        if self._reader is not None:
            self._reader.close()

    def _context(self, call: ToolCall, skill: NativeSkill, timeout: float | None) -> Context:
        cfg = self.config
        return Context(
            cfg.session_id, cfg.working_dir, dict(cfg.env), call.id, skill.name, timeout, self._state
        )

    def run(self, call: ToolCall) -> ToolResult:
        t0 = time.perf_counter()
        if call.name == "view" and self._reader is not None:
            return _finish(self._reader.run(call), t0)
        entry = self._tools.get(call.name)
        if entry is None:
            return ToolResult(
                f"Unknown tool {call.name!r}; available: {sorted(self._tools)}", is_error=True, exit_code=1
            )
        skill, method = entry
        args, problem = bind_input(method, call.input)
        if problem:
            return _finish(
                ToolResult(f"Invalid input for {call.name}: {problem}", is_error=True, exit_code=2), t0
            )
        timeout = self._timeout if self._timeout is not None else self.config.timeout
        ctx = self._context(call, skill, timeout)
        fn = getattr(skill, method)
        worker = _Call(lambda: fn(**args, context=ctx))
        with self._lock:
            self._running.add(worker)
        self._workers.submit(worker)
        try:
            worker.wait(timeout)
        finally:
            with self._lock:
                self._running.discard(worker)
        if worker.abandoned:
            return _finish(
                ToolResult(
                    f"{call.name} was cancelled", is_error=True, exit_code=None, error_code="cancelled"
                ),
                t0,
            )
        if not worker.finished:
            msg = f"{call.name} timed out after {timeout:g} s (the native call was abandoned)"
            return _finish(ToolResult(msg, is_error=True, exit_code=None, error_code="timeout"), t0)
        if worker.error is not None:
            return _finish(_error_result(call.name, worker.error), t0)
        wrong = _wrong_return(call.name, worker.value)
        if wrong is not None:
            return _finish(wrong, t0)
        text = cap_output(_render(worker.value), self.config.max_output)
        return _finish(ToolResult(text, is_error=False, exit_code=0, stdout=text), t0)


def _error_result(tool: str, exc: BaseException) -> ToolResult:
    if isinstance(exc, ToolError):
        return ToolResult(
            str(exc), is_error=True, exit_code=1, stdout="", stderr=str(exc), error_code="tool_error"
        )
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    msg = f"{tool} raised {type(exc).__name__}: {exc}\n{tb}"
    return ToolResult(msg, is_error=True, exit_code=1, stdout="", stderr=msg, error_code="exception")


def _finish(result: ToolResult, t0: float) -> ToolResult:
    result.duration_ms = (time.perf_counter() - t0) * 1000
    return result
