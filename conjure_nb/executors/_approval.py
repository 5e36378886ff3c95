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

Hosted server tools (the anthropic backend's `code_execution`, reported as `bash_code_execution` and
`text_editor_code_execution`) run on Anthropic's servers and are only reported after they ran; a
policy that would ask about or deny one is refused with a UsageError rather than pretending to guard it.

Policies combine strictly: `policy.stricter(other)` decides each tool by the stricter of the two
(deny > ask > allow), which is how a chat call's `approve=` (a notebook cell's `--approve`) joins the
session's standing policy for that call only (`call_gate`: it can add questions, never lift a deny). What a person is shown is what runs: invisible and control
characters in a call's input (bidi overrides, zero-width characters, escapes) are shown as `\\u202e`
style escapes and flagged (`ApprovalRequest.shown_input`, `.hidden_characters`). Every decision
(tool, sha256 of the input, the rule or person who decided, time) is appended to `log`
(`session.approvals`, saved with the session).
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .._errors import UsageError
from ..tools import ToolCall, ToolResult
from ..tools._data import OfCall
from ._approval_policy import SERVER_TOOLS, ApprovalPolicy, Decision, check_server_tools
from ._base import Executor, ExecutorSetup, WrappedExecutor

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = [  # the policy's names too: a policy is what an ApprovalExecutor applies
    "SERVER_TOOLS",
    "ApprovalExecutor",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ApprovalRequest",
    "Asker",
    "Decision",
    "ask_in_console",
    "call_gate",
    "require_approval",
    "reveal",
]

_SAFE_CONTROLS = frozenset("\n\t")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def reveal(text: str) -> tuple[str, list[str]]:
    """`text` with every character a person cannot see for what it is written as an escape.

    Bidi controls (U+202E can make `rm -rf /` read as something else), zero-width and other format
    characters, line/paragraph separators, and control characters other than newline and tab
    (an escape sequence or a carriage return can repaint a terminal) become `\\u202e` / `\\x1b`.
    Returns the shown text and one description per kind found ("U+202E RIGHT-TO-LEFT OVERRIDE").
    """
    shown: list[str] = []
    found: dict[str, str] = {}
    for char in text:
        category = unicodedata.category(char)
        if char not in _SAFE_CONTROLS and category in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp"):
            name = unicodedata.name(char, "CONTROL CHARACTER" if category == "Cc" else "UNNAMED")
            found.setdefault(char, f"U+{ord(char):04X} {name}")
            shown.append(_escape(char))
        else:
            shown.append(char)
    return "".join(shown), list(found.values())


