"""What an approval policy decides: per tool, "allow", "ask" or "deny", the stricter one winning
when two are joined; and the hosted server tools no policy can reach, refused rather than ignored.

`ApprovalExecutor` (`_approval`) applies a policy on the executor seam.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .._errors import UsageError

__all__ = ["SERVER_TOOLS", "ApprovalPolicy", "Decision", "check_server_tools", "server_tool_refusal"]

Decision = Literal["allow", "deny", "ask"]
_DECISIONS: tuple[str, ...] = get_args(Decision)
_STRICTNESS = {"allow": 0, "ask": 1, "deny": 2}
SERVER_TOOLS = ("code_execution", "bash_code_execution", "text_editor_code_execution")
"""The hosted backend's server tools: they run on Anthropic's servers, out of any policy's reach."""


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
    also: tuple[ApprovalPolicy, ...] = ()
    """Policies this one was made stricter than (`stricter`): each tool gets the strictest answer."""

    def __post_init__(self) -> None:
        self.rules = dict(self.rules)
        for tool, decision in [*self.rules.items(), ("default", self.default)]:
            if decision not in _DECISIONS:
                raise UsageError(
                    f"approval rule for {tool!r} is {decision!r}; use one of {', '.join(_DECISIONS)}"
                )
        for tool in SERVER_TOOLS:
            if self.rules.get(tool, "allow") != "allow":
                raise UsageError(server_tool_refusal(tool, self.rules[tool]))

    def decide(self, tool: str) -> Decision:
        """The decision for one tool name: the strictest of this policy's and those in `also`."""
        return self.explain(tool)[0]

    def explain(self, tool: str) -> tuple[Decision, str]:
        """The decision for one tool and the rule that made it (`"bash_tool: deny"`, `"default: allow"`)."""
        decision, rule = self._own(tool)
        for other in self.also:
            theirs, why = other.explain(tool)
            if _STRICTNESS[theirs] > _STRICTNESS[decision]:
                decision, rule = theirs, why
        return decision, rule

    def _own(self, tool: str) -> tuple[Decision, str]:
        if tool in self.rules:
            return self.rules[tool], f"{tool}: {self.rules[tool]}"
        for pattern, decision in self.rules.items():
            if fnmatch.fnmatchcase(tool, pattern):
                return decision, f"{pattern}: {decision}"
        return self.default, f"default: {self.default}"

    def stricter(self, other: ApprovalPolicy) -> ApprovalPolicy:
        """This policy joined with `other`: every tool gets the stricter decision (deny > ask > allow)."""
        return ApprovalPolicy(self.rules, self.default, also=(*self.also, other))

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


def server_tool_refusal(name: str, decision: str) -> str:
    return (
        f"approval policy {decision!r} for {name!r}: hosted server tools ({', '.join(SERVER_TOOLS)}) run on "
        "Anthropic's servers and cannot be approved one by one (their calls are reported only after they "
        'ran), so this rule could never act; give them "allow" or use a local, docker or native session, '
        "where every call can be asked about"
    )


def _allowed_by_name(policy: ApprovalPolicy, name: str) -> bool:
    """True when every layer of `policy` allows `name` by an exact rule (which covers its calls)."""
    return policy.rules.get(name) == "allow" and all(_allowed_by_name(p, name) for p in policy.also)


def check_server_tools(policy: ApprovalPolicy, definitions: list[dict[str, Any]]) -> None:
    """Refuse a policy that would ask about or deny a hosted server tool, which no executor sees.

    A server tool (a definition with a `type`, such as the anthropic backend's `code_execution`,
    whose calls come back as `bash_code_execution` and `text_editor_code_execution`) runs on
    Anthropic's side; its calls are only reported after they ran, so nothing here could stop one.
    Saying so beats a policy that silently does nothing.
    """
    for definition in definitions:
        if "type" not in definition:
            continue
        names = [str(definition.get("name"))]
        if names[0] == "code_execution" and not _allowed_by_name(policy, "code_execution"):
            names = list(SERVER_TOOLS)  # a pattern or default reaches the names its calls come back as
        for name in names:
            if policy.decide(name) != "allow":
                raise UsageError(server_tool_refusal(name, policy.decide(name)))
