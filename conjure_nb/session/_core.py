"""`Session`: one conversation with a model, its tools on one backend, and what it produced.

A session owns an executor (local, docker, native, ...), the message history, the tool log, the
files tools created and the token usage. All of it is plain data that round-trips to JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import telemetry
from .._errors import UsageError
from .._loop import ToolsOutcome, TurnConfig, TurnOutcome, drive_async, drive_sync, run_turn
from ..executors._approval import ApprovalExecutor, ApprovalRecord
from ..executors._base import (
    DEFAULT_MAX_KEPT_OUTPUT,
    DEFAULT_MAX_OUTPUT,
    DEFAULT_TIMEOUT,
    Executor,
    ExecutorSetup,
    check_seconds,
)
from ..executors._observed import ObservedExecutor
from ..models._function import as_model
from ..tools._data import CreatedFile, ToolCall, ToolCallRecord, ToolResult
from ..tools._response import Response
from ..tools.events import Event, TurnFinished
from . import _lifecycle as lifecycle
from ._created_files import SessionFiles
from ._options import (
    SESSION_KEYS,
    AnyOptions,
    DockerOptions,
    HostedOptions,
    ModelArg,
    SessionOptions,
    SkillsArg,
    refuse_elixir_keywords,
)
from ._persist import (
    ISOLATED_BACKENDS,
    read_state,
    rebase,
    state_fields,
)
from ._running import Emit, ToolRunner, as_executor, cleanup, load_skills

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from ..executors._native import NativeSkill
    from ..models._base import Model

__all__ = ["Response", "Session"]


class Session(ToolRunner, SessionFiles):
    """A chat session with tools on one backend. Use a constructor: `new_local`, `new_docker`,
    `new_native`, or `new(backend, ...)`; close it (or use `with`) to release its resources.
    """

    def __init__(
        self,
        skills: SkillsArg = (),
        model: ModelArg = None,
        *,
        executor: Executor | type[Executor],
        working_dir: str | os.PathLike[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_iterations: int = 25,
        env: dict[str, str] | None = None,
        allowed_paths: Iterable[str | os.PathLike[str]] = (),
        max_output: int = DEFAULT_MAX_OUTPUT,
        max_kept_output: int = DEFAULT_MAX_KEPT_OUTPUT,
        system: str | None = None,
        max_tokens: int | None = None,
        keep_working_dir: bool = False,
        session_id: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        if max_iterations < 1:
            raise UsageError(f"max_iterations must be at least 1, not {max_iterations}")
        if timeout <= 0:
            raise UsageError(f"timeout must be positive, not {timeout}")
        check_seconds("timeout", timeout)
        self.id = session_id or uuid.uuid4().hex[:12]
        self.skills = load_skills(skills)
        self.model = as_model(model)
        self._observed = observed = ObservedExecutor(as_executor(executor))
        self.max_iterations = max_iterations
        self.max_tokens = max_tokens
        self.extra_system = system
        self.options = dict(options or {})
        self.messages: list[dict[str, Any]] = []
        self.created_files: list[CreatedFile] = []
        self.tool_log: list[ToolCallRecord] = []
        self.approvals: list[ApprovalRecord] = []
        """Every approval decision (tool, input sha256, rule or person, time), when a policy is in front."""
        if isinstance(executor, ApprovalExecutor):
            executor.log = self.approvals
        self.usage: dict[str, int] = {}
        self._hosted_container: Any = None
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # held for the whole of a chat/achat/astream/run_tool
        self._pool: list[ThreadPoolExecutor] = []
        self.max_output = max_output
        tmpdir = None
        if working_dir is None:
            tmpdir = tempfile.mkdtemp(prefix=f"conjure-{self.id}-")
            working_dir = tmpdir
        self._private_dir = tmpdir is not None and not keep_working_dir
        # armed before anything else can fail, so a failing setup leaves no dir or process behind
        self._finalizer = weakref.finalize(
            self, cleanup, observed, tmpdir if self._private_dir else None, self._pool
        )
        lifecycle.track(self._finalizer)  # also closed on SIGTERM and at a Jupyter kernel's shutdown
        try:
            self.working_dir = Path(working_dir).resolve()
            self.working_dir.mkdir(parents=True, exist_ok=True)
            observed.setup(
                ExecutorSetup(
                    session_id=self.id,
                    working_dir=self.working_dir,
                    skills=self.skills,
                    timeout=timeout,
                    env=dict(env or {}),
                    allowed_paths=tuple(Path(p).resolve() for p in allowed_paths),
                    max_output=max(max_output, max_kept_output),  # the session cuts to max_output
                    fresh_working_dir=tmpdir is not None,
                )
            )
            self._tools = {t["name"]: t for t in observed.tool_definitions()}
        except BaseException:
            self._finalizer()
            raise

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def new_local(
        cls,
        skills: SkillsArg = (),
        model: ModelArg = None,
        *,
        executor: Executor | type[Executor] | None = None,
        **options: Unpack[SessionOptions],
    ) -> Session:
        """Tools run as subprocesses here (or on `executor`, e.g. a DockerExecutor)."""
        from ..executors._local import LocalExecutor

        refuse_elixir_keywords(options, "Session.new_local")
        return cls(skills, model, executor=executor or LocalExecutor(), **options)

    @classmethod
    def new_docker(
        cls, skills: SkillsArg = (), model: ModelArg = None, **options: Unpack[DockerOptions]
    ) -> Session:
        """Tools run in a sandbox container; the keywords that are not session settings go to
        `DockerExecutor` (image, memory, network, remote, ...)."""
        from ..executors.docker import DockerExecutor

        refuse_elixir_keywords(options, "Session.new_docker")
        docker_kw: dict[str, Any] = {k: v for k, v in options.items() if k not in SESSION_KEYS}
        session_kw: dict[str, Any] = {k: v for k, v in options.items() if k in SESSION_KEYS}
        return cls(skills, model, executor=DockerExecutor(**docker_kw), **session_kw)

    @classmethod
    def new_native(
        cls,
        native_skills: Iterable[NativeSkill | type[NativeSkill] | Callable[..., Any]],
        model: ModelArg = None,
        **options: Unpack[SessionOptions],
    ) -> Session:
        """Tools are methods of in-process `NativeSkill` objects (instances, classes or functions)."""
        from ..executors._native import NativeExecutor

        refuse_elixir_keywords(options, "Session.new_native")
        return cls((), model, executor=NativeExecutor(native_skills), **options)

    @classmethod
    def new_anthropic(
        cls, skills: Any = (), model: ModelArg = None, **options: Unpack[HostedOptions]
    ) -> Session:
        """Tools run in Anthropic's code-execution container with hosted and uploaded custom skills.

        `skills` are `("anthropic", "xlsx", "latest")` / `("custom", id, version)` specs, or skills
        (objects, folders, `.skill` files) to upload when the session starts and delete on close
        unless `keep_uploaded`. See `conjure_nb.executors._anthropic`.
        """
        from ..executors._anthropic import AnthropicExecutor

        refuse_elixir_keywords(options, "Session.new_anthropic")
        hosted: dict[str, Any] = {k: v for k, v in options.items() if k not in SESSION_KEYS}
        session_kw: dict[str, Any] = {k: v for k, v in options.items() if k in SESSION_KEYS}
        executor = AnthropicExecutor(skills, model, **hosted)
        executor.upload()
        try:
            session = cls(executor.local_skills, executor.model, executor=executor, **session_kw)
        except BaseException:
            executor.close()
            raise
        executor.bind(session)
        return session

    @classmethod
    def new(
        cls,
        backend: str,
        skills: Any = (),
        model: ModelArg = None,
        **options: Unpack[AnyOptions],
    ) -> Session:
        """Pick the backend by name: "local", "docker", "native" or "anthropic"."""
        makers: dict[str, Callable[..., Session]] = {
            "local": cls.new_local,
            "docker": cls.new_docker,
            "native": cls.new_native,
            "anthropic": cls.new_anthropic,
        }
        refuse_elixir_keywords(options, f"Session.new({backend!r})")
        if backend not in makers:
            raise UsageError(f"unknown backend {backend!r}; choose one of {sorted(makers)}")
        return makers[backend](skills, model, **options)

    # -- properties ---------------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        """The executor tools run on (telemetry wraps it, invisibly: this is the one you gave)."""
        return self._observed.inner

    @executor.setter
    def executor(self, value: Executor) -> None:
        self._observed.inner = value

    @property
    def container_id(self) -> str | None:
        """The container tool calls run in: the docker sandbox's, or the hosted container's once the
        first reply named it; None on local and native."""
        if self.executor.container_id:
            return self.executor.container_id
        hosted = self._hosted_container
        return hosted.get("id") if isinstance(hosted, dict) else hosted

    @property
    def tools(self) -> list[str]:
        """The tool names this session offers the model."""
        return list(self._tools)

    @property
    def system(self) -> str:
        """The system prompt sent with every request (the skill catalog, with paths as the executor sees them)."""
        from .._prompt import system_prompt

        extra = [
            self.executor.prompt_extra(),
            f"The working directory is {self.executor.working_dir_display()}.",
        ]
        if self.extra_system:
            extra.insert(0, self.extra_system)
        return system_prompt(
            self.skills, location=self.executor.skill_location, extra="\n\n".join(e for e in extra if e)
        )

    # -- chat -----------------------------------------------------------------------------------

    def _turn_model(self, callback: object = None, model: Any = None) -> Model:
        """The model of this turn: the call's own `model=`, else the session's."""
        if callback is not None:  # the original library's chat(message, api_callback) shape
            raise UsageError(
                "chat() takes no callback: pass the model when you make the session, e.g. "
                "Session.new_local(skills, model=my_callback) (any callable(messages) -> dict works), "
                "and use on_event= for live events"
            )
        chosen: Model | None = as_model(model) if model is not None else self.model
        if chosen is None:
            raise UsageError(
                "this session has no model: pass model=... when you make it (Session.new_local(skills, "
                "model=cj.AnthropicModel()), or any callable(messages) -> dict), or to this call "
                "(s.chat(message, model=...)), or use run_tool to call tools directly"
            )
        return chosen

    def _check_open(self) -> None:
        if not self._finalizer.alive:
            raise UsageError(
                f"session {self.id} is closed; make a new session (Session.new_*), or keep this one "
                "open (a `with` block closes it at the end)"
            )

    @contextlib.contextmanager
    def _one_turn(self) -> Iterator[None]:
        """Hold the session's turn for a chat or a direct tool call; a second one is refused at once.

        Two turns interleaving on one history would break it (two user messages in a row, results
        after the wrong tool_use), so the caller gets an error instead and nothing changes.
        """
        self._check_open()
        if not self._turn.acquire(blocking=False):
            raise self._busy()
        try:
            yield
        finally:
            self._turn.release()

    def _busy(self) -> UsageError:
        return UsageError(
            f"a turn is already running on this session ({self.id}); wait for it to finish "
            "(await it, or let the cell end) before sending another, or use a second session "
            "to work in parallel"
        )

    def _begin(self, message: str | list[dict[str, Any]], max_iterations: int | None) -> TurnConfig:
        content = [{"type": "text", "text": message}] if isinstance(message, str) else list(message)
        if self.messages and self.messages[-1]["role"] == "user":
            prev = self.messages[-1]["content"]
            prev_blocks = [{"type": "text", "text": prev}] if isinstance(prev, str) else list(prev)
            self.messages[-1] = {"role": "user", "content": prev_blocks + content}
        else:
            self.messages.append({"role": "user", "content": content})
        telemetry.emit(("conjure", "chat", "start"), {}, {"session": self.id, "backend": self.backend})
        return TurnConfig(
            self.system,
            list(self._tools.values()),
            self.max_tokens,
            self._hosted_container,
            [],
            self.options,
            self.max_iterations if max_iterations is None else max_iterations,
            usage_sink=self.usage,
            labels={"session": self.id, "backend": self.backend},
        )

    def _finish(
        self, outcome: TurnOutcome, files_before: int, log_before: int, emit: Emit | None
    ) -> Response:
        self._hosted_container = outcome.container
        response = Response(
            outcome.text,
            outcome.stop_reason,
            outcome.usage,
            self.tool_log[log_before:],
            self.created_files[files_before:],
            [self.messages[-len(outcome.added) - 1], *outcome.added],  # the user's message too
            outcome.iterations,
        )
        telemetry.emit(
            ("conjure", "chat", "stop"),
            {"iterations": outcome.iterations, **outcome.usage},
            {"session": self.id, "backend": self.backend, "stop_reason": outcome.stop_reason},
        )
        if emit is not None:
            emit(TurnFinished(response))
        return response

    def chat(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        on_event: Emit | None = None,
        model: Any = None,
        max_iterations: int | None = None,
        api_callback: None = None,
    ) -> Response:
        """Send a message and run the tool loop to the end of the turn (blocking).

        Works in a notebook cell: it never touches the running event loop.

        Args:
            message: the user's text, or a list of content blocks.
            callback: not accepted; the original library's `chat(message, api_callback)` shape is
                refused with a message saying where the model goes.
            api_callback: not accepted either, for the same reason (the Elixir keyword).
            on_event: called with each live event (text deltas, tool calls, files, the end).
            model: a model for this turn only (any `Model` or callable(messages) -> dict); the
                session's own model is used again by the next call.
            max_iterations: the model-request limit for this turn only.

        Returns:
            The turn's `Response`.

        Raises:
            UsageError: no model, a bad limit, or a turn already running on this session.
            MaxIterationsError: the limit was reached with tool calls pending (the history is kept).

        Example:
            >>> import conjure_nb as cj
            >>> with cj.Session.new_local(model=cj.ScriptedModel(["hello"])) as s:
            ...     s.chat("hi", model=cj.ScriptedModel(["just this once"])).text
            'just this once'
        """
        turn_model = self._turn_model(callback or api_callback, model)
        _check_limit(max_iterations)
        with self._one_turn():
            cfg = self._begin(message, max_iterations)
            marks = len(self.created_files), len(self.tool_log)
            outcome = drive_sync(
                run_turn(self.messages, cfg),
                turn_model,
                lambda calls: self._run_tools(calls, on_event),
                on_event,
            )
            return self._finish(outcome, *marks, on_event)

    async def achat(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        on_event: Emit | None = None,
        model: Any = None,
        max_iterations: int | None = None,
        api_callback: None = None,
    ) -> Response:
        """The async twin of `chat` (same arguments); tools run in threads so the event loop stays free."""
        turn_model = self._turn_model(callback or api_callback, model)
        _check_limit(max_iterations)
        with self._one_turn():
            return await self._achat(message, on_event, turn_model, max_iterations)

    async def _achat(
        self,
        message: str | list[dict[str, Any]],
        on_event: Emit | None,
        model: Model,
        max_iterations: int | None,
    ) -> Response:
        cfg = self._begin(message, max_iterations)
        marks = len(self.created_files), len(self.tool_log)

        async def run_tools(calls: list[ToolCall]) -> ToolsOutcome:
            try:
                return await asyncio.to_thread(self._run_tools, calls, on_event)
            except asyncio.CancelledError:
                self.executor.cancel()
                raise

        outcome = await drive_async(run_turn(self.messages, cfg), model, run_tools, on_event)
        return self._finish(outcome, *marks, on_event)

    async def astream(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        model: Any = None,
        max_iterations: int | None = None,
        api_callback: None = None,
    ) -> AsyncIterator[Event]:
        """Yield the turn's events as they happen, ending with `TurnFinished`.

        Takes `chat`'s per-call `model=` and `max_iterations=`.
        """
        self._turn_model(callback or api_callback, model)
        _check_limit(max_iterations)
        self._check_open()
        if self._turn.locked():  # checked here too, so the error comes before any task starts
            raise self._busy()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | BaseException] = asyncio.Queue()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def failed(task: asyncio.Future[Response]) -> None:
            error = None if task.cancelled() else task.exception()
            if error is not None:
                queue.put_nowait(error)

        task = asyncio.ensure_future(
            self.achat(message, on_event=emit, model=model, max_iterations=max_iterations)
        )
        task.add_done_callback(failed)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, TurnFinished):
                    await task  # done by now; after this the session takes a new turn
                    break
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # -- tools ----------------------------------------------------------------------------------

    def run_tool(self, name: str, **input: Any) -> ToolResult:
        """Run one tool through this session's executor, with no model involved."""
        self._check_open()
        if name not in self._tools:
            raise UsageError(f"this {self.backend} session has no tool {name!r}; its tools are {self.tools}")
        with self._one_turn():
            outcome = self._run_tools([ToolCall(f"run_{uuid.uuid4().hex[:16]}", name, dict(input))], None)
        if outcome.interrupt is not None:
            raise outcome.interrupt
        return outcome.results[0]

    # -- files, persistence, lifecycle ---------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        skills: Any = (),
        model: ModelArg = None,
        *,
        backend: str | None = None,
        **options: Unpack[AnyOptions],
    ) -> Session:
        """A new session on `backend` continuing a saved history.

        The file is checked field by field. It never chooses where tools run by itself, unless
        that is an isolated backend (docker, anthropic): a file saved from a local or native
        session needs `backend=` from the caller, so a crafted file cannot drop the sandbox.
        Created files are looked up by name in the new session's working dir (pass the same
        `working_dir=` to download them again).

        Raises:
            UsageError: the file is not a valid saved session, or it asks for a backend that runs
                tools on this machine and `backend` was not given.
        """
        refuse_elixir_keywords(options, "Session.load")
        data = read_state(path)
        fields = state_fields(data, path)
        saved = data.get("backend")
        if backend is None:
            if saved not in ISOLATED_BACKENDS:
                raise UsageError(
                    f"{path} was saved from a {saved!r} session; say where its tools run now with "
                    f"backend=... ('docker' for the sandbox, or {saved!r} to run them on this machine): "
                    "a saved file does not pick a backend that runs tools here"
                )
            backend = str(saved)
        session = cls.new(backend, skills, model, **options)
        rebase(fields["created_files"], session.working_dir, fields["tool_log"])
        for name, value in fields.items():
            current = getattr(session, name, None)
            if isinstance(current, list):  # in place: an approval wrapper keeps appending to this list
                current[:] = value
            else:
                setattr(session, name, value)
        return session

    def reset(self) -> None:
        """Forget the conversation (messages and usage); the tool log and created files stay."""
        self.messages = []
        self.usage = {}
        self._hosted_container = None

    def close(self) -> None:
        """Stop every process/container of this session and remove its temp working dir."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """True once `close()` ran (or the session was collected); a closed session takes no turns."""
        return not self._finalizer.alive

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        model = type(self.model).__name__ if self.model is not None else "no model"
        return f"<Session {self.id} backend={self.backend} model={model} skills={len(self.skills)} messages={len(self.messages)}>"


def _check_limit(max_iterations: int | None) -> None:
    if max_iterations is not None and max_iterations < 1:
        raise UsageError(f"max_iterations must be at least 1, not {max_iterations}")
