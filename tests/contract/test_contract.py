"""One set of loop scenarios, run against every backend (local, native, docker)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


def results_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        b for m in messages if m["role"] == "user" for b in m["content"] if b.get("type") == "tool_result"
    ]


def assert_consistent(messages: list[dict[str, Any]]) -> None:
    """Every tool_use has exactly one tool_result, in the next message."""
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        ids = [b["id"] for b in msg["content"] if b.get("type") == "tool_use"]
        if not ids:
            continue
        nxt = messages[i + 1]
        got = [b["tool_use_id"] for b in nxt["content"] if b.get("type") == "tool_result"]
        assert got == ids


def test_single_tool(backend: Any) -> None:
    model = S([S.reply("checking", backend.call("echo", "hello-contract")), "all done"])
    with backend.make(model) as s:
        r = s.chat("say hello")
    assert r.text == "all done"
    assert r.stop_reason == "end_turn"
    (res,) = results_of(r.messages)
    assert "hello-contract" in res["content"] and not res.get("is_error")
    assert len(r.tool_calls) == 1 and r.tool_calls[0].backend == backend.backend
    assert r.iterations == 2 and r.usage["input_tokens"] == 20
    assert_consistent(s.messages)


def test_parallel_tools_run_concurrently_and_keep_order(backend: Any) -> None:
    # the first call waits for a signal only the second call gives: sequential runs would fail
    calls = [backend.call("wait", "go"), backend.call("signal", "go"), backend.call("echo", "third")]
    model = S([S.reply(*calls), "ok"])
    with backend.make(model) as s:
        r = s.chat("parallel")
    res = results_of(r.messages)
    assert [b["tool_use_id"] for b in res] == [c["id"] for c in calls]
    assert "waited" in res[0]["content"]
    assert "signalled" in res[1]["content"]
    assert "third" in res[2]["content"]


def test_failing_tool_is_data_for_the_model(backend: Any) -> None:
    model = S([S.reply(backend.call("fail", 3, "partial-out", "bad-thing")), "saw the failure"])
    with backend.make(model) as s:
        r = s.chat("fail please")
    (res,) = results_of(r.messages)
    assert res["is_error"] is True
    assert "3" in res["content"] and "partial-out" in res["content"] and "bad-thing" in res["content"]
    assert r.tool_calls[0].is_error
    assert r.text == "saw the failure"


def test_timeout_is_reported_with_its_own_id(backend: Any) -> None:
    slow, fast = backend.call("sleep", 30), backend.call("echo", "quick")
    model = S([S.reply(slow, fast), "ok"])
    with backend.make(model, timeout=1) as s:
        r = s.chat("slow")
    res = {b["tool_use_id"]: b for b in results_of(r.messages)}
    assert res[slow["id"]]["is_error"] is True
    assert "timed out" in res[slow["id"]]["content"]
    assert "quick" in res[fast["id"]]["content"]


def test_unknown_tool(backend: Any) -> None:
    model = S([S.reply(S.tool_use("no_such_tool", x=1)), "ok"])
    with backend.make(model) as s:
        r = s.chat("x")
    (res,) = results_of(r.messages)
    assert res["is_error"] and "Unknown tool 'no_such_tool'" in res["content"]
    assert s.tool_log[0].error_code == "unknown_tool"


def test_malformed_input(backend: Any) -> None:
    good = backend.call("echo", "x")
    bad = [S.tool_use(good["name"]), S.tool_use(good["name"], **{**good["input"], "command": 123})]
    model = S([S.reply(*bad), "ok"])
    with backend.make(model) as s:
        r = s.chat("x")
    res = results_of(r.messages)
    assert all(b["is_error"] for b in res)
    assert "missing required input" in res[0]["content"]
    assert "must be string" in res[1]["content"]


def test_max_iterations_keeps_a_consistent_transcript(backend: Any) -> None:
    model = S([S.reply(backend.call("echo", i)) for i in range(5)])
    with backend.make(model, max_iterations=3) as s:
        with pytest.raises(cj.MaxIterationsError) as info:
            s.chat("loop forever")
        assert info.value.iterations == 3
        assert_consistent(info.value.messages)
        assert_consistent(s.messages)
        last = results_of(s.messages)[-1]
        assert last["is_error"] and "max_iterations" in last["content"]
        assert len(s.tool_log) == 2  # the third call was never run
        assert s.usage["input_tokens"] == 30  # the failed turn's requests still count


def test_pause_turn_continues(backend: Any) -> None:
    model = S([S.reply("part one, ", stop_reason="pause_turn"), S.reply("part two")])
    with backend.make(model) as s:
        r = s.chat("long job")
    assert r.text == "part one,\n\npart two"  # continuations are joined as paragraphs
    assert r.iterations == 2 and r.stop_reason == "end_turn"
    assert model.requests[1].messages[-1]["role"] == "assistant"


@pytest.mark.parametrize("reason", ["max_tokens", "refusal", "stop_sequence"])
def test_other_stop_reasons_keep_the_text(backend: Any, reason: str) -> None:
    model = S([S.reply("partial answer", stop_reason=reason)])
    with backend.make(model) as s:
        r = s.chat("x")
    assert r.stop_reason == reason and r.text == "partial answer"
    assert r.truncated is (reason == "max_tokens")


def test_multi_turn_history(backend: Any) -> None:
    model = S([S.reply(backend.call("echo", "turn1")), "first", "second"])
    with backend.make(model) as s:
        s.chat("one")
        r2 = s.chat("two")
    assert r2.text == "second"
    sent = model.requests[2].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[-1]["content"][0]["text"] == "two"
    assert len(s.messages) == 6


def test_created_files(backend: Any, tmp_path: Path) -> None:
    write = backend.call("write", "reports/summary.txt", "figures")
    model = S([S.reply(write), "written"])
    with backend.make(model) as s:
        r = s.chat("write it")
        (f,) = r.created_files
        assert f.filename == os.path.join("reports", "summary.txt")
        assert f.size == 7 and f.tool_use_id == write["id"]
        assert f.media_type == "text/plain"
        import hashlib

        assert f.sha256 == hashlib.sha256(b"figures").hexdigest()
        assert s.created_files == [f]
        paths = s.download_files(tmp_path / "dl")
        paths += s.download_files(tmp_path / "dl")
        assert [p.name for p in paths] == ["summary.txt", "summary (1).txt"]
        assert paths[1].read_text() == "figures"
        json.dumps([__import__("dataclasses").asdict(x) for x in s.created_files])


def test_secrets_never_reach_tools(backend: Any, secrets_in_env: dict[str, str]) -> None:
    names = [*secrets_in_env, "SESSION_VAR"]
    model = S([S.reply(*[backend.call("env", n) for n in names]), "ok"])
    with backend.make(model, env={"SESSION_VAR": "mine"}) as s:
        r = s.chat("env")
    res = results_of(r.messages)
    text = "\n".join(b["content"] for b in res)
    for secret in secrets_in_env.values():
        assert secret not in text
    assert "SESSION_VAR=mine" in text


def test_huge_output_is_capped(backend: Any) -> None:
    model = S([S.reply(backend.call("big", 100_000_000)), "ok"])
    with backend.make(model) as s:
        r = s.chat("big")
    (res,) = results_of(r.messages)
    assert len(res["content"]) < 31_000
    assert "cut" in res["content"] or "not kept" in res["content"]
    assert res["content"].lstrip().startswith("aaaa") and res["content"].rstrip().endswith("aaaa")


def test_big_output_is_kept_whole_in_a_file_the_backends_tools_read(backend: Any) -> None:
    # the seed's flow: a fetch step prints a JSON table far over the cap, the next step reads it
    n = 4000
    model = S([S.reply(backend.call("records", n)), "ok"])
    with backend.make(model) as s:
        r = s.chat("fetch the records")
        (res,) = results_of(r.messages)
        content = res["content"]
        assert len(content) < 31_000 and not res.get("is_error")
        assert content.startswith('[{"i": 0,') and content.rstrip().endswith("}]")
        found = re.search(r"the output is ([\d,]+) characters and all of it is in (\S+) ", content)
        assert found, content[20_000:20_600]
        size, shown = int(found.group(1).replace(",", "")), found.group(2)
        assert size > 200_000
        # the path the model was given works with this backend's own tools
        count = backend.call("count", shown)
        assert s.run_tool(count["name"], **count["input"]).content.strip() == str(n)
        # the same through run_tool: the result names the file, which holds the whole table
        big = backend.call("records", n)
        result = s.run_tool(big["name"], **big["input"])
        assert result.output_file is not None and len(result.content) < 31_000
        assert len(json.loads(Path(result.output_file).read_text())) == n
        frame = result.dataframe
        assert frame is not None and len(frame) == n
        assert not [f for f in s.created_files if ".conjure" in f.filename]


def test_downloads_never_follow_a_parent_folder_swapped_for_a_link(backend: Any, tmp_path: Path) -> None:
    # issue 15: record d/report.txt, then `rm -rf d && ln -s /elsewhere d` from a tool
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.txt").write_text("HOST SECRET")
    write, swap = backend.call("write", "d/report.txt", "mine"), backend.call("swap", "d", str(outside))
    model = S([S.reply(write), "ok", S.reply(swap), "ok"])
    with backend.make(model) as s:
        s.chat("write the report")
        assert [f.filename for f in s.created_files] == ["d/report.txt"]
        s.chat("now swap the folder")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = s.download_files(tmp_path / "out")
    assert all("HOST SECRET" not in p.read_text() for p in written)
    if not written:  # refused, and said so (a remote engine's host copy is still the real file)
        assert any("d/report.txt" in str(w.message) for w in caught)


def test_run_tool_without_a_model(backend: Any) -> None:
    call = backend.call("echo", "direct")
    with backend.make(None) as s:
        result = s.run_tool(call["name"], **call["input"])
        assert "direct" in result.content and not result.is_error
        with pytest.raises(cj.UsageError):
            s.run_tool("not_a_tool", command="x")
        with pytest.raises(cj.UsageError):
            s.chat("no model here")
    assert len(s.tool_log) == 1


def test_chat_inside_a_running_event_loop(backend: Any) -> None:
    model = S([S.reply(backend.call("echo", "in-loop")), "fine"])

    async def cell() -> cj.Response:
        with backend.make(model) as s:
            return s.chat("from a notebook cell")  # sync call while a loop runs

    r = asyncio.run(cell())
    assert r.text == "fine" and "in-loop" in results_of(r.messages)[0]["content"]


def test_achat_and_astream_events(backend: Any) -> None:
    model = S([S.reply("streaming text", backend.call("echo", "ev")), "the end"], chunk_size=4)

    async def run() -> list[Any]:
        with backend.make(model) as s:
            return [ev async for ev in s.astream("go")]

    events = asyncio.run(run())
    types = [e.type for e in events]
    assert types[0] == "model_request_start" and types[-1] == "turn_finished"
    assert "".join(e.text for e in events if e.type == "text_delta") == "streaming textthe end"
    started = types.index("tool_call_started")
    assert types.index("tool_call_finished") > started
    assert events[-1].response.text == "the end"


def test_cancelling_achat_keeps_history_consistent(backend: Any) -> None:
    model = S([S.reply(backend.call("sleep", 20))])

    async def run(s: cj.Session) -> None:
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_event(event: Any) -> None:
            if event.type == "tool_call_started":
                loop.call_soon_threadsafe(started.set)

        task = asyncio.ensure_future(s.achat("slow", on_event=on_event))
        await asyncio.wait_for(started.wait(), 20)  # the tool runs: cancel it mid-call
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with backend.make(model, timeout=25) as s:
        asyncio.run(run(s))
        assert_consistent(s.messages)
        assert results_of(s.messages)[-1]["is_error"]


def test_keyboard_interrupt_keeps_history_consistent(backend: Any) -> None:
    import signal

    model = S([S.reply(backend.call("sleep", 20))])
    started = threading.Event()

    def interrupt() -> None:  # Ctrl-C as soon as the tool runs, from another thread like a person
        if started.wait(20):
            os.kill(os.getpid(), signal.SIGINT)

    with backend.make(model, timeout=25) as s:
        pusher = threading.Thread(target=interrupt, daemon=True)
        pusher.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                s.chat("slow", on_event=lambda e: e.type == "tool_call_started" and started.set())
        finally:
            started.set()
            pusher.join(5)
        assert_consistent(s.messages)
        assert "Interrupted" in results_of(s.messages)[-1]["content"]
        # the session is still usable afterwards
        s.model = S(["still here"])
        assert s.chat("again").text == "still here"


def test_save_and_load_round_trip(backend: Any, tmp_path: Path) -> None:
    model = S([S.reply(backend.call("write", "a.txt", "x")), "saved"])
    with backend.make(model) as s:
        s.chat("go")
        path = s.save(tmp_path / "session.json")
        data = s.to_dict()
    if backend.backend == "native":
        from .backends import ContractSkill

        restored = cj.Session.load(path, [ContractSkill()], backend="native")
    else:
        restored = cj.Session.load(path, backend=backend.backend, **backend.extra)
    with restored:
        assert restored.messages == data["messages"]
        assert [f.sha256 for f in restored.created_files] == [f["sha256"] for f in data["created_files"]]
        assert restored.usage == data["usage"] and len(restored.tool_log) == 1


def test_close_removes_the_private_working_dir(backend: Any) -> None:
    s = backend.make(S(["x"]))
    wd = s.working_dir
    assert wd.is_dir()
    s.close()
    s.close()  # idempotent
    assert not wd.exists()
    assert s.closed