def input_digest(data: dict[str, Any]) -> str:
    """sha256 of the call's input as canonical JSON: what was decided on, without keeping it twice."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass
class ApprovalRecord:
    """One approval decision, as kept in `session.approvals` (and saved with the session).

    `by` is "rule" (the policy decided: `rule` names which), "person" (someone answered),
    or "nobody" (no one could be asked, no answer in time, or the turn was stopped first).
    """

    tool: str
    input_sha256: str
    decision: Literal["allow", "deny"]
    by: Literal["rule", "person", "nobody"]
    rule: str
    reason: str
    at: str
    tool_use_id: str | None = None
    flagged: list[str] = field(default_factory=list)
    """The invisible or control characters the input held (shown as escapes when asked)."""


@dataclass(eq=False)
class ApprovalRequest(OfCall):
    """One tool call waiting for a person: the tool, its full input, and the answer once given.

    The first answer wins; later ones are ignored, so a double click cannot flip a decision.
    """

    call: ToolCall
    backend: str
    approved: bool | None = None
    reason: str = ""
    answered_by_person: bool = False
    """False when the answer came from a timeout, a stopped turn or a failing prompt."""
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def shown_input(self) -> str:
        """The full input as JSON, with invisible and control characters written as escapes."""
        return reveal(json.dumps(self.input, indent=2, ensure_ascii=False, default=str))[0]

    @property
    def hidden_characters(self) -> list[str]:
        """The kinds of invisible or control characters in the input ("U+202E RIGHT-TO-LEFT OVERRIDE")."""
        return reveal(json.dumps(self.input, ensure_ascii=False, default=str))[1]

    @property
    def warning(self) -> str:
        """One line to show above the input when it holds such characters; "" when it holds none."""
        kinds = self.hidden_characters
        if not kinds:
            return ""
        return (
            f"Warning: this input holds {len(kinds)} kind(s) of invisible or control character "
            f"({'; '.join(kinds)}), shown as escapes: what runs is not what a plain view would show."
        )

    @property
    def pending(self) -> bool:
        """True until someone approves or denies the call."""
        return not self._done.is_set()

    def approve(self) -> bool:
        """Let the call run; returns False when it was already decided."""
        return self._resolve(True, "", person=True)

    def deny(self, reason: str = "") -> bool:
        """Refuse the call; `reason` is passed on to the model. False when already decided."""
        return self._resolve(False, reason, person=True)

    def wait(self, timeout: float | None = None) -> bool | None:
        """Block until decided (or `timeout`); the decision, or None when still pending."""
        self._done.wait(timeout)
        return self.approved

    def _resolve(self, approved: bool, reason: str, *, person: bool) -> bool:
        with self._lock:
            if self._done.is_set():
                return False
            self.approved, self.reason, self.answered_by_person = approved, reason, person
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


class ApprovalExecutor(WrappedExecutor):
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
        super().__init__(inner)
        self.policy = ApprovalPolicy.coerce(policy)
        self.ask = ask
        self.ask_timeout = ask_timeout
        self.log: list[ApprovalRecord] = []
        """Every decision made here; a session binds its own `approvals` list to it."""
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
        decision, rule = self.policy.explain(call.name)
        if decision == "allow":
            self._record(call, "allow", "rule", rule, "")
            return self.inner.run(call)
        if decision == "deny":
            why = f"the approval policy denies {call.name}"
            self._record(call, "deny", "rule", rule, why)
            return denied_result(call, why)
        approved, why, by = self._ask(call)
        self._record(call, "allow" if approved else "deny", by, rule, why if not approved else "")
        return self.inner.run(call) if approved else denied_result(call, why)

    def _record(self, call: ToolCall, decision: Any, by: Any, rule: str, reason: str) -> None:
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        flagged = reveal(json.dumps(call.input, ensure_ascii=False, default=str))[1]
        record = ApprovalRecord(
            call.name, input_digest(call.input), decision, by, rule, reason, stamp, call.id, flagged
        )
        with self._lock:
            self.log.append(record)

    def _ask(self, call: ToolCall) -> tuple[bool, str, str]:
        asker = self.ask
        if asker is None:
            why = f"{call.name} needs approval and no one was asked (pass ask= or use a ChatPanel)"
            return False, why, "nobody"
        request = ApprovalRequest(call, self.backend)
        with self._lock:
            self._pending.append(request)
        try:
            answer = asker(request)
            if answer is not None:
                request.approve() if answer else request.deny()
            if request.wait(self.ask_timeout) is None:
                request._resolve(False, f"no answer within {self.ask_timeout:g} s", person=False)
        except Exception as exc:  # a broken prompt must not break the turn
            request._resolve(False, f"asking for approval failed: {type(exc).__name__}: {exc}", person=False)
        finally:
            with self._lock:
                self._pending.remove(request)
        by = "person" if request.answered_by_person else "nobody"
        return bool(request.approved), request.reason or "the user denied it", by

    def cancel(self) -> None:
        for request in self.pending:
            request._resolve(False, "the turn was stopped before anyone answered", person=False)
        self.inner.cancel()

    # -- everything else is the wrapped executor's ---------------------------------------------

    def setup(self, setup: ExecutorSetup) -> None:
        self._setup = setup
        self.inner.setup(setup)
        check_server_tools(self.policy, self.inner.tool_definitions())  # refused now, not mid-turn

    def tool_definitions(self) -> list[dict[str, Any]]:
        definitions = self.inner.tool_definitions()
        check_server_tools(self.policy, definitions)
        return definitions

    def close(self) -> None:
        self.cancel()
        self.inner.close()

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


_CONSOLE = threading.Lock()


def ask_in_console(request: ApprovalRequest) -> bool:
    """Show the call and its full input, then ask y/N with `input()` (in a notebook: in the cell).

    Calls that run in parallel are asked one at a time. Anything but "y"/"yes" denies.
    """
    with _CONSOLE:
        print(f"Approve this {request.backend} tool call? {reveal(request.tool)[0]}")
        if request.warning:
            print(request.warning)
        print(request.shown_input)
        answer = input(f"Run {reveal(request.tool)[0]}? [y/N] ").strip().lower()
    if answer in ("y", "yes"):
        return True
    request.deny(f"the user answered {answer!r} when asked to approve it" if answer else "the user said no")
    return False


def call_gate(
    executor: Executor,
    policy: ApprovalPolicy | Mapping[str, Decision] | Decision,
    *,
    ask: Asker | None = None,
    log: list[ApprovalRecord] | None = None,
) -> ApprovalExecutor:
    """An approval gate for one chat call (its `approve=`), in front of `executor`, which stays as it is.

    `policy` joins the policy already in front of `executor`, if there is one, tool by tool, the
    stricter decision winning: a standing deny stays a deny. "ask" calls go to `ask`, else to the
    standing policy's asker. Decisions are appended to `log` (the session's `approvals`).

    Raises:
        UsageError: the joined policy would ask about or deny a hosted server tool.
    """
    joined = ApprovalPolicy.coerce(policy)
    inner, timeout = executor, None
    if isinstance(executor, ApprovalExecutor):
        joined = joined.stricter(executor.policy)
        inner, ask, timeout = executor.inner, ask or executor.ask, executor.ask_timeout
    check_server_tools(joined, inner.tool_definitions())
    gate = ApprovalExecutor(inner, joined, ask=ask, ask_timeout=timeout)
    if log is not None:
        gate.log = log
    return gate


def require_approval(
    session: HasExecutor,
    policy: ApprovalPolicy | Mapping[str, Decision] | Decision | None = "ask",
    *,
    ask: Asker | None = None,
) -> ApprovalExecutor:
    """Put an approval policy in front of an existing session's executor (idempotent).

    A session that already has one gets the new policy (and `ask`, when given) instead of a second
    wrapper. Returns the wrapper, whose `ask` a panel or a magic may set later. Its decisions are
    kept in the session's `approvals` list.
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
    log = getattr(session, "approvals", None)
    if isinstance(log, list):
        wrapper.log = log
    session.executor = wrapper
    return wrapper
