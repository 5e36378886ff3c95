"""`chat(approve=..., ask=...)`: approvals for one call; the session's executor and policy stay as they were."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


def _writes(*names: str) -> list[Any]:
    """A model that writes each file in its own turn, then says done."""
    replies: list[Any] = []
    for name in names:
        replies += [S.reply(S.tool_use("bash_tool", command=f"echo x > {name}", description=name)), "done"]
    return replies


def test_approve_asks_for_this_call_only() -> None:
    asked: list[str] = []

    def ask(request: cj.ApprovalRequest) -> bool:
        asked.append(request.input["command"])
        return False

    with cj.Session.new_local(model=S(_writes("a.txt", "b.txt"))) as s:
        before = s.executor
        s.chat("first", approve={"bash_tool": "ask"}, ask=ask)
        assert asked == ["echo x > a.txt"] and not (s.working_dir / "a.txt").exists()
        assert s.tool_log[-1].error_code == "denied"
        assert s.executor is before and not isinstance(s.executor, cj.ApprovalExecutor)
        s.chat("second")
        assert asked == ["echo x > a.txt"], "the next call does not ask"
        assert (s.working_dir / "b.txt").exists()
        assert [(a.tool, a.decision, a.by) for a in s.approvals] == [("bash_tool", "deny", "person")]


def test_a_calls_approve_never_lifts_the_sessions_deny_and_leaves_its_policy() -> None:
    standing = cj.ApprovalPolicy({"bash_tool": "deny"})
    executor = cj.ApprovalExecutor(cj.LocalExecutor(), standing)
    with cj.Session.new_local(model=S(_writes("a.txt")), executor=executor) as s:
        s.chat("go", approve="allow", ask=lambda request: True)
        assert not (s.working_dir / "a.txt").exists()
        assert s.approvals[-1].rule == "bash_tool: deny"
        assert s.executor is executor and executor.policy is standing and executor.ask is None


def test_without_an_asker_the_sessions_own_answers() -> None:
    answered: list[str] = []

    def ask(request: cj.ApprovalRequest) -> bool:
        answered.append(request.tool)
        return True

    executor = cj.ApprovalExecutor(cj.LocalExecutor(), "allow", ask=ask)
    with cj.Session.new_local(model=S(_writes("a.txt")), executor=executor) as s:
        s.chat("go", approve="ask")
        assert answered == ["bash_tool"] and (s.working_dir / "a.txt").exists()
        assert executor.policy.decide("bash_tool") == "allow"


def test_approve_works_on_achat_and_astream() -> None:
    asked: list[str] = []

    def ask(request: cj.ApprovalRequest) -> bool:
        asked.append(request.tool)
        return True

    async def both(s: cj.Session) -> list[str]:
        await s.achat("one", approve="ask", ask=ask)
        return [e.type async for e in s.astream("two", approve="ask", ask=ask)]

    with cj.Session.new_local(model=S(_writes("a.txt", "b.txt"))) as s:
        kinds = asyncio.run(both(s))
        assert asked == ["bash_tool", "bash_tool"] and "turn_finished" in kinds
        assert not isinstance(s.executor, cj.ApprovalExecutor)


def test_a_policy_that_would_gate_a_hosted_server_tool_is_refused_before_the_turn() -> None:
    with cj.Session.new_local(model=S(["never"])) as s:
        with pytest.raises(cj.UsageError, match="cannot be approved one by one"):
            s.chat("x", approve={"bash_code_execution": "ask"})
        assert s.messages == [], "nothing was sent"
