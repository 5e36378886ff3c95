"""Native skills: Python objects in this process, offered to the model as tools.

A `NativeSkill` overrides any of `execute`, `read`, `write` and `modify`; each overridden method
becomes a tool named `<name_with_underscores>_<method>` whose inputs are the method's parameters.
A method returns its output as a `str` (a list of records, a DataFrame or bytes are rendered as
JSON/text too). A skill raises `cj.ToolError` to hand the model an `is_error` result; any other
exception also becomes an `is_error` result (with its type and message), never a crash of the
caller. Returning a tuple, a dict or None (the Elixir library's `{:ok, text}` / `{:error, why}`
habit) is an `is_error` result that says so.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, overload

from .._errors import ToolError, UsageError
from ..tools import ToolCall, ToolResult, tool_definitions
from ..tools._spill import SPILL_DIR
from ._base import Executor, ExecutorSetup, cap_output, check_seconds
from ._file_tools import FileTools, LocalFilesystem, PathPolicy

__all__ = ["Context", "NativeExecutor", "NativeSkill", "native_skill"]

METHODS = ("execute", "read", "write", "modify")

_SCHEMAS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "execute": (
        {"command": {"type": "string", "description": "The command for the skill, as its description says."}},
        ["command"],
        "Run a command of the native skill '{name}': {description}",
    ),
    "read": (
        {
            "path": {"type": "string", "description": "What to read."},
            "offset": {"type": "integer", "description": "Optional start (line or record)."},
            "limit": {"type": "integer", "description": "Optional maximum number of lines/records."},
        },
        ["path"],
        "Read from the native skill '{name}'.",
    ),
    "write": (
        {
            "path": {"type": "string", "description": "Where to write."},
            "content": {"type": "string", "description": "What to write."},
        },
        ["path", "content"],
        "Write through the native skill '{name}'.",
    ),
    "modify": (
        {
            "path": {"type": "string", "description": "What to modify."},
            "old_content": {"type": "string", "description": "The exact content to replace."},
            "new_content": {"type": "string", "description": "The replacement."},
        },
        ["path", "old_content", "new_content"],
        "Modify content through the native skill '{name}'.",
    ),
}


@dataclass
class Context:
    """What a native skill learns about the call it serves."""

    session_id: str
    working_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    tool_use_id: str | None = None
    skill: str = ""
    timeout: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    """Per-session scratch space shared by every call of every native skill."""


class NativeSkill:
    """Base class of in-process skills. Set `name` and `description`; override what you offer."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def execute(self, command: str, context: Context) -> Any:
        """Run a command: the tool `<prefix>_execute`, the one most native skills offer.

        Override it to offer the tool; the model sends `command` as free text, so say in
        `description` what a command looks like.

        Args:
            command: what the model asked for.
            context: the session's working dir, environment, timeout and shared `state`.

        Returns:
            The tool's output: a string as it is, bytes decoded as UTF-8, a DataFrame as JSON
            records, a list or a number as JSON. A tuple, a dict or None is an `is_error` result
            saying so (the Elixir `{:ok, text}` habit is not an answer).

        Raises:
            ToolError: to hand the model an `is_error` result with this message. Any other exception
                becomes an `is_error` result too, with its type and message; none reaches the caller.

        Example:
            >>> import conjure_nb as cj
            >>> class Greeter(cj.NativeSkill):
            ...     name = "greeter"
            ...     description = "Greets whoever the command names."
            ...     def execute(self, command, context):
            ...         return f"hello, {command}"
            >>> with cj.Session.new_native([Greeter()]) as s:
            ...     s.run_tool("greeter_execute", command="Ada").content
            'hello, Ada'
        """
        raise NotImplementedError

    def read(self, path: str, context: Context, offset: int | None = None, limit: int | None = None) -> Any:
        """Read something the skill holds: the tool `<prefix>_read`.

        Args:
            path: what to read, in the skill's own terms (a key, a record id, a file name).
            context: the call's context.
            offset: where to start, when the model asks for a part.
            limit: how much to return at most.

        Returns:
            The content, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def write(self, path: str, content: str, context: Context) -> Any:
        """Create or replace something: the tool `<prefix>_write`.

        Args:
            path: what to write, in the skill's own terms.
            content: the new content.
            context: the call's context.

        Returns:
            A confirmation for the model, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def modify(self, path: str, old_content: str, new_content: str, context: Context) -> Any:
        """Replace `old_content` with `new_content` in something the skill holds: `<prefix>_modify`.

        Args:
            path: what to change, in the skill's own terms.
            old_content: the text to find; refuse the edit (raise `ToolError`) when it is not there.
            new_content: the replacement.
            context: the call's context.

        Returns:
            A confirmation for the model, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def methods(self) -> list[str]:
        """The methods this skill overrides, i.e. the tools it offers."""
        return [m for m in METHODS if getattr(type(self), m) is not getattr(NativeSkill, m)]

    @property
    def tool_prefix(self) -> str:
        """The start of this skill's tool names: `name` with `-` and spaces as `_` (`log_fetcher`)."""
        return self.name.replace("-", "_").replace(" ", "_")

    def __repr__(self) -> str:
        return f"<NativeSkill {self.name!r} tools={self.methods()}>"


