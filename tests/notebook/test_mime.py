"""One `_repr_mimebundle_` per displayable object, its formats from a table on its class."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from IPython.core.formatters import DisplayFormatter

import conjure_nb as cj
from conjure_nb.display._mime import Rendered, mimebundle, show_as, shown

DISPLAYED = [
    cj.Response,
    cj.ToolResult,
    cj.Skill,
    cj.ValidationReport,
    cj.MonitoringResult,
    cj.FleetResult,
    cj.CreatedFile,
]


def _objects(tmp_path: Path) -> list[Any]:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "SKILL.md").write_text("---\nname: s\ndescription: does <b>things</b>\n---\nbody\n")
    (tmp_path / "a.txt").write_text("hello")
    analysis = {"summary": {"total": 2, "errors": 1, "error_rate": 0.5}, "health": {"status": "degraded"}}
    return [
        cj.Response("**hi** " + "x" * 500, "end_turn", {"input_tokens": 3}),
        cj.ToolResult("a,b\n1,2\n", exit_code=0),
        cj.load_skill(tmp_path / "s"),
        cj.validate(tmp_path / "s"),
        cj.MonitoringResult("pipeline", "local", "http://127.0.0.1:1/logs", 2, analysis, "degraded", "r"),
        cj.FleetResult(analysis, {}, {}),
        cj.CreatedFile(str(tmp_path / "a.txt"), "a.txt", 5, None, "text/plain"),
    ]


@pytest.mark.parametrize("cls", DISPLAYED, ids=lambda c: c.__name__)
def test_each_displayable_class_has_one_bundle_from_its_table(cls: type) -> None:
    assert issubclass(cls, Rendered) and cls.formats, "formats come from a table on the class"
    assert cls._repr_mimebundle_ is Rendered._repr_mimebundle_, "one _repr_mimebundle_, not its own"
    for name in ("_repr_html_", "_repr_markdown_", "_repr_json_"):
        assert not hasattr(cls, name), f"{cls.__name__}.{name}: a second rendering"
    for table in cls.formats.values():
        assert "text/markdown" not in table, "untrusted text never goes out as text/markdown"


def test_the_bundles_and_their_short_reprs(tmp_path: Path) -> None:
    formatter = DisplayFormatter()  # IPython's own, with no extension loaded
    for obj in _objects(tmp_path):
        data, meta = formatter.format(obj)
        assert set(data) == {"text/html", "text/plain"}, type(obj).__name__
        assert data["text/plain"] == repr(obj) and meta == {}
        plain = repr(obj)
        assert plain.startswith("<") and "\n" not in plain and len(plain) < 200, plain
        assert "<b>things</b>" not in data["text/html"], "untrusted text is escaped"


def test_include_and_exclude_pick_from_the_table() -> None:
    result = cj.ToolResult("ok")
    assert set(mimebundle(result, include=("text/plain",))[0]) == {"text/plain"}
    assert set(mimebundle(result, exclude=("text/plain",))[0]) == {"text/html"}


def test_a_cell_marks_the_object_it_returns_and_only_that_one() -> None:
    response = cj.Response("**plain**", "end_turn", fake_model="scripted model, offline")
    assert show_as(response, "text", {"conjure_nb": {"session": "a"}}) is response
    plain = "**plain**\n\n[scripted model, offline]"  # the stand-in is named in plain text too
    assert response._repr_mimebundle_() == ({"text/plain": plain}, {"conjure_nb": {"session": "a"}})
    assert repr(response).endswith('"**plain**" (scripted model, offline)>')
    assert show_as(cj.Response("**real**", "end_turn"), "text")._repr_mimebundle_()[0] == {
        "text/plain": "**real**"
    }
    again = dataclasses.replace(response)
    assert again == response and shown(again).format is None
    data, meta = again._repr_mimebundle_()
    assert "scripted model, offline" in data["text/html"] and meta == {}
    assert dataclasses.asdict(response) == dataclasses.asdict(again), "the mark is not data"
    with pytest.raises(ValueError, match="no display format 'yaml'"):
        show_as(response, "yaml")


def test_the_json_format_is_the_response_as_data() -> None:
    response = show_as(cj.Response("hi", "end_turn", {"input_tokens": 3}), "json")
    data, _ = response._repr_mimebundle_()
    assert data["application/json"]["usage"] == {"input_tokens": 3}
    assert data["application/json"]["fake_model"] is None and '"text": "hi"' in data["text/plain"]


def test_a_run_cells_result_states_where_it_ran() -> None:
    result = show_as(cj.ToolResult("hi"), None, ran_in="/work/<x>", backend="local")
    html = result._repr_mimebundle_()[0]["text/html"]
    assert "ran in <code>/work/&lt;x&gt;</code> (local)" in html
    assert "ran in" not in cj.ToolResult("hi")._repr_mimebundle_()[0]["text/html"]
