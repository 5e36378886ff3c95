"""`%%conjure chat --approve`: tool calls ask in the cell (input()) before they run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from .conftest import S


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    ip = InteractiveShell.instance()
    ip.config.pop("ConjureMagics", None)
    ip.run_line_magic("load_ext", "conjure_nb")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "conjure_nb")
        ip.reset(new_session=False)


def _answers(monkeypatch: pytest.MonkeyPatch, *replies: str) -> list[str]:
    prompts: list[str] = []
    queue = list(replies)

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return queue.pop(0)

    monkeypatch.setattr("builtins.input", fake_input)
    return prompts


def _cell(ip: InteractiveShell, line: str, body: str) -> Any:
    with capture_output() as io:
        result = ip.run_cell(f"%%conjure {line}\n{body}")
    assert result.error_in_exec is None and result.error_before_exec is None, result
    return io


def test_approve_asks_in_the_cell_and_a_no_is_a_denied_result(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.user_ns["m"] = S(
        [
            S.reply(S.tool_use("bash_tool", command="echo yes-ran > y.txt", description="first")),
            S.reply(S.tool_use("bash_tool", command="echo no-ran > n.txt", description="second")),
            "done",
        ]
    )
    prompts = _answers(monkeypatch, "y", "n")
    io = _cell(shell, "chat --model m --no-stream --approve -o r", "write two files")
    assert prompts == ["Run bash_tool? [y/N] "] * 2
    assert '"command": "echo yes-ran > y.txt"' in io.stdout, "the full input is shown"
    assert shell.user_ns["r"].text == "done"
    (session,) = _sessions(shell)
    assert (session.working_dir / "y.txt").exists() and not (session.working_dir / "n.txt").exists()
    results = [b for m in session.messages for b in m["content"] if b.get("type") == "tool_result"]
    assert results[1]["is_error"] is True and "The user denied this tool call" in results[1]["content"]


def test_without_approve_nothing_asks_even_on_a_session_that_asked_before(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.user_ns["m"] = S(
        [
            S.reply(S.tool_use("bash_tool", command="echo a", description="a")),
            "one",
            S.reply(S.tool_use("bash_tool", command="echo b", description="b")),
            "two",
        ]
    )
    prompts = _answers(monkeypatch, "yes")
    _cell(shell, "chat --model m --no-stream --approve bash_tool", "first")
    _cell(shell, "chat --model m --no-stream", "second")
    assert prompts == ["Run bash_tool? [y/N] "], "the second cell did not ask"


def test_approve_names_an_unknown_tool(shell: InteractiveShell) -> None:
    shell.user_ns["m"] = S(["unused"])
    with capture_output():
        result = shell.run_cell("%%conjure chat --model m --approve bash_toool\nhi")
    assert "no tool bash_toool" in str(result.error_in_exec)


def _sessions(ip: InteractiveShell) -> list[Any]:
    from conjure_nb.notebook import loaded_magics

    magics = loaded_magics(ip)
    return [opened.session for _name, opened in magics.store]


def test_after_an_approve_cell_the_sessions_executor_and_policy_are_what_they_were(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import conjure_nb as cj

    shell.user_ns["m"] = S(
        [
            "hi",
            S.reply(S.tool_use("bash_tool", command="echo a", description="a")),
            "one",
            S.reply(S.tool_use("bash_tool", command="echo b", description="b")),
            "two",
        ]
    )
    prompts = _answers(monkeypatch, "y", "y")
    _cell(shell, "chat --model m --no-stream", "hello")
    (session,) = _sessions(shell)
    plain = session.executor
    _cell(shell, "chat --no-stream --approve", "first")
    assert session.executor is plain and not isinstance(plain, cj.ApprovalExecutor), "nothing was wrapped"
    standing = cj.require_approval(session, {"view": "deny"})
    policy, ask = standing.policy, standing.ask
    _cell(shell, "chat --no-stream --approve bash_tool", "second")
    assert prompts == ["Run bash_tool? [y/N] "] * 2
    assert session.executor is standing and (standing.policy, standing.ask) == (policy, ask)
    assert standing.policy is policy


def test_a_call_waiting_for_approval_says_so_in_the_live_view(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the cell asks, the call's live row reads "waiting for approval", not "running"."""
    shell.user_ns["m"] = S([S.reply(S.tool_use("bash_tool", command="echo hi", description="a")), "done"])
    seen: list[str] = []

    def answer(prompt: str = "") -> str:
        seen.append(prompt)
        return "y"

    monkeypatch.setattr("builtins.input", answer)
    with capture_output() as io:
        result = shell.run_cell("%%conjure chat --model m --approve\ngo")
    assert result.error_in_exec is None
    htmls = [str(o.data.get("text/html", "")) for o in io.outputs]
    rows = [h for h in htmls if "echo hi" in h]
    assert seen == ["Run bash_tool? [y/N] "]
    assert any(">waiting for approval<" in h for h in rows), rows
    waiting = next(i for i, h in enumerate(htmls) if ">waiting for approval<" in h)
    assert any(">running<" in h or ">ok<" in h for h in htmls[waiting + 1 :]), "then it runs"
