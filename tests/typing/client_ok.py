"""A client of the public API as a user writes it; mypy --strict must find nothing here."""

from __future__ import annotations

from typing import Any

import conjure_nb as cj


def api_callback(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"content": "hi"}


def use() -> None:
    skills = cj.load("skills")
    with cj.Session.new_local(skills, model=api_callback, timeout=5, working_dir="wd") as s:
        r: cj.Response = s.chat("hi", on_event=print)
        result: cj.ToolResult = s.run_tool("bash_tool", command="ls", description="d")
        print(r.text, result.output_file, s.download_files("out"))
    docker = cj.Session.new_docker(["skills/echo"], cj.ScriptedModel(["x"]), memory="1g", max_iterations=3)
    native = cj.Session.new_native([cj.LogFetcher()], model=cj.FunctionModel(api_callback))
    by_name = cj.Session.new("local", skills, None, executor=cj.LocalExecutor, env={"A": "b"})
    model: cj.Model = cj.ScriptedModel(["x"])
    again = cj.Session.load("s.json", skills, model, backend="local", allowed_paths=["data"])
    for session in (docker, native, by_name, again):
        session.close()
    print(cj.ToolResult("out", is_error=True, exit_code=2))
