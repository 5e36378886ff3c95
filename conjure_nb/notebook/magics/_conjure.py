"""`%%conjure chat`, `%%conjure run` and the `%conjure ...` line commands.

```
%load_ext conjure_nb
%%conjure chat --backend local --skills skills -i df -o answer
How healthy is the system in {df}?
```

Settings live in traits (`%config ConjureMagics.backend = "docker"`); sessions by name in a
`SessionStore`; streaming goes through `LiveTurn`, the same plumbing the widget panels use.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Integer, List, Unicode

from ... import _errors as cj_errors
from ...display._mime import show_as
from ...models._function import as_model
from ...session import Response, Session
from ...tools import ToolCall, ToolResult
from ...tools.events import ToolCallFinished, ToolCallStarted
from .._turn import fake_model
from . import _commands as commands
from ._failure import CellFailure
from ._inputs import parse_names, prepare_inputs
from ._live import LiveTurn
from ._parsers import chat_parser, run_parser
from ._resolve import NO_MODEL, expand, resolve_model, resolve_skills
from ._sessions import Opened, SessionStore, Spec, model_label

__all__ = ["ConjureMagics"]

_CHAT, _RUN = chat_parser(), run_parser()
_R = TypeVar("_R")


@magics_class
class ConjureMagics(Magics):
    """The `%conjure` / `%%conjure` magics; the traits are the defaults of every cell."""

    backend = Unicode(
        "local", help="backend when a cell gives no --backend: local, docker, native, anthropic"
    ).tag(config=True)
    model = Unicode("", help="model when a cell gives no --model: a notebook name or a model id").tag(
        config=True
    )
    skills = List(Unicode(), default_value=[], help="skill paths when a cell gives no --skills").tag(
        config=True
    )
    max_iterations = Integer(25, help="model requests allowed per chat turn").tag(config=True)
    stream = Bool(True, help="stream answers and tool rows as they happen (--no-stream turns it off)").tag(
        config=True
    )
    working_dir = Unicode(
        "", help="working dir of the sessions the magics open from now on (default: a fresh temp dir each)"
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell, **kwargs)
        self.store = SessionStore()

    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    @line_cell_magic
    def conjure(self, line: str, cell: str | None = None) -> Any:
        """Run `%conjure help` for the commands and their options."""
        command, _, rest = line.strip().partition(" ")
        if cell is not None:
            if command == "chat":
                return self._chat(_CHAT.parse_argstring(rest), cell)
            if command == "run":
                return self._run(_RUN.parse_argstring(rest), cell)
            raise UsageError(
                f"%%conjure {command or '(nothing)'}: the cell commands are chat and run (%conjure help)"
            )
        return commands.run_line(self, command or "help", rest)

    # -- sessions ------------------------------------------------------------------------------

    def _check(self, args: Any) -> None:
        """A cell naming an open session with another backend or skills fails before anything runs."""
        asked_skills = tuple(args.skills) if args.skills is not None else None
        self.store.check(args.session, args.backend, asked_skills)

    def _open(self, args: Any, model: Any = None) -> Opened:
        """The cell's session (checked by `_check` first): the open one of that name, or a new one."""
        name = args.session
        backend = args.backend or self.backend
        items = list(args.skills) if args.skills is not None else list(self.skills)

        def make() -> Session:
            skills, _ = resolve_skills(items, backend, self.ns)
            where = self.working_dir if self.working_dir and backend != "anthropic" else None
            try:
                if where is not None:
                    return Session.new(
                        backend, skills, model, max_iterations=self.max_iterations, working_dir=where
                    )
                return Session.new(backend, skills, model, max_iterations=self.max_iterations)
            except cj_errors.UsageError as exc:
                raise UsageError(f"--backend {backend}: {exc}") from None
            except cj_errors.ConjureError as exc:
                raise CellFailure(
                    type(exc).__name__, f"cannot open a {backend} session: {exc}", exc
                ) from None

        return self.store.open(name, Spec(backend, tuple(items)), make)

    def _meta(
        self, name: str, session: Session, usage: dict[str, Any] | None = None, *, model: Any = None
    ) -> dict[str, Any]:
        return {
            "conjure_nb": {
                "session": name,
                "backend": session.backend,
                "model": model_label(model if model is not None else session.model),
                "usage": dict(usage or {}),
            }
        }

    def _keep(self, args: Any, result: Any) -> None:
        self.ns["_conjure"] = result
        if args.o:
            if not args.o.isidentifier():
                raise UsageError(f"-o {args.o}: not a valid variable name")
            self.ns[args.o] = result

    # -- %%conjure chat ------------------------------------------------------------------------

    def _chat_model(self, args: Any, opened: Opened | None) -> Any:
        spec = args.model or (None if opened is not None and opened.session.model is not None else self.model)
        model = resolve_model(spec or None, self.ns)
        if model is None and (opened is None or opened.session.model is None):
            raise UsageError(NO_MODEL)
        return model

    def _chat(self, args: Any, body: str) -> Response:
        names = parse_names(args.i)
        if args.max_iterations is not None and args.max_iterations < 1:
            raise UsageError(f"--max-iterations must be at least 1, not {args.max_iterations}")
        self._check(args)
        model = self._chat_model(args, self.store.get(args.session))
        opened = self._open(args, model)
        session = opened.session
        inputs = prepare_inputs(names, self.ns, session.working_dir)
        message = expand(body.strip("\n"), self.ns, inputs.refs)
        if inputs.lines:
            message += "\n\n" + "\n".join(inputs.lines)
        # --model, --max-iterations and --approve are this turn's: the session keeps its own
        model = as_model(model)
        turn: dict[str, Any] = {"model": model, "max_iterations": args.max_iterations}
        meta = self._meta(args.session, session, model=model)
        stream = self.stream if args.stream is None else args.stream
        fake = fake_model(model if model is not None else session.model)
        view = LiveTurn(metadata=meta, title=f"session {args.session}", fake=fake) if stream else None
        turn.update(_approvals(session, args.approve, view))
        response = self._turn(session, message, view, turn)
        opened.turns.append(response)
        self._keep(args, response)
        meta["conjure_nb"]["usage"] = dict(response.usage)
        if response.fake_model:  # whoever reads the metadata learns the counts are made up
            meta["conjure_nb"]["fake_model"] = response.fake_model
        return self._result(response, args.format, meta, view)

    def _turn(self, session: Session, message: str, view: LiveTurn | None, turn: dict[str, Any]) -> Response:
        try:
            return session.chat(message, on_event=view.on_event if view else None, **turn)
        except KeyboardInterrupt:
            if view:
                view.interrupt()
            note = "the turn stopped; running tools were stopped and the history so far is kept"
            raise CellFailure("KeyboardInterrupt", note) from None
        except cj_errors.UsageError as exc:
            if view:
                view.fail(exc)
            raise UsageError(str(exc)) from None
        except cj_errors.ConjureError as exc:
            if view:
                view.fail(exc)
            raise CellFailure(type(exc).__name__, str(exc), exc) from None

    def _result(
        self, result: _R, fmt: str | None, meta: dict[str, Any], view: LiveTurn | None, **facts: str
    ) -> _R:
        """The cell's return value: `result` itself, marked to show as `Out[n]` in the cell's format
        with the cell's metadata (and `facts`, such as the directory a command ran in).

        A live view has done its work by now; it is emptied, so the answer is not shown twice.
        """
        if view is not None:
            view.close(meta)
        return show_as(result, fmt, meta, **facts)

    # -- %%conjure run -------------------------------------------------------------------------

    def _run(self, args: Any, body: str) -> ToolResult:
        names = parse_names(args.i)
        self._check(args)
        opened = self._open(args)
        session = opened.session
        inputs = prepare_inputs(names, self.ns, session.working_dir)
        command = expand(body.strip("\n"), self.ns, inputs.refs)
        tool, tool_input = _run_call(session, _shell_options(command, args))
        if tool != "bash_tool" and (args.cwd or args.pipefail):
            raise UsageError(
                f"--cwd and --pipefail need a bash_tool; {tool} runs this {session.backend} cell"
            )
        meta = self._meta(args.session, session)
        stream = self.stream if args.stream is None else args.stream
        view = LiveTurn(metadata=meta, title=f"session {args.session}", show_now=False) if stream else None
        call = ToolCall("run", tool, tool_input)
        if view is not None:
            view.on_event(ToolCallStarted(call))
        try:
            result = session.run_tool(tool, **tool_input)
        except KeyboardInterrupt:
            if view:
                view.interrupt()
            raise CellFailure("KeyboardInterrupt", "the command was stopped") from None
        except cj_errors.UsageError as exc:
            if view:
                view.fail(exc)
            raise UsageError(str(exc)) from None
        if view is not None:
            view.on_event(ToolCallFinished(call, result))
        self._keep(args, result)
        return self._result(result, None, meta, view, **_ran_in(session, args.cwd, tool))


