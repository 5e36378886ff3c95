"""Models: AnthropicModel against a loopback Messages API, FunctionModel, ScriptedModel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.models._base import ModelRequest
from conjure_nb.testing import FakeAnthropicServer

S = cj.ScriptedModel


@pytest.fixture
def server() -> Any:
    with FakeAnthropicServer() as srv:
        yield srv


def model_for(server: FakeAnthropicServer, **kw: Any) -> cj.AnthropicModel:
    return cj.AnthropicModel(
        model="claude-test", api_key="sk-test-key", base_url=server.url, max_retries=0, **kw
    )


def test_request_body_headers_and_reply(server: FakeAnthropicServer) -> None:
    server.replies.append(
        {"content": [{"type": "text", "text": "hi there"}], "usage": {"input_tokens": 3, "output_tokens": 2}}
    )
    reply = model_for(server).request(
        ModelRequest(
            [{"role": "user", "content": "hello"}], system="SYS", tools=cj.tool_definitions(), max_tokens=99
        )
    )
    assert reply["content"] == [{"type": "text", "text": "hi there"}]
    assert reply["stop_reason"] == "end_turn" and reply["usage"]["input_tokens"] == 3
    (rec,) = server.requests
    assert rec.path.startswith("/v1/messages")
    # SDK versions differ in the header that carries the key
    assert (
        rec.headers.get("x-api-key") == "sk-test-key"
        or rec.headers.get("authorization") == "Bearer sk-test-key"
    )
    assert "anthropic-version" in rec.headers
    assert rec.body is not None
    assert rec.body["model"] == "claude-test" and rec.body["max_tokens"] == 99 and rec.body["system"] == "SYS"
    assert [t["name"] for t in rec.body["tools"]] == ["view", "bash_tool", "create_file", "str_replace"]


def test_betas_and_container_use_the_beta_endpoint(server: FakeAnthropicServer) -> None:
    server.replies.append(
        {"content": "ok", "container": {"id": "cntr_1", "expires_at": "2026-01-01T00:00:00Z"}}
    )
    req = ModelRequest(
        [{"role": "user", "content": "x"}], betas=["skills-2025-10-02", "code-execution-2025-08-25"]
    )
    req.container = {"skills": [{"type": "anthropic", "skill_id": "xlsx", "version": "latest"}]}
    reply = model_for(server).request(req)
    (rec,) = server.requests
    assert "skills-2025-10-02" in rec.headers["anthropic-beta"]
    assert rec.body is not None and rec.body["container"]["skills"][0]["skill_id"] == "xlsx"
    assert reply["container"]["id"] == "cntr_1"


def test_streaming_assembles_the_same_message_with_every_block(server: FakeAnthropicServer) -> None:
    blocks = [
        {"type": "text", "text": "Let me look at that for you."},
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "bash_code_execution",
            "input": {"command": "ls"},
        },
        {
            "type": "bash_code_execution_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": {
                "type": "bash_code_execution_result",
                "stdout": "a\n",
                "stderr": "",
                "return_code": 0,
                "content": [],
            },
        },
        {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "bash_tool",
            "input": {"command": "echo", "description": "d"},
        },
    ]
    server.replies.append({"content": blocks, "stop_reason": "tool_use"})
    deltas: list[str] = []
    req = ModelRequest([{"role": "user", "content": "x"}], on_text=deltas.append)
    reply = model_for(server).request(req)
    assert "".join(deltas) == "Let me look at that for you." and len(deltas) > 1
    assert [b["type"] for b in reply["content"]] == [b["type"] for b in blocks]
    assert reply["content"][3]["input"] == {"command": "echo", "description": "d"}
    assert reply["content"][2]["content"]["return_code"] == 0
    assert server.requests[0].body is not None and server.requests[0].body["stream"] is True


def test_async_request_and_stream(server: FakeAnthropicServer) -> None:
    server.replies += [{"content": "plain"}, {"content": "streamed reply"}]
    model = model_for(server)
    deltas: list[str] = []

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        a = await model.arequest(ModelRequest([{"role": "user", "content": "x"}]))
        b = await model.arequest(ModelRequest([{"role": "user", "content": "y"}], on_text=deltas.append))
        return a, b

    a, b = asyncio.run(run())
    assert a["content"][0]["text"] == "plain" and b["content"][0]["text"] == "streamed reply"
    assert "".join(deltas) == "streamed reply"


@pytest.mark.parametrize(
    ("status", "etype", "words"),
    [
        (400, "invalid_request_error", "invalid"),
        (401, "authentication_error", "ANTHROPIC_API_KEY"),
        (429, "rate_limit_error", "rate limited"),
        (500, "api_error", "internal error"),
        (529, "overloaded_error", "overloaded"),
    ],
)
def test_error_statuses_map_to_clear_model_errors(
    server: FakeAnthropicServer, status: int, etype: str, words: str
) -> None:
    server.replies.append({"status": status, "error": {"type": etype, "message": f"fake {etype}"}})
    with pytest.raises(cj.ModelError) as info:
        model_for(server).request(ModelRequest([{"role": "user", "content": "x"}]))
    assert info.value.status == status
    assert words in str(info.value)
    assert "sk-test-key" not in str(info.value)


def test_unreachable_server_is_a_model_error() -> None:
    model = cj.AnthropicModel(api_key="k", base_url="http://127.0.0.1:9", max_retries=0, timeout=2)
    with pytest.raises(cj.ModelError, match="could not reach"):
        model.request(ModelRequest([{"role": "user", "content": "x"}]))


def test_missing_key_names_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(cj.UsageError) as info:
        cj.AnthropicModel()
    assert "api_key" in str(info.value) and "ANTHROPIC_API_KEY" in str(info.value)


def test_key_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret")
    model = cj.AnthropicModel()
    assert "sk-ant-very-secret" not in repr(model)


def test_real_requests_are_forbidden_in_the_suite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    with pytest.raises(cj.ModelError, match="forbidden"):
        cj.AnthropicModel().request(ModelRequest([{"role": "user", "content": "x"}]))


def test_session_with_anthropic_model_over_loopback(server: FakeAnthropicServer, tmp_path: Any) -> None:
    skill = tmp_path / "greeter"
    skill.mkdir()
    (skill / "SKILL.md").write_text(
        "---\nname: greeter\ndescription: Greets <people> & pets.\n---\nSay hi.\n"
    )
    server.replies += [
        {
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_a",
                    "name": "bash_tool",
                    "input": {"command": "echo loop", "description": "d"},
                }
            ]
        },
        {"content": "finished"},
    ]
    events: list[str] = []
    with cj.Session.new_local([skill], model=model_for(server)) as s:
        r = s.chat("run it", on_event=lambda e: events.append(e.type))
    assert r.text == "finished"
    second = server.requests[1].body
    assert second is not None
    assert second["messages"][-1]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_a",
        "content": "loop\n",
    }
    assert "<available_skills>" in second["system"]
    assert "Greets &lt;people&gt; &amp; pets." in second["system"]
    assert str(skill / "SKILL.md") in second["system"]
    assert "text_delta" in events


def test_function_model_gets_messages_or_request() -> None:
    seen: list[Any] = []

    def by_messages(messages: list[dict[str, Any]]) -> dict[str, Any]:
        seen.append(messages)
        return {"content": [{"type": "text", "text": "m"}]}

    def by_request(request: ModelRequest) -> str:
        seen.append(request)
        return "r"

    with cj.Session.new_local(model=by_messages) as s:
        assert s.chat("a").text == "m"
        assert isinstance(s.model, cj.FunctionModel)
    with cj.Session.new_local(model=cj.FunctionModel(by_request)) as s:
        assert s.chat("b").text == "r"
    assert isinstance(seen[0], list) and isinstance(seen[1], ModelRequest)
    assert seen[1].tools and "bash_tool" in [t["name"] for t in seen[1].tools]


def test_async_function_model_works_sync_and_async() -> None:
    async def fn(messages: list[dict[str, Any]]) -> str:
        await asyncio.sleep(0)
        return f"{len(messages)} message(s)"

    with cj.Session.new_local(model=fn) as s:
        assert s.chat("a").text == "1 message(s)"
        assert asyncio.run(s.achat("b")).text == "3 message(s)"


def test_scripted_model_says_what_it_is_and_runs_out_clearly() -> None:
    model = S(["one"])
    assert "fake" in repr(model) and "not a real model" in repr(model)
    with cj.Session.new_local(model=model) as s:
        s.chat("a")
        with pytest.raises(cj.ModelError, match="ran out of replies"):
            s.chat("b")


def test_bad_model_objects_are_rejected() -> None:
    with pytest.raises(TypeError, match="request"):
        cj.Session.new_local(model=42)
    with cj.Session.new_local(model=lambda messages: 42) as s, pytest.raises(cj.ModelError, match="int"):
        s.chat("x")


# -- options reach the wire (issue 16) ---------------------------------------------------------

OPTIONS: dict[str, Any] = {
    "temperature": 0,
    "top_p": 0.9,
    "top_k": 40,
    "stop_sequences": ["END"],
    "tool_choice": {"type": "auto"},
    "metadata": {"user_id": "u-1"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "repeat_penalty": 1.1,  # llama.cpp's own knob: no SDK has it
}


def _send(model: cj.AnthropicModel, req: ModelRequest, mode: str) -> dict[str, Any]:
    if mode == "async":
        return asyncio.run(model.arequest(req))
    return model.request(req)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("beta", [False, True])
def test_every_option_reaches_the_body(
    server: FakeAnthropicServer, mode: str, streamed: bool, beta: bool
) -> None:
    server.replies.append({"content": "ok"})
    deltas: list[str] = []
    req = ModelRequest(
        [{"role": "user", "content": "x"}],
        options=dict(OPTIONS),
        betas=["files-api-2025-04-14"] if beta else [],
        on_text=deltas.append if streamed else None,
    )
    reply = _send(model_for(server), req, mode)
    assert reply["content"][0]["text"] == "ok"
    (rec,) = server.requests
    assert rec.body is not None
    for key, value in OPTIONS.items():
        assert rec.body[key] == value, key
    assert rec.body.get("stream", False) is streamed
    assert ("files-api-2025-04-14" in rec.headers.get("anthropic-beta", "")) is beta
    assert "extra_body" not in rec.body


def test_model_level_sampling_settings_and_session_options(server: FakeAnthropicServer) -> None:
    server.replies += [{"content": "one"}, {"content": "two"}]
    model = model_for(server, temperature=0.2, top_k=5, options={"repeat_penalty": 1.3})
    model.request(ModelRequest([{"role": "user", "content": "x"}]))
    with cj.Session.new_local(model=model, options={"temperature": 0, "min_p": 0.05}) as s:
        assert s.chat("y").text == "two"
    first, second = (r.body for r in server.requests)
    assert first is not None and second is not None
    assert (first["temperature"], first["top_k"], first["repeat_penalty"]) == (0.2, 5, 1.3)
    assert "top_p" not in first  # settings left at None are not sent
    # the session's options win over the model's defaults; the rest stay
    assert (second["temperature"], second["top_k"], second["min_p"]) == (0, 5, 0.05)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"stream": True}, "'stream'"),
        ({"model": "other"}, "model="),
        ({"timeout": 3}, "timeout="),
        ({"extra_body": {"a": 1}}, "'extra_body'"),
        ({"temperature": object()}, "'temperature' cannot be sent"),
    ],
)
def test_an_option_that_cannot_be_sent_is_a_usage_error(
    server: FakeAnthropicServer, options: dict[str, Any], words: str
) -> None:
    with pytest.raises(cj.UsageError) as info:
        model_for(server).request(ModelRequest([{"role": "user", "content": "x"}], options=options))
    assert words in str(info.value)
    assert server.requests == []  # refused before anything was sent
    with pytest.raises(cj.UsageError, match=words.replace("(", r"\(")):
        model_for(server, options=options)


def test_session_options_never_raise_a_raw_type_error(server: FakeAnthropicServer) -> None:
    # the report: options={"temperature": 0} raised TypeError from Messages.create()
    server.replies.append({"content": "ok"})
    with cj.Session.new_local(model=model_for(server), options={"temperature": 0}) as s:
        assert s.chat("x").text == "ok"
    assert server.requests[0].body is not None and server.requests[0].body["temperature"] == 0


def test_an_option_the_server_rejects_is_a_model_error_with_its_message(server: FakeAnthropicServer) -> None:
    server.replies.append(
        {"status": 400, "error": {"type": "invalid_request_error", "message": "top_k: unknown field"}}
    )
    with pytest.raises(cj.ModelError) as info:
        model_for(server).request(ModelRequest([{"role": "user", "content": "x"}], options={"top_k": 3}))
    assert info.value.status == 400 and "top_k: unknown field" in str(info.value)
    assert "{" not in str(info.value)  # the message, not a dict repr


# -- replies that are not quite Anthropic's: the shapes a llama.cpp server sends ---------------

LLAMA_REPLY = {
    "id": "chatcmpl-2f9c1a",
    "model": "/models/qwen2.5-0.5b-instruct-q4_k_m.gguf",
    "content": [{"type": "text", "text": "Hello from llama"}],
    "usage": {"input_tokens": 9, "output_tokens": 4},  # no cache_* fields
}


@pytest.mark.parametrize("streamed", [False, True])
def test_llama_cpp_shaped_replies_work(server: FakeAnthropicServer, streamed: bool) -> None:
    server.replies.append(dict(LLAMA_REPLY))
    deltas: list[str] = []
    req = ModelRequest(
        [{"role": "user", "content": "hi"}],
        options={"temperature": 0},
        on_text=deltas.append if streamed else None,
    )
    reply = model_for(server).request(req)
    assert reply["content"][0]["text"] == "Hello from llama"
    assert reply["id"] == "chatcmpl-2f9c1a" and reply["model"].endswith(".gguf")
    assert reply["usage"]["input_tokens"] == 9
    assert ("".join(deltas) == "Hello from llama") is streamed


def test_llama_cpp_session_usage_counts_without_cache_fields(server: FakeAnthropicServer) -> None:
    server.replies += [dict(LLAMA_REPLY), dict(LLAMA_REPLY)]
    with cj.Session.new_local(model=model_for(server), options={"temperature": 0}) as s:
        s.chat("a")
        r = s.chat("b")
    assert r.usage == {"input_tokens": 9, "output_tokens": 4}
    assert s.usage == {"input_tokens": 18, "output_tokens": 8}


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (400, {"error": {"code": 400, "message": "'top_k' must be an integer", "type": "invalid_request_error"}},
         "'top_k' must be an integer"),
        (500, {"error": {"code": 500, "message": "\"messages\" is required", "type": "server_error"}},
         '"messages" is required'),
        (503, "Loading model", "Loading model"),
    ],
)  # fmt: skip
def test_openai_shaped_error_bodies_keep_their_message(
    server: FakeAnthropicServer, status: int, body: Any, words: str
) -> None:
    server.replies.append({"status": status, "body": body})
    with pytest.raises(cj.ModelError) as info:
        model_for(server).request(ModelRequest([{"role": "user", "content": "x"}]))
    assert info.value.status == status and words in str(info.value)


def test_retry_after_is_carried_on_the_error(server: FakeAnthropicServer) -> None:
    server.replies.append(
        {
            "status": 429,
            "error": {"type": "rate_limit_error", "message": "slow down"},
            "headers": {"retry-after": "7"},
        }
    )
    with pytest.raises(cj.ModelError) as info:
        model_for(server).request(ModelRequest([{"role": "user", "content": "x"}]))
    assert info.value.retry_after == 7.0


def test_split_params_follows_the_installed_sdk_signature() -> None:
    from conjure_nb.models._anthropic import split_params

    def sdk1_create(*, model: str, messages: list[Any], max_tokens: int, temperature: float = 1.0,
                    top_k: int = 0, extra_body: Any = None, timeout: Any = None) -> None: ...  # fmt: skip

    def sdk2_create(*, model: str, messages: list[Any], max_tokens: int, extra_body: Any = None) -> None: ...

    params = {
        "model": "m",
        "messages": [],
        "max_tokens": 5,
        "temperature": 0,
        "top_k": 3,
        "repeat_penalty": 1.1,
    }
    assert split_params(sdk1_create, params) == {
        "model": "m", "messages": [], "max_tokens": 5, "temperature": 0, "top_k": 3,
        "extra_body": {"repeat_penalty": 1.1},
    }  # fmt: skip
    assert split_params(sdk2_create, params) == {
        "model": "m", "messages": [], "max_tokens": 5,
        "extra_body": {"temperature": 0, "top_k": 3, "repeat_penalty": 1.1},
    }  # fmt: skip
