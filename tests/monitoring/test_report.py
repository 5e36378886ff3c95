"""make_report.py: the incident review in xlsx and pdf, from known analyses of the demo logs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2
import pytest

from conjure_nb.testing._demo_server import DemoLogServer

from .conftest import ANALYZER, NOW, REPORTER, run_script

REPORT = REPORTER / "make_report.py"


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo hour (seed 42, 09:00-10:00) fetched over HTTP with its query saved, then analysed."""
    folder = tmp_path_factory.mktemp("analysis")
    with DemoLogServer(records=5000, seed=42, now=NOW) as live:
        done = run_script(
            ANALYZER / "fetch_logs.py",
            live.logs_url,
            "--limit",
            "5000",
            "-o",
            str(folder / "logs.jsonl"),
            "--quiet",
        )
        assert done.returncode == 0, done.stderr
    done = run_script(ANALYZER / "analyze.py", "logs.jsonl", "-o", "analysis.json", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "analysis.json"


@pytest.fixture(scope="module")
def made(analysis: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("report")
    summary = make(str(analysis), "--out-dir", str(out), "--generated-at", "2026-03-14T10:05:00Z")
    return {"summary": summary, **{f["format"]: Path(f["path"]) for f in summary["files"]}}


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


def test_page_one_tells_the_incident_in_words(made: dict[str, Any]) -> None:
    """The demo hour: two incidents resolved earlier, and the pool exhaustion still going on at 10:00."""
    summary = made["summary"]
    title = "ONGOING: Database connection pool exhausted in payment-service, since 09:50 UTC, 14 Mar 2026"
    assert summary["title"] == title and summary["health"] == "critical"
    pages = pdf_text(made["pdf"])
    first = " ".join(pages[0].split())
    for needed in (
        title,
        "Generated 2026-03-14 10:05 UTC",
        "/api/logs (json API)",
        "the newest 5,000 records",
        "CRITICAL",
        "critical in all 5,000 records the source holds, 09:00–09:59 UTC.",
        "Window analysed: 5,000 records (of the 5,000 the source holds), 09:00:00 to 09:59:58 UTC (60 min)",
        "No limit cut it short.",
        "Summary",
        "Impact",
    ):
        assert needed in first, needed
    assert "Timeline" in pages[1]
    story = " ".join(summary["summary"].split())
    assert story.startswith(
        "On 14 March 2026 from 09:12 to 09:15 UTC (3 min): HTTP 5xx server errors in order-service"
    )
    assert "Errors were back to the usual level at 09:15." in story  # resolved
    assert "Later, from 09:30 to 09:32 UTC (2 min): Processes killed for running out of memory" in story
    assert (
        "ONGOING since 09:50 UTC (10 min), still failing at the end of the window (10:00 UTC): "
        "Database connection pool exhausted in payment-service from 09:50" in story
    )
    assert "Upstream timeouts followed in api-gateway from 09:52" in story
    assert 'first warning sign came at 09:44 from payment-service: "Connection pool usage at' in story
    assert "HTTP 504 Gateway Timeout" in story and story[:300] in first
    assert "Database connection pool exhausted (251 events, ongoing)" in summary["why"]
    assert "HTTP 5xx server errors (129 events, resolved)" in summary["why"]
    everything = " ".join(" ".join(pages).split())
    for internal in ("connection_pool_exhausted", "upstream_timeout", "<num>", "MAD", "logs.jsonl"):
        assert internal not in everything, internal
    assert len(pages) == summary["files"][1]["pages"]
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in text


def test_impact_and_timeline_from_the_analysis(made: dict[str, Any], analysis: Path) -> None:
    a = json.loads(analysis.read_text())
    book = openpyxl.load_workbook(made["xlsx"])
    items = {row[0]: row[1] for row in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert items["State"] == "ONGOING: errors continue to the end of the window"
    assert items["Incident window start"] == datetime(2026, 3, 14, 9, 50)
    assert items["Incident window end"] == datetime(2026, 3, 14, 10, 0)
    assert items["Duration (minutes)"] == 10 and items["First warning sign"] == datetime(
        2026, 3, 14, 9, 44, 50, 443000
    )
    assert items["Other incidents"] == (
        "HTTP 5xx server errors in order-service (130 errors, resolved); "
        "Processes killed for running out of memory in inventory-service (18 errors, resolved)"
    )
    in_window = [
        p for p in a["timeline"]["points"] if "2026-03-14T09:50Z" <= p["minute"] <= "2026-03-14T09:59Z"
    ]
    assert items["Errors in the window"] == sum(p["errors"] for p in in_window)
    assert items["Error rate in the window"] == pytest.approx(
        sum(p["errors"] for p in in_window) / sum(p["total"] for p in in_window)
    )
    assert items["Affected hosts"] == "pay-01, pay-02, gw-02, gw-01" and items["Records analysed"] == 5000
    assert items["Generated (UTC)"] == datetime(2026, 3, 14, 10, 5)
    # the window, from analysis.json's own
    window = a["window"]
    assert window["records"] == items["Records the source holds"] == 5000 and window["truncated"] is False
    assert items["Window start"] == datetime.fromisoformat(window["start"][:-1])
    assert items["Window end"] == datetime.fromisoformat(window["end"][:-1])
    assert items["Cut by a limit"] == "no" and items["Asked for"] == "everything the source holds"
    assert items["Verdict"] == a["health"]["headline"]
    assert items["Window analysed"].startswith("5,000 records (of the 5,000 the source holds), 09:00:00 to")
    events = [row for row in book["Timeline"].iter_rows(min_row=2, values_only=True)]
    kinds = [(e[3], e[1]) for e in events]
    assert kinds.index(("First error", "order-service")) < kinds.index(("Recovery", "order-service"))
    early = kinds.index(("Early warning", "payment-service"))
    pool = kinds.index(("First error", "payment-service"))
    gateway = kinds.index(("First error", "api-gateway"))
    assert early < pool < gateway < kinds.index(("Still failing", "payment-service, api-gateway"))
    assert ("Recovery", "payment-service, api-gateway") not in kinds
    assert [e[0] for e in events] == sorted(e[0] for e in events)


def test_evidence_is_unmasked_with_time_and_host(made: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(made["xlsx"])
    rows = list(book["Evidence"].iter_rows(min_row=2, values_only=True))
    cert = next(r for r in rows if r[0] == "TLS certificate expiring")
    assert cert[9] == "TLS certificate for auth.internal.example.com expires in 6 days (2026-03-20T00:00:00Z)"
    assert cert[7] == "auth-01" and isinstance(cert[6], datetime) and cert[6] == cert[4]
    assert all("<num>" not in str(r[9]) and r[7] != "-" for r in rows)
    assert "expires in 6 days (2026-03-20T00:00:00Z)" in " ".join(pdf_text(made["pdf"]))


def test_action_items_ranked_with_columns_for_people(made: dict[str, Any]) -> None:
    sheet = openpyxl.load_workbook(made["xlsx"])["Action items"]
    assert [c.value for c in sheet[1]] == [
        "Priority",
        "Action",
        "Why",
        "Services",
        "Events",
        "Owner",
        "Due",
        "Status",
    ]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == sorted(r[0] for r in rows) and rows[0][0] == "P1"
    assert (
        rows[0][2].startswith("Database connection pool exhausted")
        and rows[0][5] is None
        and rows[0][7] is None
    )
    assert sheet["G2"].number_format == "yyyy-mm-dd" and sheet.data_validations.dataValidation


def test_xlsx_stores_numbers_dates_and_native_charts(made: dict[str, Any], analysis: Path) -> None:
    a = json.loads(analysis.read_text())
    book = openpyxl.load_workbook(made["xlsx"])
    assert book.sheetnames == [
        "Summary",
        "Timeline",
        "Per minute",
        "Evidence",
        "By service",
        "By host",
        "Action items",
        "Appendix",
    ]
    for sheet in book.worksheets:
        assert (
            sheet.freeze_panes == "A2" and sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
        )
    minute = book["Per minute"]
    assert minute["A2"].value == datetime(2026, 3, 14, 9, 0) and minute["A2"].is_date
    assert isinstance(minute["C2"].value, int) and minute.max_row == 61
    evidence = book["Evidence"]
    assert isinstance(evidence["D2"].value, float) and "%" in evidence["D2"].number_format
    hosts = {r[0]: r for r in book["By host"].iter_rows(min_row=2, values_only=True)}
    assert hosts["pay-02"][2] == a["errors_by_host"]["pay-02"] and hosts["pay-02"][1] == "payment-service"
    services = book["By service"]
    assert isinstance(services["D2"].value, float) and services["D2"].number_format == "0.0%"
    assert [len(book[n]._charts) for n in ("Timeline", "By service", "By host")] == [1, 1, 1]
    assert made["summary"]["files"][0]["charts"] == 3


def test_the_workbook_opens_in_libreoffice(made: dict[str, Any], tmp_path: Path) -> None:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc)")
    profile = tmp_path / "profile"
    done = subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(made["xlsx"]),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = " ".join(pdf_text(tmp_path / "incident-report.pdf"))
    assert "Database connection pool exhausted" in text and "pay-02" in text


def test_pdf_embeds_chart_images(made: dict[str, Any]) -> None:
    pdf = pypdfium2.PdfDocument(str(made["pdf"]))
    try:
        images = 0
        for page in pdf:
            images += sum(1 for obj in page.get_objects() if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE)
            page.close()
    finally:
        pdf.close()
    assert images >= 3  # the timeline, errors by service, errors by host


def test_a_plain_file_without_a_fetch_summary(tmp_path: Path) -> None:
    from conjure_nb.testing._demo_generator import write_jsonl

    write_jsonl(tmp_path / "app.jsonl", 2000, seed=42)
    assert run_script(ANALYZER / "analyze.py", "app.jsonl", "-o", "a.json", cwd=tmp_path).returncode == 0
    summary = make(str(tmp_path / "a.json"), "--out-dir", str(tmp_path / "r"), "--title", "Checkout incident")
    assert summary["title"] == "Checkout incident"
    first = " ".join(pdf_text(tmp_path / "r" / "incident-report.pdf")[0].split())
    assert "Source: file app.jsonl (jsonl format)" in first


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
    assert summary["health"] == "unknown" and "no log records" in summary["summary"]
    book = openpyxl.load_workbook(tmp_path / "incident-report.xlsx")
    assert book["Action items"]["C2"].value == "No known failure pattern matched"
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
    assert "ISO 8601" in make(str(wrong), "--generated-at", "soon", code=1)["stderr"]
