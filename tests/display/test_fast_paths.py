"""The faster ways the renderers take (issue 22: no output slower than before) give what the general
ways give: JSON read exactly as the standard library reads it, dates and numbers formatted as the
general code formats them, a sheet's preview rows cut at any chunk boundary, and no DTD let through
behind a comment."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from xml.etree import ElementTree as ET

import pytest

import conjure_nb as cj
from conjure_nb.display._html import column_kind
from conjure_nb.display._json import loads
from conjure_nb.display._numfmt import format_value
from conjure_nb.display._sheetxml import _head_part
from conjure_nb.display._styles import iterparse_no_dtd, parse_no_dtd, read_styles
from conjure_nb.notebook.render import to_html

BIG = 123456789012345678901234567890


@pytest.mark.parametrize(
    "text",
    [
        '[{"id": 123456789012345678901234567890, "n": -9999999999999999999}]',  # past 64 bits: exact ints
        '{"v": NaN, "w": Infinity, "x": -Infinity}',  # the standard library's extensions
        '["\\ud800", "\\udc00x"]',  # lone surrogates
        '{"a": 1, "a": 2}',
        "[1e400, 0.1, 1.7976931348623157e308, 5e-324]",
        '{"é": "ü\\u00e9", "emoji": "\\ud83d\\ude00"}',
        "  [1, 2] \n",
    ],
)
def test_json_is_read_as_the_standard_library_reads_it(text: str) -> None:
    assert repr(loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["[1,", "{'a': 1}", "", "[1] [2]", '"\\x"'])
def test_text_that_is_not_json_raises_as_the_standard_library_does(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        loads(text)


def test_a_dataframe_keeps_big_integer_ids_exact() -> None:
    text = json.dumps([{"id": BIG, "at": "2026-12-06T08:24:00Z"}, {"id": 7, "at": "2026-12-06T08:25:00Z"}])
    df = cj.ToolResult(text, stdout=text).dataframe
    assert df is not None and df["id"].tolist() == [BIG, 7]
    assert str(df["at"].dtype).startswith("datetime64")


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (dt.datetime(2026, 12, 31, 23, 59, 59, 600000), "yyyy-mm-dd hh:mm:ss", "2027-01-01 00:00:00"),
        (dt.datetime(2026, 12, 31, 23, 59, 59, 400000), "yyyy-mm-dd hh:mm:ss", "2026-12-31 23:59:59"),
        (dt.datetime(2026, 12, 6, 9, 24, 7, 728000), "dd/mm/yy hh:mm", "06/12/26 09:24"),
        (dt.datetime(2026, 12, 6, 23, 59, 59, 700000), "hh:mm", "00:00"),
        (dt.datetime(2026, 12, 6, 9, 24), 'yyyy"-"mm', "2026-12"),
        (dt.datetime(2026, 12, 6, 9, 24), 'yyyy-mm-dd hh:mm:ss" UTC"', "2026-12-06 09:24:00 UTC"),
        (dt.datetime(999, 1, 2, 3, 4, 5), "yyyy-mm-dd", "0999-01-02"),
        (dt.datetime(2026, 12, 6, 9, 24, 5), "yy-m-d h:mm", "26-12-6 9:24"),
        (dt.datetime(2026, 12, 6, 9, 24, 5, 270000), "mm:ss.0", "24:05.3"),
    ],
)
def test_dates_show_as_their_format_says_at_rounding_edges(value: dt.datetime, code: str, shown: str) -> None:
    assert format_value(value, code) == shown


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (1.005, "0.00", "1.01"),  # 1.00499999... in binary; Excel rounds the decimal 1.005 up
        (0.0258, "0.00%", "2.58%"),
        (0.2571148184494603, "0.0%", "25.7%"),
        (1234.5678, "#,##0.0", "1,234.6"),
        (5026716127104.225, "#,##0.00", "5,026,716,127,104.23"),
        (0.5, "0", "1"),
        (2.5, "0", "3"),
        (129.0, "#,##0", "129"),
    ],
)
def test_numbers_round_half_away_from_zero_near_ties(value: float, code: str, shown: str) -> None:
    assert format_value(value, code) == shown


def test_fixed_decimals_agree_with_exact_decimal_rounding() -> None:
    from decimal import ROUND_HALF_UP, Decimal

    rng = random.Random(22)
    for _ in range(5000):
        decimals = rng.randint(0, 3)
        value = rng.choice(
            [rng.random() * 10 ** rng.randint(0, 8), rng.randint(0, 10**6) / 10 ** (decimals + 1)]
        )
        code = "0" + ("." + "0" * decimals if decimals else "")
        exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        assert format_value(value, code) == f"{exact:f}", (value, code)


def test_a_dtd_behind_a_comment_is_refused() -> None:
    laughs = b'<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    hidden = b'<?xml version="1.0"?><!-- <x --><!-- ' + b"." * 5000 + b" -->" + laughs + b"<s>&b;</s>"
    with pytest.raises(ValueError, match="DTD"):
        parse_no_dtd(hidden)
    with pytest.raises(ValueError, match="DTD"):
        list(iterparse_no_dtd(io.BytesIO(hidden)))
    with pytest.raises(ValueError, match="DTD"):
        read_styles(io.BytesIO(hidden))
    assert parse_no_dtd(b"<s><!-- <!doctype is only text here --></s>").tag == "s"


class _Trickle(io.BytesIO):
    """A stream that hands out a few bytes at a time, so tags are cut at every place."""

    def __init__(self, data: bytes, sizes: list[int]):
        super().__init__(data)
        self.sizes, self.turn = sizes, 0

    def read(self, n: int | None = -1) -> bytes:
        size = self.sizes[self.turn % len(self.sizes)]
        self.turn += 1
        return super().read(size if n is None or n < 0 else min(n, size))


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_preview_rows_are_cut_at_any_chunk_boundary(prefix: str) -> None:
    rows = "".join(
        f'<{prefix}row r="{i}" spans="1:2"><{prefix}c r="A{i}" s="1"><{prefix}v>{i}</{prefix}v></{prefix}c>'
        f"</{prefix}row>"
        for i in range(1, 120)
    )
    xmlns = f'xmlns:x="{_MAIN}"' if prefix else f'xmlns="{_MAIN}"'
    sheet = f"<{prefix}worksheet {xmlns}><{prefix}sheetData>{rows}</{prefix}sheetData></{prefix}worksheet>"
    rng = random.Random(7)
    for last in (0, 1, 21, 60, 118, 119, 500):
        for sizes in ([1], [3, 7], [rng.randint(1, 200) for _ in range(9)], [1 << 16]):
            root = parse_no_dtd(_head_part(_Trickle(sheet.encode(), sizes), last))
            numbers = [int(r.get("r", "0")) for r in root.iter(f"{{{_MAIN}}}row")]
            assert numbers == list(range(1, min(last, 119) + 1)), (last, sizes)


def test_a_text_that_holds_two_timestamps_is_not_a_time() -> None:
    values = ["2026-12-06T08:24:00Z", "2026-12-06T08:24:00Z\n2026-12-06T08:25:00Z"]
    assert column_kind(values, values) == "text"
    assert column_kind([values[0], None], [values[0], ""]) == "time"
    html = to_html(cj.ToolResult(json.dumps([{"t": v} for v in values])))
    assert "white-space:nowrap'>2026-12-06T08:24:00Z\n" not in html


def test_sheet_xml_is_parsed_as_xml_not_as_text() -> None:
    head = _head_part(io.BytesIO(b'<worksheet xmlns="m"><sheetData><row r="1"/></sheetData></worksheet>'), 5)
    assert ET.fromstring(head).tag == "{m}worksheet"


_STYLES = [("General", None), ("0.0%", None), ("General", "center"), ("yyyy-mm-dd", "left"), ("#,##0", None)]


@pytest.mark.parametrize(
    "cells",
    [
        '<c r="A1" s="1" t="n"><v>0.5</v></c><c r="B1" s="0"><v>1</v></c><c r="C1" s="2" t="s"><v>0</v></c>',
        '<c s=\'3\' r=\'B2\'><v>46000</v></c><c r="C2"><v>3</v></c><c  r = "D2"  s = "4" ><v>5000</v></c>',
        '<c r="AB7" s="4"/><c r="E1" s="9"><v>1</v></c><c r="F1" s="x"><v>1</v></c>',
    ],
)
@pytest.mark.parametrize("prefix", ["", "x:"])
def test_styles_read_from_tags_are_the_ones_the_parser_reads(cells: str, prefix: str) -> None:
    from conjure_nb.display._sheetxml import SheetPreview, _read_parsed, _read_tags

    xmlns = f'xmlns:x="{_MAIN}"' if prefix else f'xmlns="{_MAIN}"'
    body = cells.replace("<c", f"<{prefix}c").replace("</c>", f"</{prefix}c>")
    body = body.replace("<v>", f"<{prefix}v>").replace("</v>", f"</{prefix}v>")
    cols = f'<{prefix}cols><{prefix}col min="1" max="2" width="12.5"/><{prefix}col max="4" min="3" width=\'30\'/></{prefix}cols>'
    sheet = (
        f'<{prefix}worksheet {xmlns}>{cols}<{prefix}sheetData><{prefix}row r="1">{body}</{prefix}row>'
        f"</{prefix}sheetData></{prefix}worksheet>"
    ).encode()
    parsed, tags = SheetPreview("p", [], 0, 0), SheetPreview("t", [], 0, 0)
    _read_parsed(parse_no_dtd(sheet), 50, (0, 0), _STYLES, parsed)
    _read_tags(sheet, 50, (0, 0), _STYLES, tags)
    assert (tags.formats, tags.aligns, tags.widths) == (parsed.formats, parsed.aligns, parsed.widths)
    assert tags.widths == {0: 12.5, 1: 12.5, 2: 30.0, 3: 30.0} and (tags.formats or tags.aligns)


def test_escape_is_html_escape() -> None:
    import html

    from conjure_nb.display import escape

    from .payloads import PAYLOADS

    rng = random.Random(5)
    texts = [
        *PAYLOADS,
        "",
        "&amp;",
        "'\"<>&",
        "\x1f",
        *("".join(rng.choice("&<>\"'a\x1f\n") for _ in range(12)) for _ in range(500)),
    ]
    for text in texts:
        assert escape(text) == html.escape(text, quote=True)
    assert escape(12) == "12" and escape(None) == "None"


def test_a_table_cell_holding_the_column_separator_is_escaped_alone() -> None:
    from conjure_nb.display._html import grid

    html_table = grid(["a"], [["x\x1f<b>", "<i>", "&"]])
    assert "x\x1f&lt;b&gt;" in html_table and ">&lt;i&gt;<" in html_table and ">&amp;<" in html_table


def test_a_long_digit_run_is_found_across_chunk_edges() -> None:
    from conjure_nb.display._json import _long_digit_run

    run = b"1234567890123456789"
    for at in range(0, 40):
        data = b"x" * at + run + b"y"
        assert _long_digit_run(data, chunk=16), at
        assert not _long_digit_run(data.replace(b"5", b"."), chunk=16), at


def test_records_with_ragged_keys_make_the_frame_pandas_makes() -> None:
    import pandas as pd

    records = [{"b": 1, "a": "x"}, {}, {"c": [1, 2], "a": None}, {"b": 2.5, "d": {"z": 1}}]
    df = cj.ToolResult(json.dumps(records)).dataframe
    assert df is not None and df.equals(pd.DataFrame(json.loads(json.dumps(records))))
    assert list(df.columns) == ["b", "a", "c", "d"]
