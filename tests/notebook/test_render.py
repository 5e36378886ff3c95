"""Rendering of tool results, generated xlsx/pdf files, images, tables and analyses."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import conjure_nb as cj
from conjure_nb.display._pdf import pdf_pages
from conjure_nb.display._xlsx import read_sheets
from conjure_nb.notebook.render import FileOptions, to_html

from .conftest import Shell


def _xlsx(path: Path, rows: int = 5) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["metric", "value"])
    ws.append(["errors", 3])
    ws.append(["warnings", 4])
    ws.append(["total", "=SUM(B2:B3)"])  # openpyxl stores no cached value
    big = wb.create_sheet("Records")
    big.append(["n", "square"])
    for n in range(rows):
        big.append([n, n * n])
    wb.save(path)
    return path


def _pdf(path: Path, pages: int) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for i in range(pages):
        c.drawString(72, 720, f"Page {i + 1}")
        c.showPage()
    c.save()
    return path


def test_xlsx_every_sheet_with_formulas_and_row_counts(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "report.xlsx", rows=500)
    sheets = read_sheets(path, max_rows=21)
    assert [s.name for s in sheets] == ["Summary", "Records"]
    assert sheets[0].formulas == {(3, 1): "=SUM(B2:B3)"}
    assert sheets[1].total_rows == 501 and len(sheets[1].rows) == 21
    html = to_html(path)
    assert "<h4 style='margin:0.6em 0 0.2em'>Summary</h4>" in html and ">Records</h4>" in html
    assert "=SUM(B2:B3)" in html  # a formula with no cached value shows the formula
    assert "20 of 500 rows shown, 480 hidden; 2 columns" in html
    assert 'download="report.xlsx"' in html


def test_big_workbooks_are_cut_down_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path big files take (a copy with only the preview rows) gives the same preview."""
    from conjure_nb.display import _xlsx as sheets_mod

    path = _xlsx(tmp_path / "report.xlsx", rows=500)
    whole = to_html(path)
    monkeypatch.setattr(sheets_mod, "SMALL_XLSX", 0)
    cut = read_sheets(path, max_rows=21)
    assert [(s.name, s.total_rows, len(s.rows)) for s in cut] == [("Summary", 4, 4), ("Records", 501, 21)]
    assert to_html(path) == whole


def test_xlsx_cached_formula_values_are_shown(tmp_path: Path) -> None:
    """A workbook saved by a spreadsheet app carries cached values; simulate one by editing the XML."""
    import zipfile

    src = _xlsx(tmp_path / "a.xlsx")
    dst = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>SUM(B2:B3)</f><v></v>", b"<f>SUM(B2:B3)</f><v>7</v>")
                data = data.replace(b"<f>SUM(B2:B3)</f><v />", b"<f>SUM(B2:B3)</f><v>7</v>")
            zout.writestr(item, data)
    html = to_html(dst)
    assert "<span title='=SUM(B2:B3)'>7</span>" in html, html[:2000]


def test_pdf_pages_capped_with_page_count(tmp_path: Path) -> None:
    from PIL import Image

    path = _pdf(tmp_path / "long.pdf", pages=9)
    pngs, count = pdf_pages(path, max_pages=3)
    assert count == 9 and len(pngs) == 3
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    assert Image.open(io.BytesIO(pngs[0])).width == 1000, "pages are rendered large enough to read"
    html = to_html(path, FileOptions(max_pages=3))
    assert "9 pages; the first 3 shown" in html
    # the first page open at full size; the next two as thumbnails that open their full-size page
    assert html.count("data:image/png;base64,") == 3 + 2
    assert html.count("<details open") == 1 and html.count("<details") == 3
    for n in (1, 2, 3):
        assert f"page {n} of 9" in html
    assert "width:1000px;max-width:100%" in html


def test_images_tables_and_text(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (4, 4), "red").save(tmp_path / "dot.png")
    (tmp_path / "rows.json").write_text(json.dumps([{"a": 1}, {"a": 2}]))
    (tmp_path / "rows.csv").write_text("x,y\n1,2\n3,4\n")
    (tmp_path / "notes.txt").write_text("z" * 10_000)
    assert '<img src="data:image/png;base64,' in to_html(tmp_path / "dot.png")
    assert "<table" in to_html(tmp_path / "rows.json") and "<table" in to_html(tmp_path / "rows.csv")
    text = to_html(tmp_path / "notes.txt")
    assert "7,000 more characters not shown (10,000 in all)" in text


def test_download_link_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"\x00\x01binary")
    html = to_html(path)
    b64 = re.search(r'href="data:application/octet-stream;base64,([^"]+)"', html)
    assert b64 and base64.b64decode(b64.group(1)) == b"\x00\x01binary"
    big = to_html(path, FileOptions(max_link_bytes=3))
    assert "too big to embed" in big and "href=" not in big


