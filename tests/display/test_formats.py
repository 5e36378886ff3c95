"""Issue 22 "Outputs people can read": the xlsx preview shows what Excel shows.

Number formats are checked against values worked out by hand, then through real workbooks (written
by openpyxl, as the incident report is, and hand-made ones) read by the isolated reader.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from conjure_nb.display._numfmt import format_value, is_date_format
from conjure_nb.display._styles import MAX_STYLES, read_styles
from conjure_nb.display._xlsx import read_sheets, read_sheets_isolated
from conjure_nb.notebook.render import to_html

from .hostile import styled_xlsx
from .payloads import PAYLOADS, assert_inert

AT = dt.datetime(2026, 12, 6, 9, 24, 7, 728000)


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        (0.307, "0.0%", "30.7%"),
        (0.342934293429343, "0.0%", "34.3%"),
        (0.125, "0%", "13%"),  # half away from zero, as Excel rounds
        (5000, "#,##0", "5,000"),
        (5000.0, "#,##0", "5,000"),
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (2.675, "0.00", "2.68"),
        (5_000_000, "#,##0,", "5,000"),  # a trailing comma divides by 1,000
        (7, "00000", "00007"),
        (1.5, "0.##", "1.5"),
        (-3, "0", "-3"),
        (-5000, "#,##0;(#,##0)", "(5,000)"),
        (0, '0;-0;"zero"', "zero"),
        (12345, "0.00E+00", "1.23E+04"),
        (1234.5, "[$€-407]#,##0.00", "€1,234.50"),
        (12, '0" ms"', "12 ms"),
        (12, 'General" ms"', "12 ms"),
        (7, "[Red]0", "7"),
        (0.30700000000000005, "General", "0.307"),
        (0.30700000000000005, None, "0.307"),
        (123456789012.0, "General", "1.23456789E+11"),
        (True, "General", "TRUE"),
        (100, "[>50]0;0.0", "100"),  # conditions: shown as General
        (AT, "yyyy-mm-dd hh:mm:ss", "2026-12-06 09:24:08"),  # to the second, rounded as Excel does
        (AT, "yyyy-mm-dd", "2026-12-06"),
        (AT, "hh:mm:ss.00", "09:24:07.73"),
        (dt.datetime(2026, 12, 6, 21, 5), "h:mm AM/PM", "9:05 PM"),
        (dt.datetime(2026, 12, 6, 21, 5), "dddd, mmmm d, yyyy", "Sunday, December 6, 2026"),
        (dt.datetime(2026, 12, 6, 21, 5), "d-mmm-yy", "6-Dec-26"),
        (dt.datetime(2026, 12, 6, 21, 5), 'yyyy"y"mm', "2026y12"),  # m after y is a month
        (dt.timedelta(hours=30, minutes=5), "[h]:mm:ss", "30:05:00"),
        (46362.39175611377, "yyyy-mm-dd hh:mm:ss", "2026-12-06 09:24:08"),  # a serial number
        ("hi", '0;0;0;"<"@">"', "<hi>"),
        ("text", "0.0%", "text"),
    ],
)
def test_a_value_shows_as_its_format_says(value: object, code: str | None, shown: str) -> None:
    assert format_value(value, code) == shown


def test_which_formats_are_dates() -> None:
    assert is_date_format("yyyy-mm-dd") and is_date_format("[h]:mm") and is_date_format("h:mm AM/PM")
    assert not is_date_format("0.0%") and not is_date_format('"days"0') and not is_date_format("General")


def _report_like(path: Path, rows: int = 500) -> Path:
    """Formats, widths and times as the incident report writes them (openpyxl)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Item", "Value"])
    for label, value, fmt in [("Error rate", 0.307, "0.0%"), ("Records", 5000, "#,##0"),
                              ("Generated (UTC)", AT, "yyyy-mm-dd hh:mm:ss"), ("Ratio", 0.30700000000000005, None)]:  # fmt: skip
        ws.append([label, value])
        if fmt:
            ws.cell(row=ws.max_row, column=2).number_format = fmt
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 12
    big = wb.create_sheet("Records")
    big.append(["n", "minute (UTC)", "note"])
    for n in range(rows):
        big.append([n, AT + dt.timedelta(minutes=n), "ok"])
        big.cell(row=n + 2, column=2).number_format = "yyyy-mm-dd hh:mm"
    wb.save(path)
    return path


