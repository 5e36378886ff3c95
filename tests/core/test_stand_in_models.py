"""Stand-in models say what they are, by one rule (`fake_label`), and the session keeps their
made-up token counts apart from real usage (`Session.invented_usage`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.models._base import fake_label
from conjure_nb.testing import FakeAnthropicServer

S = cj.ScriptedModel


def reply(tokens_in: int, tokens_out: int) -> Any:
    """A model function answering with the usage it is given."""

    def fn(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"content": "ok", "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}

    return fn


def test_function_models_are_offline_or_real_only_when_the_user_says_so() -> None:
    unknown = cj.FunctionModel(reply(1, 1))
    assert fake_label(unknown) == "function model", "what it calls is unknown: not claimed offline"
    assert "not known" in repr(unknown)
    offline = cj.FunctionModel(reply(1, 1), offline=True)
    assert fake_label(offline) == "function model, offline" and "offline" in repr(offline)
    real = cj.FunctionModel(reply(1, 1), real=True)
    assert fake_label(real) is None and "real model" in repr(real)
    with pytest.raises(cj.UsageError, match="pass the one that is true"):
        cj.FunctionModel(reply(1, 1), offline=True, real=True)
    # a plain callable is a FunctionModel: named, not claimed offline
    with cj.Session.new_local(model=reply(1, 1)) as s:
        assert s.chat("hi").fake_model == "function model"
    assert fake_label(S([])) == "scripted model, offline"


def test_an_anthropic_model_at_a_fake_server_is_named_while_the_server_runs() -> None:
    with FakeAnthropicServer([{"content": [{"type": "text", "text": "hi"}]}]) as server:
        port = server.url.rsplit(":", 1)[1]
        model = cj.AnthropicModel(base_url=server.url, api_key="k", max_retries=0)
        assert fake_label(model) == "fake Anthropic server, offline"
        assert fake_label(cj.AnthropicModel(base_url=f"http://localhost:{port}/", api_key="k"))
        with cj.Session.new_local(model=model) as s:
            r = s.chat("hi")
            assert r.fake_model == "fake Anthropic server, offline"
            assert s.invented_usage == s.usage == {"input_tokens": 12, "output_tokens": 7}
        html = r._repr_mimebundle_()[0]["text/html"]
        assert "fake Anthropic server, offline" in html and "Tokens" not in html
    assert fake_label(model) is None, "the server stopped: the address may be a real server's next"
    assert fake_label(cj.AnthropicModel(base_url="https://api.example.com", api_key="k")) is None


def test_the_session_keeps_a_stand_ins_counts_apart_from_real_usage(tmp_path: Any) -> None:
    with cj.Session.new_local(model=S(["one"])) as s:
        s.chat("scripted")  # 10 in / 5 out, made up
        r = s.chat("real", model=cj.FunctionModel(reply(100, 20), real=True))
        assert r.fake_model is None
        assert s.usage == {"input_tokens": 110, "output_tokens": 25}, "usage: what every turn reported"
        assert s.invented_usage == {"input_tokens": 10, "output_tokens": 5}
        path = s.save(tmp_path / "s.json")
        assert json.loads(path.read_text())["invented_usage"] == {"input_tokens": 10, "output_tokens": 5}
        again = cj.Session.load(path, backend="local")
        try:
            assert again.invented_usage == s.invented_usage and again.usage == s.usage
        finally:
            again.close()
        s.reset()
        assert s.usage == {} and s.invented_usage == {}


def test_a_failed_turns_made_up_counts_are_kept_apart_too() -> None:
    loop = S([S.reply(S.tool_use("bash_tool", command="true", description="d"))] * 3)
    with cj.Session.new_local(model=loop, max_iterations=2) as s:
        with pytest.raises(cj.MaxIterationsError):
            s.chat("go")
        assert s.usage == s.invented_usage == {"input_tokens": 20, "output_tokens": 10}


def test_a_saved_session_from_before_invented_usage_loads() -> None:
    with cj.Session.new_local(model=S(["a"])) as s:
        s.chat("hi")
        data = s.to_dict()
    del data["invented_usage"]
    again = cj.Session.new_local(state=data)
    try:
        assert again.invented_usage == {} and again.usage == data["usage"]
    finally:
        again.close()
    with pytest.raises(cj.UsageError, match="'invented_usage'"):
        cj.Session.new_local(state={**data, "invented_usage": {"input_tokens": "9"}})


def test_telemetry_says_which_token_counts_are_a_stand_ins() -> None:
    seen: list[tuple[Any, ...]] = []
    events = [("conjure", "chat", "stop"), ("conjure", "model", "request")]
    cj.telemetry.attach("stand-in-test", events, lambda e, m, md: seen.append((e, m, md)))
    try:
        with cj.Session.new_local(model=S(["made up"])) as s:
            s.chat("scripted")
            s.chat("real", model=cj.FunctionModel(reply(7, 3), real=True))
    finally:
        cj.telemetry.detach("stand-in-test")
    labels = [(e[1], md["fake_model"], m["input_tokens"]) for e, m, md in seen]
    assert labels == [
        ("model", "scripted model, offline", 10),
        ("chat", "scripted model, offline", 10),
        ("model", None, 7),
        ("chat", None, 7),
    ]


def test_a_monitoring_result_names_the_stand_in_that_drove_it() -> None:
    facts = dict(mode="agent", backend="local", url="http://x", logs_fetched=3, analysis={},
                 health_status="healthy", health_rule="no errors")  # fmt: skip
    driven = cj.MonitoringResult(**facts, fake_model="scripted model, offline")  # type: ignore[arg-type]
    html = driven._repr_mimebundle_()[0]["text/html"]
    assert 'mode <b>agent</b> <span class="conjure-fake-model"' in html and "scripted model, offline" in html
    assert driven.to_dict()["fake_model"] == "scripted model, offline"
    real = cj.MonitoringResult(**facts)  # type: ignore[arg-type]
    assert "conjure-fake-model" not in real._repr_mimebundle_()[0]["text/html"]
