"""Habits from the Elixir library fail loudly: milliseconds, unknown events, {:ok, _} returns, keywords."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.telemetry import TelemetryWarning

S = cj.ScriptedModel


# -- timeout in milliseconds ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["local", "native"])
def test_a_timeout_in_milliseconds_names_seconds_and_what_it_would_mean(backend: str) -> None:
    with pytest.raises(cj.UsageError) as info:
        cj.Session.new(backend, [], timeout=30_000)
    message = str(info.value)
    assert "timeout=30,000 is in seconds" in message and "8 h 20 min" in message
    assert "milliseconds" in message and "pass timeout=30" in message


def test_timeouts_up_to_an_hour_are_seconds_and_accepted() -> None:
    with cj.Session.new_local(timeout=3_600) as s:
        assert s.run_tool("bash_tool", command="echo ok", description="d").content == "ok\n"
    with pytest.raises(cj.UsageError, match=r"would be 2 days 18 h 40 min.*pass timeout=240\b"):
        cj.NativeExecutor([], timeout=240_000)


# -- telemetry names ----------------------------------------------------------------------------------


def test_attaching_to_a_name_never_emitted_warns_with_the_names_that_are() -> None:
    try:
        with pytest.warns(TelemetryWarning, match=r"never emits \('conjure', 'execute', 'end'\)") as info:
            cj.telemetry.attach("t-typo", [("conjure", "execute", "end")], lambda e, m, md: None)
        message = str(info[0].message)
        assert "('conjure', 'execute', 'stop')" in message and "custom=True" in message
    finally:
        cj.telemetry.detach("t-typo")
    assert issubclass(TelemetryWarning, UserWarning)


def test_an_elixir_only_name_is_told_the_name_to_use() -> None:
    try:
        with pytest.warns(TelemetryWarning, match=r"is \('conjure', 'registry', 'reloaded'\) here"):
            cj.telemetry.attach("t-skill", [("conjure", "skill", "reloaded")], lambda e, m, md: None)
    finally:
        cj.telemetry.detach("t-skill")


def test_custom_names_and_every_emitted_name_attach_silently() -> None:
    seen: list[tuple[str, ...]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cj.telemetry.attach(
            "t-mine", [("myapp", "report", "sent")], lambda e, m, md: seen.append(e), custom=True
        )
        tutorial = [
            ("conjure", "backend", "native", "tool_call"),
            ("conjure", "execute", "start"),
            ("conjure", "execute", "stop"),
        ]
        cj.telemetry.attach("t-tutorial", tutorial, lambda e, m, md: None)
        every = [
            tuple({"<backend>": "docker", "<op>": "bash"}.get(p, p) for p in info.name)
            for info in cj.telemetry.CATALOG
        ]
        cj.telemetry.attach("t-every", every, lambda e, m, md: None)
    cj.telemetry.emit(("myapp", "report", "sent"))
    for hid in ("t-mine", "t-tutorial", "t-every"):
        cj.telemetry.detach(hid)
    assert seen == [("myapp", "report", "sent")]


# -- native skills returning the Elixir way -----------------------------------------------------------


class ElixirStyle(cj.NativeSkill):
    name = "elixir-style"
    description = "Returns what an Elixir skill would."

    def execute(self, command: str, context: cj.Context) -> Any:
        return {
            "tuple": ("ok", "fetched 3 records"),
            "error": ("error", "API returned 500"),
            "dict": {"ok": "text"},
            "none": None,
            "list": [{"a": 1}],
            "text": "plain",
        }[command]


@pytest.mark.parametrize("command", ["tuple", "error", "dict", "none"])
def test_a_tuple_dict_or_none_return_is_an_error_saying_to_return_str(command: str) -> None:
    with cj.Session.new_native([ElixirStyle()]) as s:
        result = s.run_tool("elixir_style_execute", command=command)
    assert result.is_error and result.error_code == "bad_return"
    assert "returns its output as a str" in result.content and "cj.ToolError" in result.content
    assert s.tool_log[0].is_error


def test_str_and_tables_still_return_normally() -> None:
    with cj.Session.new_native([ElixirStyle()]) as s:
        assert s.run_tool("elixir_style_execute", command="text").content == "plain"
        assert json.loads(s.run_tool("elixir_style_execute", command="list").content) == [{"a": 1}]


# -- Elixir keywords ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "python"),
    [("working_directory", "working_dir="), ("executor_config", "new_docker"), ("api_callback", "model=")],
)
def test_elixir_keywords_name_the_python_keyword(keyword: str, python: str, tmp_path: Path) -> None:
    value: Any = {"working_directory": str(tmp_path), "executor_config": {}, "api_callback": print}[keyword]
    makers = [
        lambda: cj.Session.new_local(**{keyword: value}),
        lambda: cj.Session.new_docker(**{keyword: value}),
        lambda: cj.Session.new_native([], **{keyword: value}),
        lambda: cj.Session.new_anthropic(**{keyword: value}),
        lambda: cj.Session.new("local", **{keyword: value}),
    ]
    for make in makers:
        with pytest.raises(cj.UsageError, match=rf"{keyword}= is the Elixir library's keyword.*{python}"):
            make()
    assert list(tmp_path.iterdir()) == []


def test_chat_with_an_api_callback_keyword_says_to_give_the_model_to_the_session() -> None:
    with cj.Session.new_local() as s:
        with pytest.raises(cj.UsageError, match="pass the model when you make the session"):
            s.chat("hello", api_callback=print)  # type: ignore[arg-type]
        with pytest.raises(cj.UsageError, match="pass the model when you make the session"):
            asyncio.run(s.achat("hello", api_callback=print))  # type: ignore[arg-type]
        assert s.messages == []
