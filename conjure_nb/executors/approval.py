"""Approvals: a policy deciding, per tool, whether a call runs, wrapped around any executor.

```python
policy = cj.ApprovalPolicy({"bash_tool": "ask", "view": "allow"}, default="allow")
executor = cj.ApprovalExecutor(cj.LocalExecutor(), policy, ask=lambda req: input(...) == "y")
session = cj.Session.new_local(skills, model, executor=executor)
cj.require_approval(other_session, {"bash_tool": "ask"})   # wrap a session that already exists
```

The policy sits on the executor seam, so local, docker and native sessions behave the same and no
backend carries an `if approved:` branch. A denied call never runs: it becomes an `is_error` tool
result telling the model the user denied it, so the model can carry on (or ask why).

"ask" hands an `ApprovalRequest` to the `ask` callback. The callback either answers at once
(returns True or False: a prompt in the cell) or returns None and someone answers later with
`request.approve()` / `request.deny()` (the ChatPanel's buttons). The tool's thread waits; the
session's cancel (Stop, Ctrl-C) denies whatever is still waiting.

Hosted server tools (the anthropic backend's `code_execution`) run on Anthropic's side and are only
reported after they ran; a policy that would ask about or deny one is refused with a UsageError
rather than pretending to guard it.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from ..errors import UsageError
from ..tools import ToolCall, ToolResult
from .base import Executor, ExecutorSetup

if TYPE_CHECKING:  # pragma: no cover
    from ..skills.model import Skill

__all__ = [
    "ApprovalExecutor",
    "ApprovalPolicy",
    "ApprovalRequest",
    "Asker",
    "Decision",
    "ask_in_console",
    "require_approval",
]

Decision = Literal["allow", "deny", "ask"]
_DECISIONS: tuple[str, ...] = get_args(Decision)


@dataclass
class ApprovalPolicy:
    """What happens to each tool: "allow" (runs), "deny" (never runs) or "ask" (a person decides).

    Args:
        rules: tool name (or an fnmatch pattern such as `"*_execute"`) -> decision. An exact name
            wins over a pattern; patterns are tried in the order given.
        default: the decision for a tool no rule names.
    """

    rules: dict[str, Decision] = field(default_factory=dict)
    default: Decision = "allow"

    def __post_init__(self) -> None:
        self.rules = dict(self.rules)
        for tool, decision in [*self.rules.items(), ("default", self.default)]:
            if decision not in _DECISIONS:
                raise UsageError(
                    f"approval rule for {tool!r} is {decision!r}; use one of {', '.join(_DECISIONS)}"
                )

    def decide(self, tool: str) -> Decision:
        """The decision for one tool name."""
        if tool in self.rules:
            return self.rules[tool]
        for pattern, decision in self.rules.items():
            if fnmatch.fnmatchcase(tool, pattern):
                return decision
        return self.default

    @classmethod
    def coerce(cls, value: ApprovalPolicy | Mapping[str, Decision] | Decision | None) -> ApprovalPolicy:
        """Accept a policy, a rules mapping, or one decision for every tool ("ask")."""
        if isinstance(value, ApprovalPolicy):
            return value
        if value is None:
            return cls()
        if isinstance(value, str):
            return cls({}, default=value)
        return cls(dict(value))


@dataclass(eq=False)
class ApprovalRequest:
    """One tool call waiting for a person: the tool, its full input, and the answer once given.

    The first answer wins; later ones are ignored, so a double click cannot flip a decision.
    """

    call: ToolCall
    backend: str
    approved: bool | None = None
    reason: str = ""
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def tool(self) -> str:
        """The name of the tool waiting to run (`bash_tool`, `log_fetcher_execute`, ...)."""
        return self.call.name

    @property
    def input(self) -> dict[str, Any]:
        """The call's full input, as the model sent it: show all of it before asking."""
        return self.call.input

    @property
    def pending(self) -> bool:
        """True until someone approves or denies the call."""
        return not self._done.is_set()

    def approve(self) -> bool:
        """Let the call run; returns False when it was already decided."""
        return self._resolve(True, "")

    def deny(self, reason: str = "") -> bool:
        """Refuse the call; `reason` is passed on to the model. False when already decided."""
        return self._resolve(False, reason)

    def wait(self, timeout: float | None = None) -> bool | None:
        """Block until decided (or `timeout`); the decision, or None when still pending."""
        self._done.wait(timeout)
        return self.approved

    def _resolve(self, approved: bool, reason: str) -> bool:
        with self._lock:
            if self._done.is_set():
                return False
            self.approved, self.reason = approved, reason
            self._done.set()
            return True


Asker = Callable[[ApprovalRequest], "bool | None"]
"""Shown a pending request; returns the answer, or None to answer later on the request itself."""


def denied_result(call: ToolCall, why: str) -> ToolResult:
    """The `is_error` result a refused call gets: the model reads that the user said no."""
    return ToolResult(
        content=(
            f"The user denied this tool call ({call.name}); it did not run. Reason: {why}. "
            "Do not retry the same call; carry on without it or ask the user what to do."
        ),
        is_error=True,
        tool_use_id=call.id,
        error_code="denied",
    )


