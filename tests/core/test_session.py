"""Session bookkeeping: usage, reset, the Response's notebook rendering, events on the sync path."""

from __future__ import annotations

import contextlib
import json

import conjure_nb as cj

S = cj.ScriptedModel


def test_usage_sums_over_turns_and_reset_forgets_the_conversation() -> None:
    model = S(["a", S.reply(S.tool_use("bash_tool", command="echo hi > f.txt", description="d")), "b", "c"])
    with cj.Session.new_local(model=model) as s:
        s.chat("one")
        r = s.chat("two")
        assert r.usage == {"input_tokens": 20, "output_tokens": 10}
        assert s.usage == {"input_tokens": 30, "output_tokens": 15}
        s.reset()
        assert s.messages == [] and s.usage == {}
        assert len(s.tool_log) == 1 and len(s.created_files) == 1  # what happened stays on record
        s.chat("three")
        assert [m["role"] for m in model.requests[-1].messages] == ["user"]


def test_response_renders_answer_first_with_the_trace_folded() -> None:
    model = S(
        [
            S.reply(S.tool_use("bash_tool", command="printf x > out.csv; exit 4", description="d")),
            S.reply("**Done.** The file is out.csv.", stop_reason="max_tokens"),
        ]
    )
    with cj.Session.new_local(model=model) as s:
        r = s.chat("go")
    assert not hasattr(r, "_repr_markdown_"), "untrusted text must never be shown as text/markdown"
    md = r._repr_mimebundle_()[0]["text/html"]
    assert md.startswith(
        '<div class="conjure-nb" style="line-height:1.45"><p><strong>Done.</strong> The file'
    )
    assert "stopped: max_tokens" in md and "out.csv" in md
    assert "<details>" in md and "<code>bash_tool</code>" in md and "(exit 4)" in md
    assert md.index("Done.") < md.index("out.csv") < md.index("<details>"), "answer, files, then the trace"
    # a ScriptedModel wrote it: named by a badge, and its made-up tokens are not shown as usage
    assert r.fake_model == "scripted model, offline" and "scripted model, offline" in md
    assert r.usage and "Tokens" not in md and "input tokens" not in md
    assert "Done." in repr(r) and "stop_reason=max_tokens" in repr(r)
    assert r.truncated and str(r) == r.text
    json.dumps(r.to_dict())


def test_sync_events_arrive_in_order() -> None:
    seen: list[str] = []
    model = S(
        [S.reply("thinking", S.tool_use("bash_tool", command="echo a > a.txt", description="d")), "ok"],
        chunk_size=5,
    )
    with cj.Session.new_local(model=model) as s:
        s.chat("go", on_event=lambda e: seen.append(e.type))
    assert seen == [
        "model_request_start",
        "text_delta",
        "text_delta",
        "model_request_stop",
        "tool_call_started",
        "tool_call_finished",
        "file_created",
        "model_request_start",
        "text_delta",
        "model_request_stop",
        "turn_finished",
    ]


def test_a_user_message_left_by_an_interrupted_request_is_merged() -> None:
    def failing(messages: list[dict[str, object]]) -> dict[str, object]:
        raise cj.ModelError("down")

    with cj.Session.new_local(model=failing) as s:
        with contextlib.suppress(cj.ModelError):
            s.chat("first")
        s.model = S(["answer"])
        s.chat("second")
        assert [m["role"] for m in s.messages] == ["user", "assistant"]
        assert [b["text"] for b in s.messages[0]["content"]] == ["first", "second"]


def test_loading_something_that_is_not_a_session_is_a_clear_error(tmp_path: object) -> None:
    import pathlib

    import pytest

    bad = pathlib.Path(str(tmp_path)) / "bad.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(cj.UsageError, match="not a saved conjure_nb session"):
        cj.Session.load(bad)
    with pytest.raises(cj.UsageError, match="cannot load a session"):
        cj.Session.load(bad.with_name("missing.json"))
    bad.write_text('{"version": 1, "tool_log": [{"tool": "x", "surprise": 1}]}')
    with pytest.raises(cj.UsageError, match="does not know"):
        cj.Session.load(bad)
