"""make_report.py: the xlsx (four sheets and a chart) and the pdf (charts, "Page N of M")."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2
import pytest

from conjure_nb.demo.generator import write_jsonl

from .conftest import ANALYZER, REPORTER, run_script

REPORT = REPORTER / "make_report.py"


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("analysis")
    write_jsonl(folder / "logs.jsonl", 2500, seed=42)
    done = run_script(
        ANALYZER / "analyze.py", str(folder / "logs.jsonl"), "-o", str(folder / "analysis.json")
    )
    assert done.returncode == 0, done.stderr
    return folder / "analysis.json"


def make(*args: str, env: dict[str, str] | None = None, code: int = 0) -> dict[str, Any]:
    done = run_script(REPORT, *args, env=env)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout) if code == 0 else {"stderr": done.stderr}


def pdf_text(path: Path) -> list[str]:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        pages = []
        for page in pdf:
            text = page.get_textpage()
            pages.append(text.get_text_range())
            text.close()
            page.close()
        return pages
    finally:
        pdf.close()


def test_both_files_are_written_with_their_sections(analysis: Path, tmp_path: Path) -> None:
    summary = make(str(analysis), "--out-dir", str(tmp_path / "out"), "--title", "Checkout incident")
    assert summary["title"] == "Checkout incident" and summary["health"] == "critical"
    files = {f["format"]: f for f in summary["files"]}
    xlsx, pdf = Path(files["xlsx"]["path"]), Path(files["pdf"]["path"])
    assert xlsx == tmp_path / "out" / "incident-report.xlsx" and xlsx.stat().st_size == files["xlsx"]["bytes"]

    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["Executive Summary", "Error Details", "Recommendations", "Timeline"]
    summary_sheet = book["Executive Summary"]
    assert summary_sheet["A1"].value == "Checkout incident" and summary_sheet["B4"].value == "CRITICAL"
    metrics = {
        row[0]: row[1] for row in summary_sheet.iter_rows(min_row=7, max_col=2, values_only=True) if row[0]
    }
    assert metrics["Total records"] == 2500 and metrics["Health status"] == "CRITICAL"
    errors = book["Error Details"]
    assert [c.value for c in errors[1]][:3] == ["Signature", "Level", "Count"]
    assert any(str(c.value).startswith("Connection pool exhausted") for c in errors["A"])
    recs = book["Recommendations"]
    assert recs["C2"].value == "Database connection pool exhausted" and recs["F2"].value
    timeline = book["Timeline"]
    assert len(timeline._charts) == 1 and timeline["A2"].value == "2026-03-14T09:00Z"
    assert timeline.max_row >= 61

    pages = pdf_text(pdf)
    assert len(pages) == files["pdf"]["pages"] >= 4
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in text
    everything = "\n".join(pages)
    for heading in ("Checkout incident", "Executive summary", "Timeline", "Error details", "Recommendations"):
        assert heading in everything
    assert "Database connection pool exhausted" in everything and "<num>" in everything


def test_pdf_embeds_chart_images(analysis: Path, tmp_path: Path) -> None:
    summary = make(str(analysis), "--out-dir", str(tmp_path), "--format", "pdf")
    assert [f["format"] for f in summary["files"]] == ["pdf"]
    pdf = pypdfium2.PdfDocument(summary["files"][0]["path"])
    try:
        images = 0
        for page in pdf:
            images += sum(1 for obj in page.get_objects() if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE)
            page.close()
    finally:
        pdf.close()
    assert images >= 2  # the timeline and the errors-by-service charts


def test_unwritable_home_and_stdin(analysis: Path, tmp_path: Path) -> None:
    """As in the docker sandbox: HOME cannot be written (here: it does not exist; root ignores modes)."""
    home = tmp_path / "missing" / "home"
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"} | {"HOME": str(home)}
    done = run_script(
        REPORT, "-", "--out-dir", str(tmp_path / "r"), "--name", "weekly", stdin=analysis.read_text(), env=env
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert sorted(Path(f["path"]).name for f in summary["files"]) == ["weekly.pdf", "weekly.xlsx"]
    assert not (tmp_path / "missing").exists()
    assert not [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("mplconfig-*")]


def test_empty_analysis_still_makes_a_report(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    analysis = tmp_path / "analysis.json"
    assert run_script(ANALYZER / "analyze.py", str(empty), "-o", str(analysis)).returncode == 0
    summary = make(str(analysis), "--out-dir", str(tmp_path))
    assert summary["health"] == "unknown"
    book = openpyxl.load_workbook(tmp_path / "incident-report.xlsx")
    assert book["Recommendations"]["C2"].value == "No known failure pattern matched"
    assert all("Page" in text for text in pdf_text(tmp_path / "incident-report.pdf"))


def test_bad_input_and_usage(tmp_path: Path) -> None:
    not_json = tmp_path / "x.json"
    not_json.write_text("hello")
    assert "not JSON" in make(str(not_json), code=1)["stderr"]
    wrong = tmp_path / "y.json"
    wrong.write_text('{"records": []}')
    assert "run analyze.py first" in make(str(wrong), code=1)["stderr"]
    assert "cannot read" in make(str(tmp_path / "missing.json"), code=1)["stderr"]
    assert run_script(REPORT, str(wrong), "--format", "docx").returncode == 2
