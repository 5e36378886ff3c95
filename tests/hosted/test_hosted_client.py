"""`conjure_nb.hosted.HostedClient` on its own: Skills and Files APIs through the real SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.hosted import HostedClient, skill_info, version_info
from conjure_nb.testing import FakeAnthropicServer
from conjure_nb.testing._hosted_api import parse_multipart

from .conftest import make_skill


def client(server: FakeAnthropicServer) -> HostedClient:
    return HostedClient(api_key="sk-test", base_url=server.url, max_retries=0)


@pytest.mark.parametrize("shape", ["1.x", "2.x"])
def test_upload_list_version_delete_in_either_shape(tmp_path: Path, shape: str) -> None:
    folder = make_skill(tmp_path, "weekly-report")
    with FakeAnthropicServer(skills_shape=shape) as server:
        hc = client(server)
        info = hc.upload_skill(folder, title="Weekly report")
        assert info.id.startswith("skill_") and info.title == "Weekly report" and info.latest_version
        assert [s.id for s in hc.list_skills(source="custom")] == [info.id]
        assert hc.get_skill(info.id).latest_version == info.latest_version
        v2 = hc.new_version(info.id, folder)
        assert v2.version != info.latest_version and v2.name == "weekly-report"
        assert [v.version for v in hc.list_versions(info.id)] == [info.latest_version, v2.version]
        hc.delete_skill(info.id)
        assert hc.list_skills() == []
        (upload,) = server.requests_to("POST", "/v1/skills")[:1]
        deletes = [r.path for r in server.requests if r.method == "DELETE"]
    # the multipart layout: every file under a top folder named like the skill
    fields, files = parse_multipart(upload.headers["content-type"], upload.raw)
    assert sorted(name for name, _ in files) == ["weekly-report/SKILL.md", "weekly-report/scripts/run.py"]
    assert "Weekly report" in fields.values()
    assert "skills-2025-10-02" in upload.headers["anthropic-beta"]
    # versions first, then the skill
    assert deletes[-1].split("?")[0] == f"/v1/skills/{info.id}" and len(deletes) == 3


def test_the_adapter_reads_both_field_names() -> None:
    old = skill_info({"id": "skill_1", "display_title": "A", "latest_version": "17", "source": "custom"})
    new = skill_info(
        {"id": "skill_1", "display_name": "A", "latest_version_id": "17", "source": {"type": "custom"}}
    )
    assert old == new
    assert version_info({"id": "skillver_x", "version": "17", "skill_id": "s"}).version == "17"
    assert version_info({"id": "17", "skill_id": "s"}).version == "17"


@pytest.mark.parametrize(
    ("extra", "name", "words"),
    [
        ("", "claude-helper", "claude"),
        ("", "ok-skill", "MB"),  # over the size limit given below
    ],
)
def test_strict_validation_refuses_before_anything_is_sent(
    server: FakeAnthropicServer, tmp_path: Path, extra: str, name: str, words: str
) -> None:
    folder = make_skill(tmp_path, name, extra=extra)
    (folder / "assets").mkdir()
    (folder / "assets" / "blob.bin").write_bytes(b"x" * 20_000)
    hc = HostedClient(api_key="k", base_url=server.url, max_upload_bytes=10_000)
    with pytest.raises(cj.SkillError) as info:
        hc.upload_skill(folder)
    assert name in str(info.value) and info.value.problems
    assert words in " ".join(info.value.problems) or words in str(info.value)
    assert server.requests == []


def test_file_metadata_download_list_delete(server: FakeAnthropicServer, tmp_path: Path) -> None:
    fid = server.add_file("report.xlsx", b"PK\x03\x04 fake xlsx", "application/vnd.ms-excel")
    hc = client(server)
    meta = hc.file_metadata(fid)
    assert (meta.filename, meta.size, meta.mime_type) == ("report.xlsx", 14, "application/vnd.ms-excel")
    first = hc.download_file(fid, tmp_path / "out")
    second = hc.download_file(fid, tmp_path / "out")
    assert first.name == "report.xlsx" and second.name == "report (1).xlsx"
    assert first.read_bytes() == b"PK\x03\x04 fake xlsx" == second.read_bytes()
    assert [f.id for f in hc.list_files()] == [fid]
    hc.delete_file(fid)
    assert hc.list_files() == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report (1).xlsx", "report.xlsx"]


def test_a_hostile_server_filename_stays_inside_the_directory(
    server: FakeAnthropicServer, tmp_path: Path
) -> None:
    fid = server.add_file("../../etc/passwd", b"not yours")
    out = tmp_path / "a" / "b"
    path = client(server).download_file(fid, out)
    assert path == out / "passwd" and path.read_bytes() == b"not yours"
    assert not (tmp_path / "etc").exists()
    for name in ("..", ".", ""):
        fid = server.add_file(name, b"x")
        assert client(server).download_file(fid, out).name == fid


def test_a_download_cut_off_mid_body_leaves_nothing(server: FakeAnthropicServer, tmp_path: Path) -> None:
    fid = server.add_file("big.pdf", b"%PDF" + b"x" * 50_000, "application/pdf")
    server.hosted.cut_downloads.add(fid)
    with pytest.raises(cj.ModelError, match=r"cut off|ended at"):
        client(server).download_file(fid, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_api_failures_are_model_errors_with_status(server: FakeAnthropicServer) -> None:
    server.fail("GET", "/v1/skills", 401, "invalid x-api-key", kind="authentication_error")
    with pytest.raises(cj.ModelError) as info:
        client(server).list_skills()
    assert info.value.status == 401 and "ANTHROPIC_API_KEY" in str(info.value)
    assert "sk-test" not in str(info.value)
    with pytest.raises(cj.ModelError) as missing:
        client(server).file_metadata("file_nope")
    assert missing.value.status == 404


def test_the_label_keyword_follows_the_sdk() -> None:
    from conjure_nb.hosted._adapter import title_keyword

    def create_1x(*, files: list[Any], display_title: str | None = None) -> None: ...

    def create_2x(*, files: list[Any], display_name: str | None = None) -> None: ...

    assert title_keyword(create_1x) == "display_title" and title_keyword(create_2x) == "display_name"


def test_download_content_returns_the_bytes_and_refuses_a_cut_body(server: FakeAnthropicServer) -> None:
    fid = server.add_file("report.xlsx", b"PK\x03\x04 fake xlsx", "application/vnd.ms-excel")
    hc = client(server)
    assert hc.download_content(fid) == b"PK\x03\x04 fake xlsx"
    with pytest.raises(cj.ModelError, match="max_bytes"):
        hc.download_content(fid, max_bytes=4)
    cut = server.add_file("big.pdf", b"%PDF" + b"x" * 50_000, "application/pdf")
    server.hosted.cut_downloads.add(cut)
    with pytest.raises(cj.ModelError, match=r"cut off|ended at"):
        hc.download_content(cut)
    with pytest.raises(cj.ModelError) as missing:
        hc.download_content("file_nope")
    assert missing.value.status == 404


def test_list_takes_a_limit_and_a_purpose_newest_first(server: FakeAnthropicServer) -> None:
    ids = [server.add_file(f"f{i}.txt", b"x", purpose="output" if i % 2 else "upload") for i in range(25)]
    hc = client(server)
    assert [f.id for f in hc.list(limit=3)] == ids[::-1][:3]
    outputs = hc.list(purpose="output")
    assert [f.id for f in outputs] == [i for n, i in enumerate(ids) if n % 2][::-1]
    assert {f.purpose for f in outputs} == {"output"}
    assert [f.id for f in hc.list_files()] == ids[::-1]  # every page, through the cursor
    sent = server.requests_to("GET", "/v1/files")
    assert "limit=3" in sent[0].path and "purpose=output" in sent[1].path
    with pytest.raises(cj.UsageError, match="positive"):
        hc.list(limit=0)


def test_a_dropped_client_closes_its_connections_at_once(server: FakeAnthropicServer) -> None:
    """Dropped without close() (in a reference cycle, as in a session), the client closes its
    pooled connections at once, before the collector could reach a socket on its own and warn."""
    import gc

    hc = client(server)
    hc.list_files()  # a kept-alive connection in the pool
    sdk = hc.client
    cycle: dict[str, Any] = {"client": hc}
    cycle["self"] = cycle
    del hc, cycle
    gc.collect()
    assert sdk.is_closed()