def _asker(view: LiveTurn | None) -> Any:
    """Ask in the cell (y/N); the live view's row says "waiting for approval" meanwhile."""
    from ...executors._approval import ApprovalRequest, ask_in_console

    if view is None:
        return ask_in_console

    def ask(request: ApprovalRequest) -> bool:
        view.waiting(request.call.id)
        try:
            return ask_in_console(request)
        finally:
            view.answered(request.call.id)

    return ask


def _approvals(session: Session, approve: str | None, view: LiveTurn | None = None) -> dict[str, Any]:
    """`--approve [TOOL,...]`: the named tools (all by default) ask in the cell before they run.

    The chat call's `approve=`: it joins the session's own policy for this turn, stricter wins.
    While the cell asks, the call's live row reads "waiting for approval".
    """
    if approve is None:
        return {}
    from ...executors._approval import ApprovalPolicy

    tools = [t.strip() for t in approve.split(",") if t.strip()] or ["*"]
    unknown = [t for t in tools if t != "*" and t not in session.tools]
    if unknown:
        raise UsageError(f"--approve {approve}: no tool {', '.join(unknown)}; the tools are {session.tools}")
    return {"approve": ApprovalPolicy(dict.fromkeys(tools, "ask")), "ask": _asker(view)}


def _shell_options(command: str, args: Any) -> str:
    """`--pipefail` and `--cwd` as the first lines of the bash body."""
    lines = ["set -o pipefail"] if args.pipefail else []
    if args.cwd:
        lines.append(f"cd {shlex.quote(args.cwd)} || exit 1")
    return "\n".join([*lines, command])


def _ran_in(session: Session, cwd: str | None, tool: str) -> dict[str, str]:
    """The directory the command ran in, as the executor sees it, for the result's rendering."""
    if tool != "bash_tool":
        return {}
    base = "/workspace" if session.backend == "docker" else str(session.working_dir)
    where = posixpath.normpath(posixpath.join(base, cwd)) if cwd else base
    return {"ran_in": where, "backend": session.backend}


def _run_call(session: Session, command: str) -> tuple[str, dict[str, Any]]:
    """Which tool runs a `%%conjure run` body: bash_tool, else a native session's execute tool."""
    if "bash_tool" in session.tools:
        return "bash_tool", {"command": command, "description": "%%conjure run"}
    execute = [t for t in session.tools if t.endswith("_execute")]
    first, _, rest = command.partition(" ")
    if first in execute:
        return first, {"command": rest.strip()}
    if len(execute) == 1:
        return execute[0], {"command": command}
    raise UsageError(
        f"%%conjure run: this {session.backend} session has no bash_tool; start the body with one of "
        f"{execute or session.tools} to say which tool runs it"
    )
