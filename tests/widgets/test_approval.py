"""Approvals as a wrapper on the executor seam: allow / deny / ask, on every backend."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors._approval import (
    ApprovalExecutor,
    ApprovalPolicy,
    ApprovalRequest,
    require_approval,
)

from .conftest import S, tool_pairs_consistent, wait_until


class Marker(cj.NativeSkill):
    """A native skill whose calls leave a mark, so a denied call can be seen not to have run."""

    name = "marker"
    description = "Writes a mark file."

    def execute(self, command: str, context: cj.Context) -> str:
        Path(context.working_dir, command).write_text("ran")
        return f"marked {command}"


def _mark_call(backend: str, name: str) -> dict[str, Any]:
    if backend == "native":
        return S.tool_use("marker_execute", command=name)
    return S.tool_use("bash_tool", command=f"echo ran > {name} && echo marked {name}", description="mark")


def _session(backend: str, model: Any, policy: Any, ask: Any, docker_image: str | None = None) -> cj.Session:
    if backend == "native":
        inner: cj.Executor = cj.NativeExecutor([Marker()])
    elif backend == "docker":
        inner = cj.DockerExecutor(image=docker_image)
    else:
        inner = cj.LocalExecutor()
    return cj.Session((), model, executor=ApprovalExecutor(inner, policy, ask=ask))


def _tool_results(session: cj.Session) -> list[dict[str, Any]]:
    return [b for m in session.messages for b in m["content"] if b.get("type") == "tool_result"]


def _run_policy_scenarios(backend: str, docker_image: str | None = None) -> str | None:
    asked: list[ApprovalRequest] = []

    def ask(request: ApprovalRequest) -> bool:
        asked.append(request)
        return request.input.get("command", "").find("yes") >= 0

    model = S(
        [
            S.reply(_mark_call(backend, "yes-1")),
            S.reply(_mark_call(backend, "no-1")),
            "carried on",
        ]
    )
    rules = {"marker_execute": "ask", "bash_tool": "ask"}
    with _session(backend, model, ApprovalPolicy(rules), ask, docker_image) as s:
        response = s.chat("go")
        assert response.text == "carried on"
        results = _tool_results(s)
        assert "marked yes-1" in results[0]["content"]
        assert results[0].get("is_error") is not True
        assert results[1]["is_error"] is True
        assert "The user denied this tool call" in results[1]["content"]
        assert (s.working_dir / "yes-1").exists()
        assert not (s.working_dir / "no-1").exists(), "a denied call must not run"
        assert [r.tool for r in asked] == [s.tool_log[0].tool] * 2
        assert all(r.backend == backend for r in asked)
        assert [rec.backend for rec in s.tool_log] == [backend, backend]
        assert s.tool_log[1].error_code == "denied"
        assert tool_pairs_consistent(s.messages)
        return s.container_id


@pytest.mark.parametrize("backend", ["local", "native"])
def test_ask_runs_approved_calls_and_denies_the_rest(backend: str) -> None:
    _run_policy_scenarios(backend)


@pytest.mark.docker
def test_ask_on_docker(docker_image: str) -> None:
    import docker

    container = _run_policy_scenarios("docker", docker_image)
    assert container, "the approved call ran in a sandbox container"
    client = docker.from_env()
    try:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container)  # closing the wrapper closed the sandbox
    finally:
        client.close()


@pytest.mark.parametrize("backend", ["local", "native"])
def test_deny_rule_never_runs_and_never_asks(backend: str) -> None:
    def ask(request: ApprovalRequest) -> bool:
        raise AssertionError("a deny rule must not ask")

    model = S([S.reply(_mark_call(backend, "m")), "ok"])
    with _session(backend, model, "deny", ask) as s:
        s.chat("go")
        result = _tool_results(s)[0]
        assert result["is_error"] is True and "denies" in result["content"]
        assert not (s.working_dir / "m").exists()


def test_allow_is_the_default_and_patterns_match() -> None:
    policy = ApprovalPolicy({"*_execute": "ask", "view": "deny"})
    assert policy.decide("bash_tool") == "allow"
    assert policy.decide("marker_execute") == "ask"
    assert policy.decide("view") == "deny"
    exact_wins = ApprovalPolicy({"*": "deny", "view": "allow"})
    assert exact_wins.decide("view") == "allow"
    assert exact_wins.decide("bash_tool") == "deny"


def test_a_bad_decision_names_the_rule_and_the_choices() -> None:
    with pytest.raises(cj.UsageError, match=r"'bash_tool' is 'maybe'; use one of allow, deny, ask"):
        ApprovalPolicy({"bash_tool": "maybe"})  # type: ignore[dict-item]


def test_ask_without_anyone_to_ask_is_denied_saying_so() -> None:
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="x")), "ok"])
    with _session("local", model, "ask", None) as s:
        s.chat("go")
        result = _tool_results(s)[0]
        assert result["is_error"] is True
        assert "no one was asked" in result["content"]


def test_an_asker_that_raises_denies_the_call_without_breaking_the_turn() -> None:
    def ask(request: ApprovalRequest) -> bool:
        raise RuntimeError("the prompt broke")

    model = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="x")), "ok"])
    with _session("local", model, "ask", ask) as s:
        assert s.chat("go").text == "ok"
        assert "asking for approval failed: RuntimeError: the prompt broke" in _tool_results(s)[0]["content"]


def test_answer_later_and_cancel_denies_what_is_still_waiting() -> None:
    shown: list[ApprovalRequest] = []
    executor = ApprovalExecutor(cj.LocalExecutor(), "ask", ask=lambda r: shown.append(r) and None)
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="x")), "ok"])
    with cj.Session((), model, executor=executor) as s:
        thread = threading.Thread(target=s.chat, args=("go",))
        thread.start()
        wait_until(lambda: shown, "the approval request")
        assert executor.pending == shown
        executor.cancel()
        thread.join(20)
        assert not thread.is_alive()
        result = _tool_results(s)[0]
        assert result["is_error"] is True and "stopped before anyone answered" in result["content"]
        assert executor.pending == []


def test_the_first_answer_wins() -> None:
    request = ApprovalRequest(cj.ToolCall("t1", "bash_tool", {"command": "ls"}), "local")
    assert request.pending and request.wait(0) is None
    assert request.approve() is True
    assert request.deny("too late") is False
    assert request.approved is True and not request.pending


def test_ask_timeout_denies() -> None:
    executor = ApprovalExecutor(cj.LocalExecutor(), "ask", ask=lambda r: None, ask_timeout=0.05)
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="x")), "ok"])
    with cj.Session((), model, executor=executor) as s:
        s.chat("go")
        assert "no answer within 0.05 s" in _tool_results(s)[0]["content"]


def test_require_approval_wraps_an_existing_session_once() -> None:
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="x")), "ok"])
    with cj.Session.new_local([], model) as s:
        inner = s.executor
        first = require_approval(s, {"bash_tool": "deny"})
        second = require_approval(s, {"bash_tool": "allow"})
        assert first is second and s.executor is first and first.inner is inner
        assert s.backend == "local"
        assert s.chat("go").text == "ok"
        assert _tool_results(s)[0].get("is_error") is not True
        with pytest.raises(cj.UsageError, match="takes its backend name"):
            first.backend = "docker"


def test_wrapping_a_class_instead_of_an_instance_names_the_fix() -> None:
    with pytest.raises(cj.UsageError, match=r"pass LocalExecutor\(\)"):
        ApprovalExecutor(cj.LocalExecutor)  # type: ignore[arg-type]


class HostedLike(cj.Executor):
    """An executor offering a server tool, as the anthropic backend does."""

    backend = "anthropic"

    def run(self, call: cj.ToolCall) -> cj.ToolResult:
        return cj.ToolResult("not a client tool", True)

    def tool_definitions(self) -> list[dict[str, Any]]:
        return [{"type": "code_execution_20250825", "name": "code_execution"}]


def test_a_policy_that_cannot_stop_a_hosted_server_tool_is_refused(tmp_path: Path) -> None:
    # working_dir given: a session whose construction fails still leaves its private dir (core, issue 8)
    with pytest.raises(cj.UsageError, match="run on Anthropic's servers and cannot be approved one by one"):
        cj.Session((), S(["x"]), executor=ApprovalExecutor(HostedLike(), "ask"), working_dir=tmp_path)
    with cj.Session((), S(["x"]), executor=HostedLike()) as s:
        with pytest.raises(cj.UsageError, match="'code_execution'"):
            require_approval(s, {"code_execution": "deny"})
        assert not isinstance(s.executor, ApprovalExecutor), "a refused policy changes nothing"
        require_approval(s, {"code_execution": "allow", "*": "ask"})
