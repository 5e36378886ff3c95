"""Approvals mean what they show (issue 20, item 4): a cell's --approve never lifts a standing deny,
a rule for a hosted server tool is refused rather than inert, invisible characters in an input are
shown as escapes and flagged, and every decision is kept in the session's log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import conjure_nb as cj
from conjure_nb.executors._approval import (
    ApprovalExecutor,
    ApprovalPolicy,
    ApprovalRecord,
    ApprovalRequest,
    ask_in_console,
    require_approval,
    reveal,
)

from .conftest import S
from .test_approval import HostedLike

# what a reviewer sees as `echo safe # txt.lla-mr` but runs `rm -all.txt`: U+202E reverses the rest
TRICK = "echo safe #\u202e txt.lla- mr\u200b; printf '\\x1b[2K'\x1b[2K"


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


def _session(ip: InteractiveShell, name: str = "default") -> cj.Session:
    from conjure_nb.notebook import loaded_magics

    return loaded_magics(ip).store.get(name).session


def test_a_cells_approve_never_lifts_the_sessions_deny(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell.user_ns["m"] = S(
        ["hi", S.reply(S.tool_use("bash_tool", command="echo ran > x.txt", description="x")), "done"]
    )
    prompts = _answers(monkeypatch, "y")
    with capture_output():
        assert shell.run_cell("%%conjure chat --model m --no-stream\nhello").error_in_exec is None
    session = _session(shell)
    require_approval(session, {"bash_tool": "deny"})  # the standing policy
    with capture_output():
        ran = shell.run_cell("%%conjure chat --no-stream --approve\nwrite x")
    assert ran.error_in_exec is None
    assert prompts == [], "a denied tool is not asked about: the deny stands"
    assert not (session.working_dir / "x.txt").exists()
    assert session.tool_log[-1].error_code == "denied"
    assert isinstance(session.executor, ApprovalExecutor)
    assert session.executor.policy.decide("bash_tool") == "deny", "the standing policy is back after the cell"
    assert session.approvals[-1].decision == "deny" and session.approvals[-1].rule == "bash_tool: deny"


def test_stricter_takes_the_stricter_rule_per_tool() -> None:
    standing = ApprovalPolicy({"bash_tool": "deny", "view": "ask"}, default="allow")
    cell = ApprovalPolicy({"bash_tool": "ask", "create_file": "ask"})
    both = cell.stricter(standing)
    assert [both.decide(t) for t in ("bash_tool", "view", "create_file", "str_replace")] == [
        "deny",
        "ask",
        "ask",
        "allow",
    ]


@pytest.mark.parametrize("tool", ["bash_code_execution", "text_editor_code_execution", "code_execution"])
def test_a_rule_for_a_hosted_server_tool_is_refused_never_inert(tool: str, tmp_path: Path) -> None:
    with pytest.raises(cj.UsageError, match="cannot be approved one by one"):
        ApprovalPolicy({tool: "deny"})
    with pytest.raises(cj.UsageError, match="cannot be approved one by one"):  # a pattern on a hosted session
        cj.Session(
            (),
            S(["x"]),
            executor=ApprovalExecutor(HostedLike(), {"*code_execution": "ask"}),
            working_dir=tmp_path,
        )
    with cj.Session((), S(["x"]), executor=HostedLike()) as s:
        with pytest.raises(cj.UsageError, match=tool if tool != "code_execution" else "code_execution"):
            require_approval(s, {"*_execution": "deny"})


def test_the_magic_refuses_approve_on_a_hosted_session_in_one_line(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conjure_nb.notebook import loaded_magics

    shell.user_ns["m"] = S(["hi", "never"])
    with capture_output():
        shell.run_cell("%%conjure chat --model m --no-stream\nhello")
    session = _session(shell)
    session.executor = HostedLike()  # what an anthropic session offers: a server tool only
    with capture_output():
        ran = shell.run_cell("%%conjure chat --no-stream --approve\nagain")
    assert "cannot be approved one by one" in str(ran.error_in_exec)
    assert type(ran.error_in_exec).__name__ == "UsageError"
    assert loaded_magics(shell) is not None


def test_reveal_escapes_and_names_what_cannot_be_seen() -> None:
    shown, kinds = reveal(TRICK)
    assert "\u202e" not in shown and "\u200b" not in shown and "\x1b" not in shown
    assert "\\u202e" in shown and "\\u200b" in shown and "\\x1b" in shown
    assert kinds == ["U+202E RIGHT-TO-LEFT OVERRIDE", "U+200B ZERO WIDTH SPACE", "U+001B CONTROL CHARACTER"]
    assert reveal("plain\ttext\nline") == ("plain\ttext\nline", [])


def test_the_console_prompt_shows_escapes_and_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = _answers(monkeypatch, "n")
    request = ApprovalRequest(cj.ToolCall("t1", "bash_tool", {"command": TRICK}), "local")
    with capture_output() as io:
        assert ask_in_console(request) is False
    assert "\u202e" not in io.stdout and "\x1b" not in io.stdout
    assert "\\u202e" in io.stdout and "Warning:" in io.stdout and "RIGHT-TO-LEFT OVERRIDE" in io.stdout
    assert prompts == ["Run bash_tool? [y/N] "]


def test_the_approval_card_shows_escapes_and_a_warning() -> None:
    from conjure_nb.notebook.panels._turn_view import ApprovalCard

    request = ApprovalRequest(cj.ToolCall("t1", "bash_tool", {"command": TRICK}), "docker")
    html = ApprovalCard(request).header.value
    assert "\u202e" not in html and "\u200b" not in html and "\x1b" not in html
    assert "\\u202e" in html and "RIGHT-TO-LEFT OVERRIDE" in html and "conjure-approval-warning" in html


def _digest(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_decision_is_logged_and_saved_with_the_session(tmp_path: Path) -> None:
    calls = [
        S.tool_use("bash_tool", command="echo one", description="1"),
        S.tool_use("bash_tool", command=TRICK, description="2"),
        S.tool_use("view", path="."),
    ]
    model = S([S.reply(calls[0]), S.reply(calls[1]), S.reply(calls[2]), "done"])
    answers = iter([True, False])
    policy = {"bash_tool": "ask", "view": "allow"}
    executor = ApprovalExecutor(cj.LocalExecutor(), policy, ask=lambda request: next(answers))
    with cj.Session((), model, executor=executor) as s:
        s.chat("go")
        log = list(s.approvals)
        s.save(tmp_path / "s.json")
    assert [(r.tool, r.decision, r.by, r.rule) for r in log] == [
        ("bash_tool", "allow", "person", "bash_tool: ask"),
        ("bash_tool", "deny", "person", "bash_tool: ask"),
        ("view", "allow", "rule", "view: allow"),
    ]
    assert [r.input_sha256 for r in log] == [_digest(c["input"]) for c in calls]
    assert [r.tool_use_id for r in log] == [c["id"] for c in calls]
    assert log[1].flagged and not log[0].flagged
    assert all(r.at.endswith("Z") for r in log)
    saved = json.loads((tmp_path / "s.json").read_text())
    assert [a["decision"] for a in saved["approvals"]] == ["allow", "deny", "allow"]
    loaded = cj.Session.load(tmp_path / "s.json", backend="local")
    try:
        assert loaded.approvals == log and all(isinstance(r, ApprovalRecord) for r in loaded.approvals)
        wrapper = require_approval(loaded, "deny")
        loaded.run_tool("bash_tool", command="echo x", description="x")
        assert len(loaded.approvals) == 4 and wrapper.log is loaded.approvals
    finally:
        loaded.close()
