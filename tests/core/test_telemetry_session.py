"""The session's telemetry events, as DESIGN.md names them."""

from __future__ import annotations

from typing import Any

import conjure_nb as cj

S = cj.ScriptedModel


def test_chat_model_execute_and_backend_events() -> None:
    seen: list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = []
    events = [
        ("conjure", "chat", "start"),
        ("conjure", "chat", "stop"),
        ("conjure", "model", "request"),
        ("conjure", "execute", "start"),
        ("conjure", "execute", "stop"),
        ("conjure", "backend", "local", "tool_call"),
    ]
    cj.telemetry.attach("t-session", events, lambda e, m, md: seen.append((e, m, md)))
    try:
        model = S([S.reply(S.tool_use("bash_tool", command="true", description="d")), "ok"])
        with cj.Session.new_local(model=model) as s:
            s.chat("go")
    finally:
        cj.telemetry.detach("t-session")
    names = [e for e, _, _ in seen]
    assert names[0] == ("conjure", "chat", "start") and names[-1] == ("conjure", "chat", "stop")
    assert names.count(("conjure", "model", "request")) == 2
    stop = next(x for x in seen if x[0] == ("conjure", "execute", "stop"))
    assert stop[2]["tool"] == "bash_tool" and stop[2]["backend"] == "local" and stop[1]["duration_ms"] >= 0
    req = next(x for x in seen if x[0] == ("conjure", "model", "request"))
    assert req[1]["input_tokens"] == 10 and "duration_ms" in req[1]
    assert ("conjure", "backend", "local", "tool_call") in names


def test_the_model_of_each_call_is_observed_with_its_own_name_and_count() -> None:
    """Telemetry wraps the turn's model (the call's own, or the session's): iterations restart per turn."""
    seen: list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]] = []
    events = [("conjure", "model", "request"), ("conjure", "conversation", "iteration")]
    cj.telemetry.attach("t-model", events, lambda e, m, md: seen.append((e, m, md)))
    own = S(["mine"])
    other = S([S.reply(S.tool_use("bash_tool", command="true", description="d")), "theirs"])
    try:
        with cj.Session.new_local(model=own) as s:
            s.chat("one", model=other)
            s.chat("two")
    finally:
        cj.telemetry.detach("t-model")
    requests = [(md["model"], md["iteration"]) for e, _, md in seen if e == ("conjure", "model", "request")]
    names = ["replaying 2 scripted" in name for name, _ in requests]  # `other` has two replies, `own` one
    assert names == [True, True, False] and [n for _, n in requests] == [1, 2, 1]
    iterations = [m["iteration"] for e, m, _ in seen if e == ("conjure", "conversation", "iteration")]
    assert iterations == [1, 2, 1]