def test_broken_and_missing_files_say_why(tmp_path: Path) -> None:
    (tmp_path / "bad.xlsx").write_text("not a zip")
    assert "cannot preview bad.xlsx" in to_html(tmp_path / "bad.xlsx")
    assert "no such file" in to_html(
        cj.CreatedFile(str(tmp_path / "gone.txt"), "gone.txt", 1, None, "text/plain")
    )
    hosted = cj.CreatedFile(None, "r.xlsx", None, None, "application/x", file_id="file_1")
    assert "download_files" in to_html(hosted)


def test_tool_result_table_text_and_error() -> None:
    table = cj.ToolResult('[{"a": 1, "b": 2}]', stdout='[{"a": 1, "b": 2}]', exit_code=0)
    assert "DataFrame: 1 rows x 2 columns" in to_html(table)
    long = cj.ToolResult("x" * 9000, exit_code=0)
    assert "6,000 more characters not shown (9,000 in all)" in to_html(long)
    err = cj.ToolResult("exit code 2\nstderr: boom", is_error=True, exit_code=2)
    html = to_html(err)
    assert "tool failed" in html and "boom" in html and "exit 2" in html


def test_response_answer_files_and_folded_trace(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "r.xlsx")
    rec = cj.ToolCallRecord(
        tool="bash_tool",
        input={"command": "python3 x.py"},
        is_error=False,
        exit_code=0,
        duration_ms=12.0,
        backend="local",
    )
    created = cj.CreatedFile(str(path), "r.xlsx", path.stat().st_size, None, "application/x")
    resp = cj.Response("# Title\n\n<script>alert(1)</script> **bold**", "end_turn", {"input_tokens": 5},
                       [rec], [created], [], 2)  # fmt: skip
    html = to_html(resp)
    assert html.index("<h1>Title</h1>") < html.index(">Summary</h4>") < html.index("<details>")
    assert "<script>" not in html and "&lt;script&gt;" in html  # a model cannot inject markup
    assert "python3 x.py" in html and "Tokens: input tokens 5" in html


def _analysis() -> dict[str, object]:
    return {
        "summary": {"total": 100, "levels": {"ERROR": 10, "INFO": 90}, "error_rate": 0.1,
                    "first_timestamp": "2026-01-01T00:00:00Z", "last_timestamp": "2026-01-01T01:00:00Z"},
        "health": {"status": "critical", "rule": "error rate above 5%"},
        "timeline": {"bucket_minutes": 1, "points": [{"minute": f"2026-01-01T00:{m:02d}:00Z", "errors": m % 3,
                                                       "warnings": 1, "total": 5} for m in range(30)]},
        "anomalies": [{"start": "2026-01-01T00:10:00Z", "end": "2026-01-01T00:12:00Z"}],
        "top_errors": [{"signature": "db pool exhausted", "count": 7, "share": 0.7}],
    }  # fmt: skip


def test_analysis_charts() -> None:
    html = to_html(_analysis())
    assert "Health: " in html and "critical" in html and "error rate 10.0%" in html
    png = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert png is not None
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png.group(1))))
    assert image.width > 600  # three charts side by side
    assert "db pool exhausted" in html


def test_analysis_without_chartable_parts_still_renders() -> None:
    html = to_html({"summary": {"total": 0}, "health": {"status": "healthy", "rule": "no errors"}})
    assert "healthy" in html and "data:image/png" not in html


def test_show_displays_each_value(ip: Shell) -> None:
    df = pd.DataFrame({"a": [1]})
    with capture_output() as io_:
        cj.show(df, cj.ToolResult("hi", exit_code=0), {"k": [1, 2]}, metadata={"x": 1})
    assert len(io_.outputs) == 3
    assert "hi" in io_.outputs[1].data["text/html"]
    assert io_.outputs[2].metadata == {"x": 1}


@pytest.mark.parametrize("value", [None, 3, "plain words", [1, "two"]])
def test_show_any_json_value(value: object) -> None:
    assert to_html(value).startswith('<div class="conjure-nb"')


def test_json_object_output_is_a_tree() -> None:
    html = to_html(
        cj.ToolResult('{"health": {"status": "ok"}}', stdout='{"health": {"status": "ok"}}', exit_code=0)
    )
    assert "<div>health: {&quot;status&quot;: &quot;ok&quot;}</div>" in html, "small values on one line"


def test_response_keeps_what_the_model_said_on_the_way() -> None:
    S = cj.ScriptedModel
    model = S([S.reply("First I *look*.", S.tool_use("bash_tool", command="true", description="x")), "Done."])
    with cj.Session.new_local([], model=model) as s:
        html = to_html(s.chat("go"))
    assert html.index("<p>Done.</p>") < html.index("<details>") < html.index("First I <em>look</em>.")


def test_monitoring_results_are_rendered_by_their_type_not_their_fields() -> None:
    """An object that merely has a MonitoringResult's fields is not taken for one."""
    from types import SimpleNamespace

    from conjure_nb.notebook.render import to_html

    lookalike = SimpleNamespace(analysis={}, report_files=[], logs_fetched=3, mode="pipeline")
    assert "log records from" not in to_html(lookalike)
