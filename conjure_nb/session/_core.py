"""`Session`: one conversation with a model, its tools on one backend, and what it produced.

A session owns an executor (local, docker, native, ...) and a `SessionState` (the message history,
the tool log, the files tools created, approvals and token usage: plain data that round-trips to
JSON). Two collaborators it holds do the work around the conversation: a `ToolRunner` runs tool
calls and records them, a `SessionFiles` downloads created files.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._loop import TurnConfig
from ..executors._approval import ApprovalExecutor, ApprovalRecord, Asker, call_gate
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
from ..tools.events import Event
from . import _lifecycle as lifecycle
from ._created_files import SessionFiles
from ._options import (
    AnyOptions,
    DockerOptions,
    HostedOptions,
    ModelArg,
    SessionOptions,
    SkillsArg,
    refuse_elixir_keywords,
    split_options,
)
from ._persist import chosen_backend, read_state, rebase, state_dict, state_from_dict, write_state
from ._running import Emit, ToolRunner, as_executor, cleanup, load_skills
from ._state import SessionState, Shared
from ._turn import ApproveArg, TurnPlan, Turns, check_limit, choose_model, stream

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from ..executors._native_skill import NativeSkill

__all__ = ["Response", "Session"]


class Session:
    """A chat session with tools on one backend. Use a constructor: `new_local`, `new_docker`,
    `new_native`, or `new(backend, ...)`; close it (or use `with`) to release its resources.

    `state` continues a saved session: the data `to_dict()` returns (what `save` writes), checked
    field by field; `Session.load` reads it from a file.
    """

    messages: Shared[list[dict[str, Any]]] = Shared("The conversation: Messages-API message dicts.")
    tool_log: Shared[list[ToolCallRecord]] = Shared("One `ToolCallRecord` per tool call, local or hosted.")
    created_files: Shared[list[CreatedFile]] = Shared("The files tools created or changed (`CreatedFile`).")
    approvals: Shared[list[ApprovalRecord]] = Shared(
        "Every approval decision (tool, input sha256, rule or person, time), when a policy is in front."
    )
    usage: Shared[dict[str, int]] = Shared(
        "Tokens every turn so far reported, by kind (stand-in models' made-up counts included)."
    )
    invented_usage: Shared[dict[str, int]] = Shared(
        "The part of `usage` that stand-in models reported (a `ScriptedModel`, a `FunctionModel` not "
        "marked `real=True`, a `FakeAnthropicServer`): made up, so the notebook never shows it as "
        "usage or cost."
    )

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
        state: Mapping[str, Any] | None = None,
    ):
        if max_iterations < 1:
            raise UsageError(f"max_iterations must be at least 1, not {max_iterations}")
        if timeout <= 0:
            raise UsageError(f"timeout must be positive, not {timeout}")
        check_seconds("timeout", timeout)
        self._state = SessionState() if state is None else state_from_dict(state, "state")
        self.id = session_id or uuid.uuid4().hex[:12]
        self.skills = load_skills(skills)
        self.model = as_model(model)
        self._observed = observed = ObservedExecutor(as_executor(executor))
        self.max_iterations = max_iterations
        self.max_tokens = max_tokens
        self.extra_system = system
        self.options = dict(options or {})
        self.max_output = max_output
        if isinstance(executor, ApprovalExecutor):
            executor.log = self.approvals
        pool: list[ThreadPoolExecutor] = []
        tmpdir = None
        if working_dir is None:
            tmpdir = tempfile.mkdtemp(prefix=f"conjure-{self.id}-")
            working_dir = tmpdir
        self._private_dir = tmpdir is not None and not keep_working_dir
        # armed before anything else can fail, so a failing setup leaves no dir or process behind
        self._finalizer = weakref.finalize(
            self, cleanup, observed, tmpdir if self._private_dir else None, pool
        )
        lifecycle.track(self._finalizer)  # also closed on SIGTERM and at a Jupyter kernel's shutdown
        try:
            self.working_dir = Path(working_dir).resolve()
            self.working_dir.mkdir(parents=True, exist_ok=True)
            rebase(self._state, self.working_dir)
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
            self._tools = ToolRunner(self.id, observed, self._state, self.working_dir, max_output, pool)
            self._files = SessionFiles(
                self.id, self._state, observed, self.working_dir, private=self._private_dir
            )
            self._turns = Turns(self.id, self._state, self._tools, self._finalizer)
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
        session_kw, docker_kw = split_options(options)
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
        unless `keep_uploaded`. See `conjure_nb.executors.anthropic`.
        """
        from ..executors._anthropic import AnthropicExecutor

        refuse_elixir_keywords(options, "Session.new_anthropic")
        session_kw, hosted_kw = split_options(options)
        executor = AnthropicExecutor(skills, model, **hosted_kw)
        executor.upload()
        try:
            return cls(executor.local_skills, executor.model, executor=executor, **session_kw)
        except BaseException:
            executor.close()
            raise

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
        options["state"] = data
        return cls.new(chosen_backend(data, path, backend), skills, model, **options)

    # -- properties ---------------------------------------------------------------------------

    @property
    def executor(self) -> Executor:
        """The executor tools run on (telemetry wraps it, invisibly: this is the one you gave)."""
        return self._observed.inner

    @executor.setter
    def executor(self, value: Executor) -> None:
        self._observed.inner = value

    @property
    def backend(self) -> str:
        """Where this session's tools run: "local", "docker", "native" or "anthropic"."""
        return self.executor.backend

    @property
    def container_id(self) -> str | None:
        """The container tool calls run in: the docker sandbox's, or the hosted container's once the
        first reply named it; None on local and native."""
        if self.executor.container_id:
            return self.executor.container_id
        hosted = self._state.container
        return hosted.get("id") if isinstance(hosted, dict) else hosted

    @property
    def tools(self) -> list[str]:
        """The tool names this session offers the model."""
        return list(self._tools.definitions)

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

    def _plan(
        self, callback: object, model: Any, max_iterations: int | None, approve: ApproveArg, ask: Asker | None
    ) -> TurnPlan:
        """A call's own choices, checked before its turn starts: its model, limit and approval gate."""
        chosen = choose_model(self.model, callback, model)
        check_limit(max_iterations)
        gate = None
        if approve is not None:  # the session's executor and policy stay as they are
            gate = self._observed.watching(call_gate(self.executor, approve, ask=ask, log=self.approvals))
        return TurnPlan(chosen, self.max_iterations if max_iterations is None else max_iterations, gate)

    def _config(self, plan: TurnPlan) -> TurnConfig:
        return TurnConfig(
            self.system,
            list(self._tools.definitions.values()),
            self.max_tokens,
            self._state.container,
            [],
            self.options,
            plan.max_iterations,
            usage_sink=self.usage,
        )

    def chat(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        on_event: Emit | None = None,
        model: Any = None,
        max_iterations: int | None = None,
        approve: ApproveArg = None,
        ask: Asker | None = None,
        api_callback: None = None,
    ) -> Response:
        """Send a message and run the tool loop to the end of the turn (blocking).

        Works in a notebook cell: it never touches the running event loop. The per-call choices
        (`model`, `max_iterations`, `approve`, `ask`) are this turn's: the session keeps its own.

        Args:
            message: the user's text, or a list of content blocks.
            callback: not accepted; the original library's `chat(message, api_callback)` shape is
                refused with a message saying where the model goes.
            api_callback: not accepted either, for the same reason (the Elixir keyword).
            on_event: called with each live event (text deltas, tool calls, files, the end).
            model: a model for this turn only (any `Model` or callable(messages) -> dict).
            max_iterations: the model-request limit for this turn only.
            approve: an approval policy for this turn's tool calls (`cj.ApprovalPolicy`, a rules
                mapping such as `{"bash_tool": "ask"}`, or one decision for every tool). It joins
                the session's own policy, if it has one, tool by tool, the stricter decision
                winning (deny > ask > allow): a call can add questions, never lift a deny.
                Decisions are kept in `session.approvals`.
            ask: who answers this turn's "ask" calls (e.g. `cj.ask_in_console`); without it, the
                session's own asker, if any, else such calls are denied saying nobody was asked.

        Returns:
            The turn's `Response`.

        Raises:
            UsageError: no model, a bad limit, a policy that would gate a hosted server tool, or
                a turn already running on this session.
            MaxIterationsError: the limit was reached with tool calls pending (the history is kept).

        Example:
            >>> import conjure_nb as cj
            >>> with cj.Session.new_local(model=cj.ScriptedModel(["hello"])) as s:
            ...     s.chat("hi", model=cj.ScriptedModel(["just this once"])).text
            'just this once'
        """
        plan = self._plan(callback or api_callback, model, max_iterations, approve, ask)
        with self._turns.hold():
            return self._turns.run(message, self._config(plan), plan, on_event)

    async def achat(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        on_event: Emit | None = None,
        model: Any = None,
        max_iterations: int | None = None,
        approve: ApproveArg = None,
        ask: Asker | None = None,
        api_callback: None = None,
    ) -> Response:
        """The async twin of `chat` (same arguments); tools run in threads so the event loop stays free."""
        plan = self._plan(callback or api_callback, model, max_iterations, approve, ask)
        with self._turns.hold():
            return await self._turns.arun(message, self._config(plan), plan, on_event)

    async def astream(
        self,
        message: str | list[dict[str, Any]],
        callback: None = None,
        *,
        model: Any = None,
        max_iterations: int | None = None,
        approve: ApproveArg = None,
        ask: Asker | None = None,
        api_callback: None = None,
    ) -> AsyncIterator[Event]:
        """Yield the turn's events as they happen, ending with `TurnFinished`.

        Takes `chat`'s per-call `model=`, `max_iterations=`, `approve=` and `ask=`.
        """
        self._plan(callback or api_callback, model, max_iterations, approve, ask)  # errors before any task
        self._turns.check_free()  # here too, so the error comes before any task starts
        choices = {"model": model, "max_iterations": max_iterations, "approve": approve, "ask": ask}
        async for event in stream(lambda emit: self.achat(message, on_event=emit, **choices)):
            yield event

    # -- tools ----------------------------------------------------------------------------------

    def run_tool(self, name: str, **input: Any) -> ToolResult:
        """Run one tool through this session's executor, with no model involved."""
        self._turns.check_open()
        if name not in self._tools.definitions:
            raise UsageError(f"this {self.backend} session has no tool {name!r}; its tools are {self.tools}")
        with self._turns.hold():
            outcome = self._tools.run([ToolCall(f"run_{uuid.uuid4().hex[:16]}", name, dict(input))], None)
        if outcome.interrupt is not None:
            raise outcome.interrupt
        return outcome.results[0]

    # -- files, persistence, lifecycle ---------------------------------------------------------

    def download_files(
        self, directory: str | os.PathLike[str], files: Iterable[CreatedFile] | None = None
    ) -> list[Path]:
        """Copy created files into `directory` (created), by basename, never overwriting.

        A file that cannot be copied (gone, replaced by a link, moved outside the working dir)
        is named in a warning, never skipped silently. Hosted files come through the Files API.

        Raises:
            UsageError: the session is closed and its private working dir is gone with the files.
        """
        return self._files.download(directory, None if files is None else list(files), closed=self.closed)

    def to_dict(self) -> dict[str, Any]:
        """What `save` writes: the history, tool log, created files, usage and container, as JSON data."""
        return state_dict(self._state, self.id, self.backend)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the history, tool log, files and usage as JSON."""
        return write_state(path, self.to_dict())

    def reset(self) -> None:
        """Forget the conversation (messages and usage); the tool log and created files stay."""
        self.messages = []
        self.usage = {}
        self.invented_usage = {}
        self._state.container = None

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