class ApprovalExecutor(Executor):
    """Any executor, with an `ApprovalPolicy` in front of every tool call.

    Everything except `run` and `cancel` is passed straight to the wrapped executor, which
    keeps its own backend name, tools, prompt and cleanup.

    Args:
        inner: the executor that runs approved calls (local, docker, native, ...).
        policy: the policy, a rules mapping (`{"bash_tool": "ask"}`), or one decision for all.
        ask: shown each "ask" call; without it such calls are denied, saying nobody was asked.
        ask_timeout: seconds to wait for an answer before denying; None waits as long as it takes.
    """

    def __init__(
        self,
        inner: Executor,
        policy: ApprovalPolicy | Mapping[str, Decision] | Decision | None = None,
        *,
        ask: Asker | None = None,
        ask_timeout: float | None = None,
    ):
        if isinstance(inner, type):
            raise UsageError(f"ApprovalExecutor wraps an executor instance: pass {inner.__name__}()")
        self.inner = inner
        self.policy = ApprovalPolicy.coerce(policy)
        self.ask = ask
        self.ask_timeout = ask_timeout
        self._pending: list[ApprovalRequest] = []
        self._lock = threading.Lock()

    @property  # the wrapped backend's name, so tool logs and telemetry stay truthful
    def backend(self) -> str:
        return self.inner.backend

    @backend.setter
    def backend(self, value: str) -> None:
        raise UsageError("an ApprovalExecutor takes its backend name from the executor it wraps")

    @property
    def pending(self) -> list[ApprovalRequest]:
        """The requests waiting for an answer right now."""
        with self._lock:
            return list(self._pending)

    def run(self, call: ToolCall) -> ToolResult:
        decision = self.policy.decide(call.name)
        if decision == "allow":
            return self.inner.run(call)
        if decision == "deny":
            return denied_result(call, f"the approval policy denies {call.name}")
        approved, why = self._ask(call)
        return self.inner.run(call) if approved else denied_result(call, why)

    def _ask(self, call: ToolCall) -> tuple[bool, str]:
        asker = self.ask
        if asker is None:
            return False, f"{call.name} needs approval and no one was asked (pass ask= or use a ChatPanel)"
        request = ApprovalRequest(call, self.backend)
        with self._lock:
            self._pending.append(request)
        try:
            answer = asker(request)
            if answer is not None:
                request.approve() if answer else request.deny()
            if request.wait(self.ask_timeout) is None:
                request.deny(f"no answer within {self.ask_timeout:g} s")
        except Exception as exc:  # a broken prompt must not break the turn
            request.deny(f"asking for approval failed: {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._pending.remove(request)
        return bool(request.approved), request.reason or "the user denied it"

    def cancel(self) -> None:
        for request in self.pending:
            request.deny("the turn was stopped before anyone answered")
        self.inner.cancel()

    # -- everything else is the wrapped executor's ---------------------------------------------

    def setup(self, setup: ExecutorSetup) -> None:
        self._setup = setup
        self.inner.setup(setup)

    def tool_definitions(self) -> list[dict[str, Any]]:
        definitions = self.inner.tool_definitions()
        check_server_tools(self.policy, definitions)
        return definitions

    def skill_location(self, skill: Skill) -> str:
        return self.inner.skill_location(skill)

    def working_dir_display(self) -> str:
        return self.inner.working_dir_display()

    def prompt_extra(self) -> str:
        return self.inner.prompt_extra()

    def sync_out(self) -> None:
        self.inner.sync_out()

    def close(self) -> None:
        self.cancel()
        self.inner.close()

    @property
    def container_id(self) -> str | None:
        return self.inner.container_id

    def __getattr__(self, name: str) -> Any:
        # backend-specific extras (a docker executor's image, say) stay reachable
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"<ApprovalExecutor {self.policy} around {self.inner!r}>"


class HasExecutor(Protocol):
    """What `require_approval` needs of a session (the executors layer cannot import sessions)."""

    executor: Executor


def check_server_tools(policy: ApprovalPolicy, definitions: list[dict[str, Any]]) -> None:
    """Refuse a policy that would ask about or deny a hosted server tool, which no executor sees.

    A server tool (a definition with a `type`, such as the anthropic backend's `code_execution`)
    runs on Anthropic's side; its calls are only reported after they ran, so nothing here could
    stop one. Saying so beats a policy that silently does nothing.
    """
    for definition in definitions:
        name = str(definition.get("name"))
        if "type" in definition and policy.decide(name) != "allow":
            raise UsageError(
                f"approval policy {policy.decide(name)!r} for {name!r}: it is a hosted server tool that "
                'runs on Anthropic\'s side, so it cannot be asked about or stopped here; give it "allow" '
                "(e.g. {'" + name + "': 'allow'}) or use a local, docker or native session"
            )


_CONSOLE = threading.Lock()


def ask_in_console(request: ApprovalRequest) -> bool:
    """Show the call and its full input, then ask y/N with `input()` (in a notebook: in the cell).

    Calls that run in parallel are asked one at a time. Anything but "y"/"yes" denies.
    """
    import json

    with _CONSOLE:
        print(f"Approve this {request.backend} tool call? {request.tool}")
        print(json.dumps(request.input, indent=2, ensure_ascii=False))
        answer = input(f"Run {request.tool}? [y/N] ").strip().lower()
    if answer in ("y", "yes"):
        return True
    request.deny(f"the user answered {answer!r} when asked to approve it" if answer else "the user said no")
    return False


def require_approval(
    session: HasExecutor,
    policy: ApprovalPolicy | Mapping[str, Decision] | Decision | None = "ask",
    *,
    ask: Asker | None = None,
) -> ApprovalExecutor:
    """Put an approval policy in front of an existing session's executor (idempotent).

    A session that already has one gets the new policy (and `ask`, when given) instead of a second
    wrapper. Returns the wrapper, whose `ask` a panel or a magic may set later.
    """
    executor = session.executor
    check_server_tools(ApprovalPolicy.coerce(policy), executor.tool_definitions())
    if isinstance(executor, ApprovalExecutor):
        executor.policy = ApprovalPolicy.coerce(policy)
        if ask is not None:
            executor.ask = ask
        return executor
    wrapper = ApprovalExecutor(executor, policy, ask=ask)
    wrapper._setup = executor._setup
    session.executor = wrapper
    return wrapper
