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
