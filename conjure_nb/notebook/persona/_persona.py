"""`ConjurePersona`: Agent Skills in JupyterLab's chat, as a Jupyter AI persona.

The persona manager makes one persona per chat file, in the Jupyter server process, and calls
`process_message` for each message sent to it (one at a time). The persona keeps one session per
chat (`ChatSession`), runs each message as an async turn on the server's event loop (tools in
threads), and rewrites one chat message per turn as events arrive. Stop cancels the turn's task:
the session kills running tools, denies waiting approvals and answers every open tool_use.

Approvals need a reply while the turn holds the persona, so replies are read from the chat as they
arrive (`observe_messages`), not through `process_message`, which is busy with the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
from pathlib import Path
from typing import Any

from jupyter_ai_persona_manager import BasePersona, PersonaDefaults
from jupyter_ai_persona_manager.awareness_models import (
    CommandOption,
    ModelConfiguration,
    ModelOption,
)
from jupyter_ai_persona_manager.awareness_models import Usage as ReportedUsage
from jupyterlab_chat.models import (
    ChatMessageAction,
    ChatMessageEvent,
    FileAttachment,
    Message,
    NewMessage,
)
from traitlets import Float, Int, List, Unicode, default

from ..._errors import ConjureError
from ...display import escape
from ...executors._approval import ApprovalRequest
from ...tools._render import fake_badge
from ...tools._response import Response
from ...tools.events import Event, FileCreated, TextDelta, ToolCallFinished, ToolCallStarted
from ._chat_session import ChatSession, PersonaSettings
from ._settings import LOCAL_WARNING, NO_MODEL
from ._view import TurnView, approval_card

__all__ = ["ConjurePersona"]

AVATAR = Path(__file__).with_name("conjure.svg")
COMMANDS = {
    "/skills": "list the skills this chat's session has",
    "/files": "list the files the tools made, with links",
    "/reset": "forget the conversation (the files stay)",
    "/backend": "show or switch where tools run: /backend local | docker | native",
    "/usage": "tokens and estimated cost so far",
    "/help": "these commands",
}
_REPLY = re.compile(r"(approve|deny)\s+#?(\d+)\b\s*(.*)", re.I | re.S)
_FLUSH_S = 0.08  # streamed text is re-rendered at most this often


def _env(name: str, fallback: str | None = None) -> str | None:
    return os.environ.get(name) or fallback


class ConjurePersona(BasePersona):
    """Runs each message as a conjure_nb session turn with the configured skills and backend."""

    backend = Unicode(None, allow_none=True, help="local, docker or native (default: docker when ready)").tag(
        config=True
    )
    skills = List(Unicode(), help="skill folders / .skill files, or NativeSkill 'module:attr' specs").tag(
        config=True
    )
    model = Unicode(None, allow_none=True, help="a Claude model id or an importable 'module:attr' model").tag(
        config=True
    )
    models = List(Unicode(), help="more models for the picker (ids or 'module:attr')").tag(config=True)
    max_iterations = Int(25, help="model requests per message at most").tag(config=True)
    approvals = Unicode(None, allow_none=True, help="'ask', or rules such as 'bash_tool=ask'").tag(
        config=True
    )
    image = Unicode(None, allow_none=True, help="the docker sandbox image").tag(config=True)
    timeout = Float(120.0, help="seconds one tool call may run").tag(config=True)

    @default("backend")
    def _default_backend(self) -> str | None:
        return _env("CONJURE_PERSONA_BACKEND")

    @default("skills")
    def _default_skills(self) -> list[str]:
        return [p for p in (_env("CONJURE_PERSONA_SKILLS") or "").split(os.pathsep) if p]

    @default("model")
    def _default_model(self) -> str | None:
        return _env("CONJURE_PERSONA_MODEL")

    @default("models")
    def _default_models(self) -> list[str]:
        return [m.strip() for m in (_env("CONJURE_PERSONA_MODELS") or "").split(",") if m.strip()]

    @default("max_iterations")
    def _default_max_iterations(self) -> int:
        return int(_env("CONJURE_PERSONA_MAX_ITERATIONS", "25") or 25)

    @default("approvals")
    def _default_approvals(self) -> str | None:
        return _env("CONJURE_PERSONA_APPROVALS")

    @default("image")
    def _default_image(self) -> str | None:
        return _env("CONJURE_SANDBOX_IMAGE")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        settings = PersonaSettings(
            backend=self.backend,
            skills=list(self.skills),
            model=self.model,
            models=list(self.models),
            max_iterations=self.max_iterations,
            approvals=self.approvals,
            image=self.image,
            timeout=self.timeout,
        )
        rel_dir = os.path.dirname(self.get_chat_path(relative=True))
        base_url = getattr(self.parent, "base_url", "/")
        self.conjure = ChatSession(settings, Path(self.get_chat_dir()), rel_dir, base_url)
        self._task: asyncio.Task[Response] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._view: tuple[TurnView, _Flusher] | None = None  # the running turn's message
        self._approvals: dict[int, ApprovalRequest] = {}
        self._asked = itertools.count(1)
        self._replies: set[str] = set()  # ids of chat messages already taken as approval replies
        self._observer = self.chat.observe_messages(self._on_chat_message)
        self.report_slash_commands([CommandOption(name=n, description=d) for n, d in COMMANDS.items()])
        self._report_models()

    @property
    def defaults(self) -> PersonaDefaults:
        return PersonaDefaults(
            name="Conjure",
            description="Runs Agent Skills on a local, docker or native backend with any Messages-API model.",
            avatar_path=str(AVATAR),
            system_prompt="conjure_nb builds the system prompt from the session's skills.",
        )

    # -- messages -----------------------------------------------------------------------------

    async def process_message(self, message: Message) -> None:
        if message.id in self._replies:
            return  # an approval reply, already acted on while the turn ran
        text = self._strip_mention(message.body)
        command, _, arg = text.partition(" ")
        if command in COMMANDS:
            await self._command(command, arg.strip())
            return
        reply = _REPLY.fullmatch(text)
        if reply is not None:
            self.send_message(f"No tool call #{escape(reply.group(2))} is waiting for an answer.")
            return
        if not text:
            self.send_message("Ask me something, or try `/help`.")
            return
        try:
            model = self.conjure.model()
        except ConjureError as exc:
            self.send_message(f"**Conjure cannot load its model:** {escape(str(exc))}")
            return
        if model is None:
            self.send_message(NO_MODEL)
            return
        await self._turn(text)

    def _strip_mention(self, body: str) -> str:
        mention = "@" + self.as_user().mention_name
        text = body.strip()
        if text.startswith(mention):
            text = text[len(mention) :].lstrip(" :,").strip()
        return text

    async def _turn(self, text: str) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        try:
            session, built = await asyncio.to_thread(self.conjure.open, self._ask)
        except Exception as exc:
            self.send_message(f"**Conjure could not start its session:** {escape(str(exc))}")
            return
        if built and self.conjure.backend == "local":
            self.send_message(LOCAL_WARNING)
        view = TurnView()
        message_id = self.chat.add_message(NewMessage(body=view.body(), sender=self.id), trigger_actions=[])
        flush = _Flusher(loop, lambda: self._render(message_id, view))

        def on_event(event: Event) -> None:  # from the loop and from tool threads
            loop.call_soon_threadsafe(self._apply, view, event, flush)

        self.set_status("is working…")
        self._view = (view, flush)
        self._task = task = asyncio.ensure_future(session.achat(text, on_event=on_event))
        try:
            await asyncio.wait([task])
            await asyncio.sleep(0)  # events queued before the task ended are applied first
        except asyncio.CancelledError:  # the persona itself is being stopped: the turn goes too
            task.cancel()
            raise
        finally:
            self._task, self._view = None, None
            self.clear_status()
        await self._finish(task, view)
        flush.now()

    def _apply(self, view: TurnView, event: Event, flush: _Flusher) -> None:
        if view.finished:
            return
        if isinstance(event, TextDelta):
            view.add_text(event.text)
            flush.soon()
            return
        if isinstance(event, ToolCallStarted):
            view.add_tool(event.tool_use_id, event.tool, event.input)
            self.set_status(f"is running {event.tool}…")
        elif isinstance(event, ToolCallFinished):
            row = view.row(event.tool_use_id)
            if row is not None:
                result = event.result
                row.duration_ms = event.duration_ms
                if event.is_error and view.stopping:
                    row.status = "stopped"  # the person's Stop killed it: not "error (exit -9)"
                else:
                    row.status = (
                        "denied" if result.error_code == "denied" else "error" if event.is_error else "ok"
                    )
                    if event.is_error and result.exit_code is not None:
                        row.detail = f"exit {result.exit_code}"
            self.set_status("is working…")
        elif not isinstance(event, FileCreated):
            return
        flush.now()

    async def _finish(self, task: asyncio.Task[Response], view: TurnView) -> None:
        if task.cancelled():
            for segment in view.segments:
                if not isinstance(segment, str) and segment.status in ("running", "waiting"):
                    segment.status = "stopped"
            view.notes.append(
                "<i>Stopped. The conversation so far is kept; send another message to go on.</i>"
            )
        elif task.exception() is not None:
            exc = task.exception()
            view.notes.append(f"<b>The turn failed:</b> {escape(f'{type(exc).__name__}: {exc}')}")
        else:
            response = task.result()
            if not view.text.strip() and response.text:
                view.add_text(response.text)
            links, problems = await asyncio.to_thread(self.conjure.copy_files, response.created_files)
            view.files += links
            # attached too: the chat shows each as a chip that opens the file in this JupyterLab
            view.attachments += [self.chat.set_attachment(FileAttachment(value=link.path)) for link in links]
            view.notes += [f"not copied: {escape(p)}" for p in problems]
        self._approvals = {n: r for n, r in self._approvals.items() if r.pending}
        usage = self.conjure.usage()
        badge = f"{fake_badge(usage.fake)} " if usage.fake else ""  # a stand-in model is named
        view.notes.append(f'{badge}<span style="opacity:0.7">{escape(usage.text)}</span>')
        view.finished = True
        self._report_usage()

    def _render(self, message_id: str, view: TurnView) -> None:
        current = self.chat.get_message(message_id)
        if current is None:
            return
        current.body = view.body()
        current.attachments = list(view.attachments) or None
        self.chat.update_message(current, trigger_actions=[])

    # -- approvals -----------------------------------------------------------------------------

    def _ask(self, request: ApprovalRequest) -> None:
        """Called in a tool thread: post the question on the loop, and answer later (None)."""
        loop = self._loop
        if loop is None:
            request.deny("the chat was not ready to ask")
            return None
        loop.call_soon_threadsafe(self._post_question, request)
        return None

    def _post_question(self, request: ApprovalRequest) -> None:
        number = next(self._asked)
        self._approvals[number] = request
        self._mark(request, "waiting", f"reply approve {number} or deny {number}")
        self.send_message(approval_card(number, request.tool, request.shown_input, request.warning))

    def _mark(self, request: ApprovalRequest, status: str, detail: str = "") -> None:
        if self._view is None:
            return
        view, flush = self._view
        row = view.row(request.call.id)
        if row is not None and row.status in ("running", "waiting"):
            row.status, row.detail = status, detail
            flush.now()

    def _on_chat_message(self, event: ChatMessageEvent) -> None:
        if event.action != ChatMessageAction.CLIENT_MSG_RECEIVED:
            return
        match = _REPLY.fullmatch(self._strip_mention(event.message.body))
        if match is None:
            return
        number = int(match.group(2))
        request = self._approvals.pop(number, None)
        if request is None or not request.pending:
            return
        self._replies.add(event.message.id)
        approve = match.group(1).lower() == "approve"
        if approve:
            request.approve()
        else:
            request.deny(match.group(3).strip() or "the user denied it in the chat")
        if self._loop is not None:  # not from inside the chat's own change notification
            self._loop.call_soon(self._answered, request, number, approve)

    def _answered(self, request: ApprovalRequest, number: int, approved: bool) -> None:
        self._mark(request, "running" if approved else "denied")
        self.send_message(f"Tool call #{number} {'approved' if approved else 'denied'}.")

    # -- stop, commands, reporting -------------------------------------------------------------

    async def cancel_response(self) -> None:
        task = self._task
        if task is not None and not task.done():
            if self._view is not None:
                self._view[
                    0
                ].stopping = True  # calls the stop ends say "stopped", whichever event comes first
            task.cancel()

    async def update_model(self, model_id: str) -> None:
        self.conjure.use_model(model_id)

    async def _command(self, command: str, arg: str) -> None:
        if command == "/help":
            self.send_message("\n".join(f"- `{n}`: {d}" for n, d in COMMANDS.items()))
        elif command == "/reset":
            if self.conjure.session is not None:
                self.conjure.session.reset()
            self._report_usage()
            self.send_message("Conversation forgotten; the next message starts afresh. Files stay.")
        elif command == "/backend":
            await self._backend_command(arg)
        elif command == "/usage":
            self.send_message(escape(self.conjure.usage().text))
        elif command == "/files":
            self.send_message(self._files_text())
        elif command == "/skills":
            await self._skills_command()

    async def _backend_command(self, arg: str) -> None:
        if not arg:
            now = self.conjure.backend or "not chosen yet (docker when ready, else local)"
            self.send_message(f"Backend: {escape(now)}. Switch with `/backend local|docker|native`.")
            return
        try:
            await asyncio.to_thread(self.conjure.use_backend, arg)
        except ConjureError as exc:
            self.send_message(escape(str(exc)))
            return
        self.send_message(f"Backend is now {escape(arg)}; the next message starts a new session there.")

    async def _skills_command(self) -> None:
        try:
            session, _built = await asyncio.to_thread(self.conjure.open, self._ask)
        except Exception as exc:
            self.send_message(f"**Conjure could not start its session:** {escape(str(exc))}")
            return
        items = "".join(f"<li><b>{escape(s.name)}</b>: {escape(s.description)}</li>" for s in session.skills)
        tools = ", ".join(f"<code>{escape(t)}</code>" for t in session.tools)
        self.send_message(
            f"<div>{len(session.skills)} skill(s) on the {escape(session.backend)} backend "
            f"(tools: {tools})<ul>{items}</ul></div>"
        )

    def _files_text(self) -> str:
        if not self.conjure.copied:
            return "No files yet: the files the tools make are copied next to this chat."
        items = "\n".join(f.html() for f in self.conjure.copied)
        return f'<div class="conjure-files">Files next to this chat:<ul>\n{items}\n</ul></div>'

    def _report_models(self) -> None:
        options = self.conjure.model_options
        if not options:
            return
        self.report_model_configuration(
            ModelConfiguration(
                current=self.conjure.model_choice, options=[ModelOption(id=o, name=o) for o in options]
            )
        )

    def _report_usage(self) -> None:
        usage = self.conjure.usage()
        tokens = usage.tokens  # a real model's only: a stand-in's made-up counts are not reported
        tin, tout = tokens.get("input_tokens", 0), tokens.get("output_tokens", 0)
        read, write = tokens.get("cache_read_input_tokens", 0), tokens.get("cache_creation_input_tokens", 0)
        self.report_usage(
            ReportedUsage(
                input_tokens=tin,
                output_tokens=tout,
                cached_read_tokens=read,
                cached_write_tokens=write,
                total_tokens=tin + tout + read + write,
                cost_amount=usage.cost,
                cost_currency="USD" if usage.cost is not None else None,
            )
        )

    async def shutdown(self) -> None:
        """The chat closed or the server stops: stop the turn, then close the session (its tools,
        container and working dir go with it)."""
        task = self._task
        await self.cancel_response()
        if task is not None:
            await asyncio.wait([task], timeout=30)
        with contextlib.suppress(Exception):
            self.chat.unobserve_messages(self._observer)
        await asyncio.to_thread(self.conjure.close)
        await super().shutdown()


class _Flusher:
    """Re-render the turn's message now, or once shortly (many text deltas become one update)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, render: Any):
        self._loop = loop
        self._render = render
        self._pending: asyncio.TimerHandle | None = None

    def soon(self) -> None:
        if self._pending is None:
            self._pending = self._loop.call_later(_FLUSH_S, self.now)

    def now(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._render()
