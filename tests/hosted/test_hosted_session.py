"""`Session.new_anthropic` through the real SDK against the loopback fake of Anthropic's API.

The server creates and keeps containers, stores uploaded skills and generated files, and records
every request: the tests assert on what it received (container ids, skills, betas, multipart
uploads, downloads) as much as on what the session returns.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.hosted._model import HostedSettings, HostedWarning
from conjure_nb.testing import FakeAnthropicServer
from conjure_nb.testing._hosted_api import parse_multipart

from .conftest import make_skill

XLSX = ("anthropic", "xlsx", "latest")
BETAS = ("code-execution-2025-08-25", "skills-2025-10-02", "files-api-2025-04-14")


def model_for(server: FakeAnthropicServer) -> cj.AnthropicModel:
    return cj.AnthropicModel(model="claude-test", api_key="sk-hosted", base_url=server.url, max_retries=0)


def messages(server: FakeAnthropicServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests_to("POST", "/v1/messages") if r.body is not None]


def bash(call_id: str, command: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "server_tool_use",
            "id": call_id,
            "name": "bash_code_execution",
            "input": {"command": command},
        },
        {"type": "bash_code_execution_tool_result", "tool_use_id": call_id, "content": result},
    ]


def ran(stdout: str = "", return_code: int = 0, files: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "bash_code_execution_result",
        "stdout": stdout,
        "stderr": "",
        "return_code": return_code,
        "content": [{"type": "bash_code_execution_output", "file_id": f} for f in files],
    }


def test_requests_carry_container_skills_tool_betas_and_system(server: FakeAnthropicServer) -> None:
    server.replies.append({"content": "done"})
    with cj.Session.new_anthropic([XLSX, ("anthropic", "pdf", "latest")], model=model_for(server)) as s:
        r = s.chat("make a sheet")
        assert s.backend == "anthropic" and r.text == "done"
    (rec,) = server.requests_to("POST", "/v1/messages")
    body = rec.body
    assert body is not None
    assert body["container"] == {
        "skills": [
            {"type": "anthropic", "skill_id": "xlsx", "version": "latest"},
            {"type": "anthropic", "skill_id": "pdf", "version": "latest"},
        ]
    }
    assert body["tools"] == [{"type": "code_execution_20250825", "name": "code_execution"}]
    assert all(b in rec.headers["anthropic-beta"] for b in BETAS)
    assert "xlsx" in body["system"] and "/skills/xlsx/" in body["system"]


def test_the_container_id_is_kept_across_pauses_turns_and_save_load(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    server.replies += [
        {"content": "working... ", "stop_reason": "pause_turn"},
        {"content": "first done"},
        {"content": "second done"},
        {"content": "after reload"},
    ]
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        r = s.chat("one")
        assert r.text == "working...\n\nfirst done" and r.iterations == 2
        s.chat("two")
        cid = s.container_id
        saved = s.save(tmp_path / "s.json")
    assert cid is not None and cid.startswith("container_")
    with cj.Session.load(saved, [XLSX], model_for(server)) as again:
        assert again.backend == "anthropic" and again.container_id == cid
        again.chat("three")
    bodies = messages(server)
    assert "id" not in bodies[0]["container"]
    assert [b["container"]["id"] for b in bodies[1:]] == [cid, cid, cid]
    assert all(b["container"]["skills"][0]["skill_id"] == "xlsx" for b in bodies)
    # a continuation sends the paused assistant content back as-is
    assert bodies[1]["messages"][-1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "working... "}],
    }


@pytest.mark.parametrize("limit", [2, 10])
def test_pause_turn_is_continued_up_to_the_limit_then_a_clear_error(
    server: FakeAnthropicServer, limit: int
) -> None:
    server.replies += [{"content": f"step {i} ", "stop_reason": "pause_turn"} for i in range(limit + 1)]
    settings = HostedSettings(max_pause_continuations=limit)
    with cj.Session.new_anthropic([XLSX], model=model_for(server), settings=settings) as s:
        with pytest.raises(cj.MaxIterationsError, match="pause_turn") as info:
            s.chat("long job")
        assert len(server.requests_to("POST", "/v1/messages")) == limit + 1
        texts = [m["content"][0]["text"] for m in s.messages if m["role"] == "assistant"]
        assert texts == [f"step {i} " for i in range(limit + 1)]  # nothing lost
        assert info.value.messages == s.messages


def test_server_tool_calls_and_errors_reach_the_tool_log_and_response(server: FakeAnthropicServer) -> None:
    content = [
        *bash("srvtoolu_1", "python make.py", ran("ok\n")),
        *bash("srvtoolu_2", "false", ran("", 1)),
        *bash("srvtoolu_3", "sleep 999", {"type": "bash_code_execution_tool_result_error", "error_code": "execution_time_exceeded"}),
        {"type": "server_tool_use", "id": "srvtoolu_4", "name": "text_editor_code_execution",
         "input": {"command": "view", "path": "/skills/xlsx/SKILL.md"}},
        {"type": "text_editor_code_execution_tool_result", "tool_use_id": "srvtoolu_4",
         "content": {"type": "text_editor_code_execution_view_result", "content": "---", "file_type": "text"}},
        {"type": "text", "text": "Report ready."},
    ]  # fmt: skip
    server.replies.append({"content": content})
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        r = s.chat("go", on_event=lambda e: None)  # streamed
        log = s.tool_log
    assert r.text == "Report ready."
    assert [(c.tool, c.exit_code, c.error_code, c.is_error) for c in log] == [
        ("bash_code_execution", 0, None, False),
        ("bash_code_execution", 1, None, True),
        ("bash_code_execution", None, "execution_time_exceeded", True),
        ("text_editor_code_execution", None, None, False),
    ]
    assert all(c.server and c.backend == "anthropic" for c in log)
    assert log[0].input == {"command": "python make.py"}
    assert r.tool_calls == log
    assert "execution_time_exceeded" not in r.text  # the error is data, not a crash


def test_created_files_have_metadata_and_download_like_other_backends(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    xlsx = server.add_file(
        "report.xlsx", b"PK-xlsx-bytes", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    evil = server.add_file("../../etc/passwd", b"harmless", "text/plain")
    legacy = server.add_file("chart.png", b"\x89PNG", "image/png")
    server.replies.append(
        {
            "content": [
                *bash("srvtoolu_1", "python make.py", ran(files=(xlsx, evil))),
                *bash("srvtoolu_2", "ls", ran(files=(xlsx,))),  # the same id again
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_3",
                    "name": "code_execution",
                    "input": {"code": "plot()"},
                },
                {
                    "type": "code_execution_tool_result",
                    "tool_use_id": "srvtoolu_3",
                    "content": {
                        "type": "code_execution_result",
                        "stdout": "",
                        "stderr": "",
                        "return_code": 0,
                        "content": [{"type": "code_execution_output", "file_id": legacy}],
                    },
                },
            ]
        }
    )
    out = tmp_path / "out"
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        r = s.chat("report")
        files = s.created_files
        first = s.download_files(out)
        second = s.download_files(out)
    assert [f.file_id for f in files] == [xlsx, evil, legacy] and r.created_files == files
    assert [(f.filename, f.size, f.path, f.sha256) for f in files] == [
        ("report.xlsx", 13, None, None), ("passwd", 8, None, None), ("chart.png", 4, None, None)
    ]  # fmt: skip
    assert files[0].tool_use_id == "srvtoolu_1" and files[2].tool_use_id == "srvtoolu_3"
    assert files[0].media_type.endswith("spreadsheetml.sheet")
    assert [p.name for p in first] == ["report.xlsx", "passwd", "chart.png"]
    assert [p.name for p in second] == ["report (1).xlsx", "passwd (1)", "chart (1).png"]
    assert all(p.parent == out for p in first + second) and not (tmp_path / "etc").exists()
    assert (out / "report.xlsx").read_bytes() == b"PK-xlsx-bytes"
    # the Files API was called with the model's own key
    downloads = server.requests_to("GET", f"/v1/files/{xlsx}/content")
    assert downloads and all(
        d.headers.get("x-api-key") == "sk-hosted" or d.headers.get("authorization") == "Bearer sk-hosted"
        for d in downloads
    )


def test_custom_skills_are_uploaded_at_start_and_deleted_on_close(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    folder = make_skill(tmp_path, "weekly-report")
    server.replies.append({"content": "used it"})
    with cj.Session.new_anthropic([folder, XLSX], model=model_for(server)) as s:
        (upload,) = server.requests_to("POST", "/v1/skills")
        (skill_id,) = server.hosted.skills
        s.chat("use my skill")
        assert "/skills/weekly-report/SKILL.md" in s.system
    _, files = parse_multipart(upload.headers["content-type"], upload.raw)
    assert sorted(n for n, _ in files) == ["weekly-report/SKILL.md", "weekly-report/scripts/run.py"]
    (body,) = messages(server)
    version = body["container"]["skills"][1]
    assert version["type"] == "custom" and version["skill_id"] == skill_id and version["version"] != "latest"
    assert server.hosted.skills == {}  # deleted on close, versions first
    assert [r.method for r in server.requests if "/v1/skills/" in r.path][-2:] == ["DELETE", "DELETE"]


def test_keep_uploaded_leaves_the_skill(server: FakeAnthropicServer, tmp_path: Path) -> None:
    folder = make_skill(tmp_path, "kept-skill")
    with cj.Session.new_anthropic([folder], model=model_for(server), keep_uploaded=True):
        pass
    assert len(server.hosted.skills) == 1


def test_nine_skills_are_refused_before_anything_is_sent(server: FakeAnthropicServer) -> None:
    specs = [("anthropic", f"s{i}", "latest") for i in range(9)]
    with pytest.raises(cj.UsageError, match=r"9 skills.*8"):
        cj.Session.new_anthropic(specs, model=model_for(server))
    assert server.requests == []


def test_a_bad_custom_skill_is_refused_before_any_upload(
    server: FakeAnthropicServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = make_skill(tmp_path, "good-skill")
    claude = make_skill(tmp_path, "claude-tools")
    with pytest.raises(cj.SkillError, match="claude"):
        cj.Session.new_anthropic([good, claude], model=model_for(server))
    from conjure_nb.skills._limits import limits

    monkeypatch.setattr(limits, "max_upload_bytes", 10)
    with pytest.raises(cj.SkillError, match="good-skill"):
        cj.Session.new_anthropic([good], model=model_for(server))
    assert server.requests == []


def test_an_upload_failing_midway_deletes_the_ones_already_uploaded(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    first, second = make_skill(tmp_path, "first-skill"), make_skill(tmp_path, "second-skill")
    # the first upload works, every later one fails (the SDK's own retries included)
    server.fail("POST", "/v1/skills", 500, "upload broke", after=1, times=10)
    with pytest.raises(cj.ModelError, match="upload broke"):
        cj.Session.new_anthropic([first, second], model=model_for(server))
    assert len(server.requests_to("POST", "/v1/skills")) >= 2
    assert server.hosted.skills == {}  # the first one was deleted again


@pytest.mark.parametrize("status", [429, 529])
def test_rate_limits_and_overload_are_retried_after_retry_after(
    server: FakeAnthropicServer, status: int
) -> None:
    server.replies += [
        {
            "status": status,
            "error": {"type": "rate_limit_error", "message": "busy"},
            "headers": {"retry-after": "3"},
        },
        {"content": "got through"},
    ]
    waits: list[float] = []
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        s.model.sleep = waits.append
        assert s.chat("x").text == "got through"
    assert waits == [3.0]
    assert len(server.requests_to("POST", "/v1/messages")) == 2


def test_retries_give_up_with_the_error(server: FakeAnthropicServer) -> None:
    busy = {"status": 529, "error": {"type": "overloaded_error", "message": "overloaded"}}
    server.replies += [busy] * 4
    waits: list[float] = []
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        s.model.sleep = waits.append
        with pytest.raises(cj.ModelError) as info:
            s.chat("x")
    assert info.value.status == 529 and waits == [1.0, 2.0, 4.0]


def test_an_expired_container_is_replaced_and_says_so(server: FakeAnthropicServer) -> None:
    server.replies += [{"content": "one"}, {"content": "two"}]
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        s.chat("first")
        old = s.container_id
        assert old is not None
        server.hosted.expired.add(old)
        with pytest.warns(HostedWarning, match=f"{old} has expired"):
            assert s.chat("second").text == "two"
        assert s.container_id not in (None, old)
    bodies = [r.body for r in server.requests_to("POST", "/v1/messages")]
    assert [b["container"].get("id") for b in bodies if b] == [None, old, None]


def test_a_401_is_a_model_error_naming_the_key(server: FakeAnthropicServer) -> None:
    server.replies.append(
        {"status": 401, "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    )
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s, pytest.raises(cj.ModelError) as info:
        s.chat("x")
    assert info.value.status == 401 and "ANTHROPIC_API_KEY" in str(info.value)


def test_new_by_name_and_async(server: FakeAnthropicServer) -> None:
    fid = server.add_file("a.csv", b"x,y\n", "text/csv")
    server.replies.append(
        {"content": [*bash("srvtoolu_1", "echo", ran(files=(fid,))), {"type": "text", "text": "async ok"}]}
    )
    with cj.Session.new("anthropic", [XLSX], model_for(server)) as s:
        r = asyncio.run(s.achat("x"))
        assert r.text == "async ok" and [f.filename for f in s.created_files] == ["a.csv"]
        assert s.tool_log[0].tool == "bash_code_execution"


def test_server_tool_calls_and_files_are_live_events(server: FakeAnthropicServer) -> None:
    fid = server.add_file("out.pdf", b"%PDF-1.7", "application/pdf")
    content = [
        *bash("srvtoolu_1", "python make.py", ran("made\n", files=(fid,))),
        {"type": "text", "text": "ok"},
    ]
    server.replies += [{"content": content}, {"content": list(content)}]
    events: list[Any] = []
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        s.chat("go", on_event=events.append)

        async def stream() -> list[Any]:
            return [e async for e in s.astream("again")]

        streamed = asyncio.run(stream())
    kinds = [e.type for e in events]
    assert kinds.index("tool_call_started") < kinds.index("tool_call_finished") < kinds.index("turn_finished")
    finished = next(e for e in events if e.type == "tool_call_finished")
    assert (finished.tool, finished.result.stdout, finished.result.exit_code) == (
        "bash_code_execution",
        "made\n",
        0,
    )
    (created,) = [e for e in events if e.type == "file_created"]
    assert created.file.file_id == fid and created.file.filename == "out.pdf"
    # the same file id in a later turn is not a new file
    assert "tool_call_finished" in [e.type for e in streamed] and "file_created" not in [
        e.type for e in streamed
    ]


def test_a_file_without_metadata_is_still_listed_by_id(server: FakeAnthropicServer) -> None:
    server.replies.append({"content": bash("srvtoolu_1", "x", ran(files=("file_gone",)))})
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        s.chat("go")
        (f,) = s.created_files
    assert (f.file_id, f.filename, f.size) == ("file_gone", "file_gone", None)


def test_thousands_of_file_ids_are_described_a_few_at_a_time_up_to_a_cap(server: FakeAnthropicServer) -> None:
    """A reply naming 3,000 files: at most max_file_metadata GETs, at most metadata_concurrency at
    once, every file still listed (issue 20, item 9)."""
    import threading
    import time

    real = [server.add_file(f"part-{i}.csv", b"x\n", "text/csv") for i in range(150)]
    ids = real + [f"file_made_up_{i:04d}" for i in range(2850)]
    server.replies.append({"content": bash("srvtoolu_1", "split", ran(files=tuple(ids)))})
    server.replies.append("done")
    settings = HostedSettings(max_file_metadata=100, metadata_concurrency=4)
    with cj.Session.new_anthropic([XLSX], model=model_for(server), settings=settings) as s:
        inflight, peak, lock = [0], [0], threading.Lock()
        fetch = s.executor.client.file_metadata

        def counted(file_id: str) -> Any:
            with lock:
                inflight[0] += 1
                peak[0] = max(peak[0], inflight[0])
            try:
                time.sleep(0.02)  # keep each request open long enough for the pool to overlap them
                return fetch(file_id)
            finally:
                with lock:
                    inflight[0] -= 1

        s.executor.client.file_metadata = counted
        with pytest.warns(HostedWarning, match="named 3,000 files: metadata was fetched for the first 100"):
            s.chat("go")
        files = list(s.created_files)
    assert [f.file_id for f in files] == ids
    assert len(server.requests_to("GET", "/v1/files/")) == 100
    assert 2 <= peak[0] <= 4
    assert [f.filename for f in files[:3]] == ["part-0.csv", "part-1.csv", "part-2.csv"]
    assert files[150].filename == files[150].file_id and files[150].size is None


def test_a_turn_failing_after_server_tool_calls_keeps_them(server: FakeAnthropicServer) -> None:
    """The executor returns a reply's server calls and files; the session records them as they come."""
    fid = server.add_file(
        "half.xlsx", b"PK", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    paused = {
        "content": bash("srvtoolu_1", "python make.py", ran("made\n", files=(fid,))),
        "stop_reason": "pause_turn",
    }
    denied = {"status": 401, "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
    server.replies += [paused, denied]
    with cj.Session.new_anthropic([XLSX], model=model_for(server)) as s:
        with pytest.raises(cj.ModelError):
            s.chat("go")
        assert [(c.tool, c.server, c.result.stdout if c.result else None) for c in s.tool_log] == [
            ("bash_code_execution", True, "made\n")
        ]
        assert [(f.file_id, f.filename) for f in s.created_files] == [(fid, "half.xlsx")]
        assert s.messages[-1]["role"] == "assistant", "the paused reply stays in the history"


def test_the_hosted_executor_reads_a_reply_without_a_session(server: FakeAnthropicServer) -> None:
    from conjure_nb.executors._anthropic import AnthropicExecutor

    fid = server.add_file("r.pdf", b"%PDF-1.7", "application/pdf")
    content = [
        *bash("srvtoolu_1", "python r.py", ran("ok\n", files=(fid,))),
        {"type": "text", "text": "done"},
    ]
    executor = AnthropicExecutor([XLSX], model_for(server))
    found = executor.read_reply(content)
    assert [(c.tool, c.tool_use_id, c.exit_code) for c in found.calls] == [
        ("bash_code_execution", "srvtoolu_1", 0)
    ]
    assert [(f.file_id, f.filename, f.tool_use_id) for f in found.files] == [(fid, "r.pdf", "srvtoolu_1")]
    assert executor.read_reply(content, known={fid}).files == [], "a listed file is not described again"


def _connections_to(server: FakeAnthropicServer) -> list[Any]:
    """This process's open TCP connections to the server (the client ends)."""
    import psutil

    port = int(server.url.rsplit(":", 1)[1])
    return [c for c in psutil.Process().net_connections("tcp") if c.raddr and c.raddr.port == port]


def test_a_closed_session_leaves_no_connection_of_its_own_open(server: FakeAnthropicServer) -> None:
    """The Skills/Files client the session made (metadata of created files, uploads) is closed with
    it: its kept-alive socket left to the garbage collector warned "unclosed socket" in whatever
    test the collection ran (a flake of the suite under xdist)."""
    server.replies.append({"content": bash("srvtoolu_1", "x", ran(files=("file_gone",)))})
    model = model_for(server)
    with cj.Session.new_anthropic([XLSX], model=model) as s:
        s.chat("go")
        assert len(_connections_to(server)) == 2  # the model's and the Files API client's
    model.close()  # the caller's model is the caller's to close
    assert _connections_to(server) == []
