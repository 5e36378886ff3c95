"""Issue 22 "Outputs people can read": JSON output as a tree, long text folded with a count,
timestamps as datetime columns that do not wrap, all of it escaped."""

from __future__ import annotations

import json

import pytest

import conjure_nb as cj
from conjure_nb.display import limits
from conjure_nb.display._html import pre, table
from conjure_nb.display._jsontree import json_tree_html
from conjure_nb.notebook.render import to_html

from .payloads import PAYLOADS, assert_inert


def _result(value: object) -> cj.ToolResult:
    text = value if isinstance(value, str) else json.dumps(value)
    return cj.ToolResult(text, stdout=text, exit_code=0)


ANALYSIS = {
    "window": {"start": "2026-12-06T08:24:00Z", "end": "2026-12-06T09:24:00Z", "records": 5000},
    "health": {
        "status": "critical",
        "reasons": {"pool": {"events": 251, "ongoing": True, "hosts": ["pay-01"]}},
    },
    "services": [{"service": "payment", "errors": 262}, {"service": "orders", "errors": 132}],
    "levels": {"ERROR": 560, "INFO": 3806},
}


def test_json_output_is_a_tree_open_two_levels_deep() -> None:
    html = to_html(_result(ANALYSIS))
    assert "DataFrame:" not in html, "an object of facts is not a table"
    # levels 0 and 1 open, level 2 folded under a line saying what it holds
    assert html.count("<details open>") == 4  # the root, window, health, services
    assert "<details><summary>reasons: <small>{…} 1 keys: pool</small></summary>" in html
    assert "<div>levels: {&quot;ERROR&quot;: 560, &quot;INFO&quot;: 3806}</div>" in html
    assert '<div>records: <span style="color:#1565c0">5000</span></div>' in html
    assert "<div>status: &quot;critical&quot;</div>" in html
    # a list of records is a table
    assert "services: <small>[…] 2 records</small>" in html
    assert "<th style='text-align:left'>service</th>" in html and ">262</td>" in html


def test_big_arrays_and_objects_are_cut_with_a_count(monkeypatch: pytest.MonkeyPatch) -> None:
    html = json_tree_html({"values": list(range(250)), "nested": [[i, [i]] for i in range(3)]})
    assert html.count("<div>") >= 100 and "… 150 more items" in html
    monkeypatch.setattr(limits, "max_json_nodes", 50)
    html = json_tree_html({"values": list(range(250))})
    assert "limits.max_json_nodes=50" in html and html.count("<div>") <= 50


def test_text_with_many_lines_folds_with_its_count() -> None:
    text = "\n".join(f"line {i}" for i in range(1274))
    html = pre(text, 100_000)
    head, folded = html.split("<details>", 1)
    assert head.count("\n") == 39 and "line 39<" in head and "line 40" not in head
    assert folded.startswith("<summary>… 1,234 more lines</summary>") and "line 1273" in folded
    assert "<details>" not in pre("a\nb\nc"), "short text is not folded"
    html = to_html(_result(text))
    assert "… 1,234 more lines" in html and "more characters not shown" in html, "a tool result keeps its cap"
    tree = json_tree_html({"log": text})
    assert "(1,274 lines)" in tree and "… 1,234 more lines" in tree


def test_a_table_inside_the_whole_json_is_shown_with_the_rest_folded() -> None:
    html = to_html(_result({"total": 2, "records": [{"a": 1}, {"a": 2}]}))
    assert "DataFrame: 2 rows x 1 columns" in html
    assert "<summary>the whole JSON</summary>" in html and "<div>total: <span" in html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_json_keys_and_values_with_markup_are_text(payload: str) -> None:
    text = payload.format(attacker="http://127.0.0.1:9")
    value = {text: {text: [text, {text: text + "\n" + text}], "n": [{text: 1}, {text: 2}]}}
    html = to_html(_result(value))
    assert_inert(html, host_styles=True)
    assert_inert(to_html(value), host_styles=True)
    assert "&lt;" in html or "<" not in text


def test_iso_timestamps_become_a_datetime_column() -> None:
    records = [
        {"ts": "2026-12-06T08:24:00.389Z", "local": "2026-12-06 08:24:00", "mixed": "2026-12-06T08:24:00Z",
         "day": "2026-12-06", "bad": "2026-13-01T00:00:00Z", "n": 1},
        {"ts": None, "local": "2026-12-06T09:00:00", "mixed": "2026-12-06T08:24:00", "day": "2026-12-07",
         "bad": "2026-12-01T00:00:00Z", "n": 2},
        {"ts": "2026-12-06T10:24:00+02:00", "local": None, "mixed": "x", "day": None, "bad": None, "n": 3},
    ]  # fmt: skip
    df = _result(records).dataframe
    assert df is not None
    assert str(df["ts"].dtype).startswith("datetime64") and str(df["ts"].dt.tz) == "UTC"
    assert str(df["ts"][2]) == "2026-12-06 08:24:00+00:00", "an offset is converted to UTC"
    assert str(df["local"].dtype).startswith("datetime64") and df["local"].dt.tz is None
    for name in ("mixed", "day", "bad"):  # text among times, dates without a time, month 13
        assert not str(df[name].dtype).startswith("datetime64"), name
    csv = cj.ToolResult("when,v\n2026-01-01 10:00:00,1\n2026-12-01 10:00:30,2\n").dataframe
    assert csv is not None and str(csv["when"].dtype).startswith("datetime64")


def test_time_columns_do_not_wrap_and_show_to_the_second() -> None:
    html = to_html(_result([{"ts": "2026-12-06T08:24:00Z", "msg": "a long message " * 5},
                            {"ts": "2026-12-06T08:24:01.500Z", "msg": "<b>bold</b>"}]))  # fmt: skip
    # one column, one precision: a time with no fraction gets the digits its neighbours have
    assert "<td style='text-align:left;white-space:nowrap'>2026-12-06 08:24:00.0Z</td>" in html
    assert ">2026-12-06 08:24:01.5Z</td>" in html
    assert "<td style='text-align:left'>a long message" in html, "long text wraps"
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_numbers_show_without_float_noise() -> None:
    import pandas as pd

    html = table(pd.DataFrame({"rate": [0.30700000000000005, None], "n": [5000, 7]}))
    assert ">0.307</td>" in html and "0.30700000000000005" not in html
    assert "<td style='text-align:right;white-space:nowrap'>5000</td>" in html
