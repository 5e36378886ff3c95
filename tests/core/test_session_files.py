"""Crafted session files are not trusted (issue 15): schema checked, paths confined, backend chosen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj

S = cj.ScriptedModel


def _saved(tmp_path: Path, **fields: Any) -> Path:
    path = tmp_path / "crafted.json"
    path.write_text(json.dumps({"version": 1, "backend": "local", **fields}))
    return path


def _file(filename: str, path: str) -> dict[str, Any]:
    return {"path": path, "filename": filename, "size": 10, "sha256": "0" * 64, "media_type": "text/plain"}


def test_a_recorded_host_path_is_never_copied(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("HOST SECRET")
    path = _saved(tmp_path, created_files=[_file("secret.txt", str(secret))])
    with cj.Session.load(path, backend="local") as s:
        assert s.created_files[0].path == str(s.working_dir / "secret.txt")
        with pytest.warns(UserWarning, match="secret.txt"):
            assert s.download_files(tmp_path / "out") == []


@pytest.mark.parametrize("name", ["/etc/shadow", "../../etc/shadow", "a/../../x", ""])
def test_a_created_file_outside_the_working_dir_is_refused_at_load(tmp_path: Path, name: str) -> None:
    path = _saved(tmp_path, created_files=[_file(name, "/etc/shadow")])
    with pytest.raises(cj.UsageError, match=r"created_files\[0\]\.filename"):
        cj.Session.load(path, backend="local")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"messages": "hello"}, "'messages'"),
        ({"messages": [{"role": "system", "content": "x"}]}, r"messages\[0\]"),
        ({"messages": [{"role": "user", "content": [None]}]}, r"messages\[0\]\.content"),
        ({"usage": "abc"}, "'usage'"),
        ({"usage": {"input_tokens": "9"}}, "'usage'"),
        ({"tool_log": [{"tool": "x", "surprise": 1}]}, "does not know"),
        (
            {
                "tool_log": [
                    {
                        "tool": 1,
                        "input": {},
                        "is_error": False,
                        "exit_code": 0,
                        "duration_ms": 1,
                        "backend": "local",
                    }
                ]
            },
            r"tool_log\[0\]\.tool",
        ),
        ({"created_files": {"a": 1}}, "'created_files'"),
        ({"created_files": [_file("a.txt", "x") | {"size": "big"}]}, r"created_files\[0\]\.size"),
        ({"container": 5}, "'container'"),
    ],
)
def test_wrong_field_types_are_a_usage_error_naming_the_field(
    tmp_path: Path, fields: dict[str, Any], named: str
) -> None:
    with pytest.raises(cj.UsageError, match=named):
        cj.Session.load(_saved(tmp_path, **fields), backend="local")


def test_deep_nesting_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"version": 1, "messages": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(cj.UsageError, match="nested too deeply"):
        cj.Session.load(path, backend="local")


@pytest.mark.parametrize("saved", ["local", "native", None])
def test_a_file_does_not_choose_a_backend_that_runs_tools_here(tmp_path: Path, saved: str | None) -> None:
    path = _saved(tmp_path, backend=saved)
    with pytest.raises(cj.UsageError, match="backend="):
        cj.Session.load(path)


def test_a_valid_file_still_round_trips(tmp_path: Path) -> None:
    make = S.tool_use("bash_tool", command="mkdir -p d && echo r > d/r.txt", description="d")
    with cj.Session.new_local(model=S([S.reply(make), "ok"]), working_dir=tmp_path / "wd") as s:
        s.chat("go")
        saved = s.save(tmp_path / "s.json")
    with cj.Session.load(saved, backend="local", working_dir=tmp_path / "wd") as again:
        assert again.messages == s.messages and again.usage == s.usage
        (copied,) = again.download_files(tmp_path / "out")
        assert copied.read_text() == "r\n"