@overload
def native_skill(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> NativeSkill: ...


@overload
def native_skill(
    fn: None = None, *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], NativeSkill]: ...


def native_skill(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> NativeSkill | Callable[[Callable[..., Any]], NativeSkill]:
    """Turn a function `fn(command, context)` into a NativeSkill instance.

    Usable bare (`@native_skill`) or with arguments (`@native_skill(name="x", description="...")`);
    without arguments the name comes from the function name and the description from its docstring.
    """

    def wrap(f: Callable[..., Any]) -> NativeSkill:
        skill_name = name or f.__name__.replace("_", "-")
        desc = description or inspect.getdoc(f) or f"Native skill {skill_name}."
        cls = type(
            f"NativeSkill_{f.__name__}",
            (NativeSkill,),
            {
                "name": skill_name,
                "description": desc,
                "execute": lambda self, command, context: f(command, context),
                "__doc__": f.__doc__,
            },
        )
        return cls()  # type: ignore[no-any-return]

    return wrap(fn) if fn is not None else wrap


def as_native_skill(obj: Any) -> NativeSkill:
    """Accept an instance, a NativeSkill subclass or a decorated function."""
    if isinstance(obj, type) and issubclass(obj, NativeSkill):
        obj = obj()
    if not isinstance(obj, NativeSkill):
        raise UsageError(
            f"{obj!r} is not a native skill; pass a cj.NativeSkill instance or subclass, "
            "or a function decorated with @cj.native_skill"
        )
    if not obj.name or not isinstance(obj.name, str):
        raise UsageError(f"native skill {type(obj).__name__} has no name; set the class attribute `name`")
    if not obj.methods():
        raise UsageError(f"native skill {obj.name!r} overrides none of {list(METHODS)}")
    return obj


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
        defs = []
        for tool, (skill, method) in self._tools.items():
            props, required, desc = _SCHEMAS[method]
            defs.append(
                {
                    "name": tool,
                    "description": desc.format(name=skill.name, description=skill.description),
                    "input_schema": {"type": "object", "properties": dict(props), "required": list(required)},
                }
            )
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
        args, problem = _bind_input(method, call.input)
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


def _bind_input(method: str, inp: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    props, required, _ = _SCHEMAS[method]
    if not isinstance(inp, dict):
        return {}, "input must be an object"
    missing = [k for k in required if k not in inp]
    if missing:
        return {}, f"missing required input(s) {missing}"
    unknown = sorted(set(inp) - set(props))
    if unknown:
        return {}, f"unknown input(s) {unknown}; expected {sorted(props)}"
    for key, value in inp.items():
        want = props[key]["type"]
        ok = isinstance(value, str) if want == "string" else (value is None or isinstance(value, int))
        if not ok or isinstance(value, bool):
            return {}, f"input {key!r} must be a {want}, not {type(value).__name__}"
    return dict(inp), None


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