def test_a_workbook_shows_excel_formats_widths_and_what_is_hidden(tmp_path: Path) -> None:
    path = _report_like(tmp_path / "report.xlsx")
    html = to_html(path)
    for shown in ("30.7%", "5,000", "2026-12-06 09:24:08", ">0.307<", "2026-12-06 09:25"):
        assert shown in html, shown
    assert "0.30700000000000005" not in html and "09:24:07.728" not in html
    assert "20 of 500 rows shown, 480 hidden; 3 columns" in html
    # the widths the sheet sets (30 and 12 characters), then a width fitted to the content
    assert "<col style='width:calc(30ch + 1em)'><col style='width:calc(19ch + 1em)'>" in html, (
        "column B is 12 wide in the sheet, but its datetime needs 19: a number never shows as ####"
    )
    assert "<col style='width:calc(4ch + 1em)'><col style='width:calc(16ch + 1em)'>" in html
    # numbers and times right-aligned on one line, text left
    assert "<td style='text-align:right;white-space:nowrap'>5,000</td>" in html
    assert "<td style='text-align:left'>Error rate</td>" in html


def test_the_reader_process_gives_the_formats_and_typed_times(tmp_path: Path) -> None:
    path = _report_like(tmp_path / "report.xlsx", rows=3)
    with open(path, "rb") as f:
        isolated = read_sheets_isolated(f, max_rows=5)
    direct = read_sheets(path, max_rows=5)
    assert [(s.rows, s.formats, s.widths) for s in isolated] == [
        (s.rows, s.formats, s.widths) for s in direct
    ]
    summary = isolated[0]
    assert summary.rows[3] == ["Generated (UTC)", AT]  # a datetime again, not its text
    assert summary.formats[(1, 1)] == "0.0%" and summary.formats[(2, 1)] == "#,##0"
    assert summary.widths == {0: 30.0, 1: 12.0}


def test_wide_sheets_say_how_many_columns_are_hidden(tmp_path: Path) -> None:
    cells = [(f"{_letters(c)}{r}", c * r, 0) for r in (1, 2) for c in range(1, 101)]
    html = to_html(styled_xlsx(tmp_path / "wide.xlsx", cells, {}, [0]))
    assert "1 of 1 rows shown, 0 hidden; 60 of 100 columns shown, 40 hidden" in html


def _letters(n: int) -> str:
    out = ""
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def test_hostile_number_formats_sheet_names_and_cells_stay_text(tmp_path: Path) -> None:
    formats = {
        164: '"<script>window.__pwned=1</script>"0',
        165: "[$<img src=x onerror=alert(1)>-409]#,##0",
        166: '0;0;0;"<iframe src=http://127.0.0.1:9>"@',
        167: "\\<\\b\\>0.0%",
        168: "y" * 300,  # longer than Excel allows: not read
    }
    payload = "&lt;img src=x onerror=alert(1)&gt;"
    cells = [("A1", payload, 0), ("B1", "head", 0), ("A2", 1, 1), ("B2", 5000, 2), ("A3", "cell", 3),
             ("B3", 0.5, 4), ("A4", 42.5, 5)]  # fmt: skip
    path = styled_xlsx(
        tmp_path / "evil.xlsx", cells, formats, [0, 164, 165, 166, 167, 168], sheet_name=payload
    )
    html = to_html(path)
    assert_inert(html, host_styles=True)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;1" in html
    assert "&lt;img src=x onerror=alert(1)&gt;5,000" in html
    assert "&lt;iframe src=http://127.0.0.1:9&gt;cell" in html
    assert "&lt;b&gt;50.0%" in html and "yyyyyyyy" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 3, "sheet name, header cell and format"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_as_a_format_code_is_inert(tmp_path: Path, payload: str) -> None:
    code = '"' + payload.format(attacker="http://127.0.0.1:9").replace('"', "'") + '"0'
    path = styled_xlsx(tmp_path / "p.xlsx", [("A1", "n", 0), ("A2", 7, 1)], {170: code}, [0, 170])
    assert_inert(to_html(path), host_styles=True)


def test_a_styles_part_with_a_dtd_is_not_parsed(tmp_path: Path) -> None:
    laughs = (
        '<!DOCTYPE styleSheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    path = styled_xlsx(tmp_path / "dtd.xlsx", [("A1", "n", 0), ("A2", 0.5, 1)], {164: "0.0%"}, [0, 164],
                       styles_prolog=laughs)  # fmt: skip
    html = to_html(path)
    assert "cannot preview" not in html and ">0.5<" in html, "the cells show, as General"
    with pytest.raises(ValueError, match="DTD"):
        read_styles(io.BytesIO(b'<?xml version="1.0"?>' + laughs.encode() + b"<styleSheet/>"))


def test_styles_are_read_up_to_a_cap() -> None:
    xfs = "".join('<xf numFmtId="10"/>' for _ in range(MAX_STYLES + 10))
    xml = (
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellStyleXfs>'
        f'<xf numFmtId="3"/></cellStyleXfs><cellXfs>{xfs}</cellXfs></styleSheet>'
    )
    styles = read_styles(io.BytesIO(xml.encode()))
    assert len(styles) == MAX_STYLES and styles[0] == ("0.00%", None), "cellStyleXfs are not cell styles"
