"""`ChatPanel`: a chat with a session in a widget, for people who would rather click than type code.

```python
panel = cj.ChatPanel(session)                                   # an existing session
panel = cj.ChatPanel(skills=cj.load("skills"), backend="local",
                     models={"scripted": cj.ScriptedModel([...]), "claude": "claude-sonnet-4-6"})
panel = cj.ChatPanel(session, approvals={"bash_tool": "ask"})   # Approve / Deny in the panel
```

The model call runs in a background thread, so the kernel keeps serving the widgets: the answer
streams in, tool calls show up as rows while they run, created files appear inline. Send is
disabled while a turn runs and a message is sent exactly once, whether by Enter or by the button.
Stop cancels cleanly (running tools killed, every tool_use answered). `panel.chat("...")` sends from
code, like the button. Errors are shown in the turn and kept in `panel.errors`; `panel.wait()` blocks
until the running turn is over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..._errors import UsageError
from ...display._text import escape
from ...executors._approval import (
    ApprovalExecutor,
    ApprovalPolicy,
    ApprovalRequest,
    Decision,
    require_approval,
)
from ...tools._usage import counted, not_usage, tokens_text
from ...tools.events import Event, FileCreated, ModelRequestStop
from .._turn import fake_badge, fake_model
from ._file_card import file_card
from ._pricing import Price, estimate_cost, find_price, format_cost
from ._turn_view import ApprovalCard, TurnView
from ._worker import TurnWorker

if TYPE_CHECKING:  # pragma: no cover
    from ...session import Session
    from ...tools._response import Response

__all__ = ["ChatPanel"]

Approvals = ApprovalPolicy | Mapping[str, Decision] | Decision | None


def model_id(model: Any) -> str | None:
    """The model id a price is looked up by (`AnthropicModel.model`), or None when there is none."""
    value = getattr(model, "model", None)
    return value if isinstance(value, str) else None


class ChatPanel(w.VBox):
    """A chat with one session: message box, Send / Stop, the conversation, a usage footer.

    Args:
        session: the session to chat with. Without one, the panel builds sessions itself from
            `skills`, with backend and model pickers (and closes them when it is closed).
        skills: skills (or paths) for the sessions the panel builds.
        backend: the backend picked first; `backends` are the choices.
        model: the model picked first (a Model, a callable, or a Claude model id).
        models: the model choices, label -> Model / callable / model id (or a list of model ids).
        approvals: an approval policy for the session's tools ({"bash_tool": "ask"}, "ask", ...).
        prices: the price table for the cost estimate (default: `pricing.PRICES`).
        model_id: the id to price the model by, when the model does not say (a compatible server).
        session_options: keywords for the sessions the panel builds (`working_dir=`, `timeout=`, ...).
    """

    def __init__(
        self,
        session: Session | None = None,
        *,
        skills: Any = None,
        backend: str = "local",
        backends: Iterable[str] = ("local", "docker"),
        model: Any = None,
        models: Mapping[str, Any] | Iterable[str] | None = None,
        approvals: Approvals = None,
        prices: Mapping[str, Price] | None = None,
        model_id: str | None = None,
        session_options: Mapping[str, Any] | None = None,
    ):
        self.errors: list[BaseException] = []
        self.turns: list[TurnView] = []
        self.responses: list[Response] = []
        self.prices = prices
        self._price_model_id = model_id
        self._approvals = approvals
        self._session = session
        self._owns_session = False
        self._skills = skills
        self._session_options = dict(session_options or {})
        self._lock = threading.RLock()
        self._usage_before: dict[str, Any] = {}
        self._worker: TurnWorker | None = None
        self._running = False
        self._model_options: dict[str, Any] = {}
        self._file_listeners: list[Any] = []
        self.message = w.Text(placeholder="Ask something, then Enter or Send", layout=w.Layout(flex="1"))
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        # no max height: a flex box that must fit squeezes its children (and clips their buttons)
        self.conversation = w.VBox()
        self.notice = w.HTML()
        self.footer = w.HTML()
        self.backend_picker, self.model_picker = self._pickers(session, backend, backends, model, models)
        self.send_button.on_click(lambda _b: self.chat())
        self.stop_button.on_click(lambda _b: self.stop())
        self.message.on_msg(self._on_text_msg)
        header = [p for p in (self.backend_picker, self.model_picker) if p is not None]
        rows: list[w.Widget] = [w.HBox(header)] if header else []
        rows += [self.conversation, self.notice, w.HBox([self.message, self.send_button, self.stop_button])]
        super().__init__([*rows, self.footer])
        self.add_class("conjure-chat-panel")
        if session is not None:
            self._install_approvals(session)
        self._update_footer(None)

    # -- public --------------------------------------------------------------------------------

    @property
    def session(self) -> Session | None:
        """The session the next message goes to (None until a panel-built one is needed)."""
        return self._session

    @property
    def busy(self) -> bool:
        """True while a turn runs (Send is disabled)."""
        return self._running

    @property
    def pending_approvals(self) -> list[ApprovalCard]:
        """Approval cards still waiting for an answer, oldest first."""
        return [card for turn in self.turns for card in turn.cards if card.request.pending]

    def chat(self, message: str | None = None) -> bool:
        """Send `message` (default: the message box); False when nothing was sent (busy or empty)."""
        with self._lock:
            if self.busy:
                return False
            text = (self.message.value if message is None else message).strip()
            if not text:
                return False
            try:
                session = self._ensure_session()
            except Exception as exc:
                self._show_error(exc)
                return False
            turn = TurnView(text, file_card, fake=fake_model(session.model))
            self._usage_before = counted(session.usage, session.invented_usage)
            worker = TurnWorker(session, text, self._event_handler(turn), self._done_handler(turn))
            self._worker, self._running = worker, True
            self.turns.append(turn)
            if message is None:
                self.message.value = ""
            self._set_running(True)
            self.conversation.children = (*self.conversation.children, turn.widget)
            worker.start()
            return True

    def stop(self) -> None:
        """Cancel the running turn; `wait()` returns once it has settled."""
        worker = self._worker
        if worker is not None and self._running:
            self.stop_button.disabled = True
            self.notice.value = "<i>Stopping…</i>"
            if self.turns:
                self.turns[-1].stop()
            worker.stop()

    def wait(self, timeout: float | None = None) -> Response | None:
        """Block until the running turn is over; its Response, or None when it failed or stopped.

        Raises:
            TimeoutError: the turn is still running after `timeout` seconds.
        """
        worker = self._worker
        if worker is None:
            return None
        if not worker.join(timeout):
            raise TimeoutError(f"the turn is still running after {timeout:g} s; panel.stop() cancels it")
        return worker.response

    def on_file(self, callback: Any) -> None:
        """Call `callback(created_file)` for each file a turn creates (the dashboard's FilesPanel)."""
        self._file_listeners.append(callback)

    def close(self) -> None:
        """Stop the running turn, close sessions the panel built, and close the widgets."""
        self.stop()
        if self._worker is not None:
            self._worker.join(30)
        session = self._session
        executor = session.executor if session is not None else None
        if isinstance(executor, ApprovalExecutor) and executor.ask == self._ask:
            executor.ask = None  # nobody is left here to click Approve: such calls are denied
        if self._owns_session and session is not None:
            session.close()
        super().close()

    # -- turn plumbing -------------------------------------------------------------------------

    def _event_handler(self, turn: TurnView) -> Any:
        def handle(event: Event) -> None:
            turn.handle(event)
            if isinstance(event, FileCreated):
                for listener in list(self._file_listeners):
                    listener(event.file)
            if isinstance(event, ModelRequestStop):
                self._update_footer(turn)

        return handle

    def _done_handler(self, turn: TurnView) -> Any:
        def done(worker: TurnWorker) -> None:
            with self._lock:
                if worker.response is not None:
                    turn.finish(worker.response)
                    self.responses.append(worker.response)
                elif worker.stopped:
                    turn.stopped()
                elif worker.error is not None:
                    self.errors.append(worker.error)
                    turn.fail(worker.error)
                self.notice.value = ""
                self._running = False
                self._update_footer(turn)
                self._set_running(False)

        return done

    def _set_running(self, running: bool) -> None:
        self.send_button.disabled = running
        self.stop_button.disabled = not running
        for picker in (self.backend_picker, self.model_picker):
            if picker is not None:
                picker.disabled = running

    def _ask(self, request: ApprovalRequest) -> None:
        turn = self.turns[-1] if self.turns else None
        if turn is None:  # a call outside any panel turn (run_tool in a cell): nobody to ask here
            request.deny("it was not started from this panel, so nobody could approve it")
            return
        turn.ask(request)

    def _on_text_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("event") == "submit":  # Enter in the message box
            self.chat()

    # -- sessions, pickers, footer -------------------------------------------------------------

    def _install_approvals(self, session: Session) -> None:
        if self._approvals is not None:
            require_approval(session, self._approvals, ask=self._ask)
        elif isinstance(session.executor, ApprovalExecutor):
            session.executor.ask = self._ask

    def _ensure_session(self) -> Session:
        if self._session is not None and not self._session.closed:
            return self._session
        if self.backend_picker is None:
            raise UsageError("this panel's session is closed; make a new session and a new ChatPanel")
        from ...session import Session

        model = self._picked_model()
        session = Session.new(self.backend_picker.value, self._skills, model, **self._session_options)
        self._session, self._owns_session = session, True
        self._install_approvals(session)
        return session

    def _pickers(
        self, session: Session | None, backend: str, backends: Iterable[str], model: Any, models: Any
    ) -> tuple[w.Dropdown | None, w.Dropdown | None]:
        if session is not None:
            return None, None
        choices = list(dict.fromkeys([backend, *backends]))
        backend_picker = w.Dropdown(options=choices, value=backend, description="Backend")
        options = _model_options(model, models)
        model_picker = w.Dropdown(options=list(options), description="Model")
        self._model_options = options
        backend_picker.observe(self._backend_changed, "value")
        model_picker.observe(self._model_changed, "value")
        return backend_picker, model_picker

    def _picked_model(self) -> Any:
        picker = self.model_picker
        choice = self._model_options.get(picker.value) if picker is not None else None
        if isinstance(choice, str):
            from ...models._anthropic import AnthropicModel

            choice = AnthropicModel(model=choice)
        return choice

    def _backend_changed(self, change: dict[str, Any]) -> None:
        if self._session is not None and self._owns_session:
            self._session.close()
            self.notice.value = (
                f"<i>Backend {escape(str(change['new']))}: the next message starts a new session.</i>"
            )
        self._session = None
        self._update_footer(None)

    def _model_changed(self, change: dict[str, Any]) -> None:
        if self._session is None:
            return
        try:
            from ...models._function import as_model

            self._session.model = as_model(self._picked_model())
            self.notice.value = f"<i>Model {escape(str(change['new']))} from the next message on.</i>"
        except Exception as exc:
            self._show_error(exc)
        self._update_footer(None)

    def _show_error(self, exc: BaseException) -> None:
        self.errors.append(exc)
        self.notice.value = (
            f'<div class="conjure-error" style="color:#b00020"><b>{escape(type(exc).__name__)}</b>: '
            f"{escape(exc)}</div>"
        )

    def _priced_id(self) -> str | None:
        if self._price_model_id:
            return self._price_model_id
        session = self._session
        if session is not None:
            return model_id(session.model)
        picker = self.model_picker
        choice = self._model_options.get(picker.value) if picker is not None else None
        return choice if isinstance(choice, str) else model_id(choice)

    def _update_footer(self, turn: TurnView | None) -> None:
        session = self._session
        label = turn.state.fake if turn is not None else fake_model(getattr(session, "model", None))
        mid = self._priced_id()
        session_usage = counted(session.usage, session.invented_usage) if session is not None else {}
        if turn is not None and self._running and not label:  # the session adds a turn's usage at its end
            session_usage = _added(self._usage_before, turn.usage)
        if label:  # a stand-in's token counts are made up: neither usage nor cost
            parts = [f"{fake_badge(label)} {escape(not_usage(label))}"]
            if any(session_usage.values()):  # what real models used earlier in the session
                parts.append(escape("real models earlier: " + _usage_text(mid, session_usage, self.prices)))
            self.footer.value = (
                f'<div class="conjure-footer" style="opacity:0.85;font-size:12px">{" · ".join(parts)}</div>'
            )
            return
        parts = []
        if turn is not None:
            parts.append("this turn: " + _usage_text(mid, turn.usage, self.prices))
        parts.append("session: " + _usage_text(mid, session_usage, self.prices))
        if find_price(mid, self.prices) is None:
            price = f"no price for {mid}" if mid else "no price for this model"
        else:
            price = f"estimated at {mid} list prices"
        self.footer.value = (
            f'<div class="conjure-footer" style="opacity:0.75;font-size:12px">{escape(" · ".join(parts))}'
            f" <span>({escape(price)})</span></div>"
        )

    def __repr__(self) -> str:
        state = "running" if self.busy else "idle"
        return f"<ChatPanel {state} turns={len(self.turns)} errors={len(self.errors)}>"


def _added(before: Mapping[str, Any], turn: Mapping[str, int]) -> dict[str, int]:
    out = {k: v for k, v in before.items() if isinstance(v, int)}
    for key, value in turn.items():
        out[key] = out.get(key, 0) + value
    return out


def _usage_text(mid: str | None, usage: Mapping[str, int], prices: Mapping[str, Price] | None) -> str:
    return f"{tokens_text(usage)}, {format_cost(estimate_cost(mid, usage, prices))}"


def _model_options(model: Any, models: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if model is not None:
        options[model if isinstance(model, str) else model_id(model) or type(model).__name__] = model
    if isinstance(models, Mapping):
        options.update(models)
    elif models is not None:
        options.update({m: m for m in models})
    if not options:
        from ...models._anthropic import DEFAULT_MODEL

        options[DEFAULT_MODEL] = DEFAULT_MODEL
    return options
