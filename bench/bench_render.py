"""Rendering cost of the notebook layer, each figure beside a baseline measured in the same run:

- an xlsx of 3 sheets x 100k rows previewed (every sheet, first rows, row counts) with
  python-calamine on a cut-down copy, against python-calamine reading the whole sheets, openpyxl
  loading the same workbook (its default mode, as pandas uses it) and openpyxl's read-only mode
  previewing the same rows;
- a 40-page pdf previewed (page count + the first pages as PNG) against rendering every page;
- a `%%conjure run true` cell against `session.run_tool("bash_tool", command="true")` itself.

Prints JSON lines. The budget: each preview under 1 s, the cell a few ms over run_tool.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROWS = 100_000
SHEETS = 3
PAGES = 40


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def best_of(fn: Callable[[], object], n: int = 3) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    for s in range(SHEETS):
        ws = wb.create_sheet(f"sheet{s + 1}")
        ws.append(["ts", "level", "service", "latency_ms", "message"])
        for i in range(ROWS):
            ws.append([f"2026-01-01T00:{i % 60:02d}:00Z", "ERROR" if i % 17 == 0 else "INFO", f"svc-{i % 7}",
                       i % 997, f"request {i} done"])  # fmt: skip
    wb.save(path)


def openpyxl_full(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        list(ws.iter_rows(max_row=21, values_only=True))
        _ = ws.max_row


def openpyxl_read_only(path: Path) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        list(ws.iter_rows(max_row=21, values_only=True))
        _ = ws.max_row
    wb.close()


def calamine_whole(path: Path) -> None:
    """python-calamine on the original file: every sheet parsed whole before its first row."""
    import python_calamine

    with python_calamine.CalamineWorkbook.from_path(str(path)) as wb:
        for index in range(len(wb.sheet_names)):
            sheet = wb.get_sheet_by_index(index)
            list(zip(range(21), sheet.iter_rows()))


def bench_xlsx(tmp: Path) -> None:
    from conjure_nb.display.xlsx import xlsx_html

    path = tmp / "big.xlsx"
    make_xlsx(path)

    def preview() -> str:
        with open(path, "rb") as f:
            return xlsx_html(f)

    ours = best_of(preview)
    assert "100,000 rows" in preview()
    emit(bench="xlsx_preview", sheets=SHEETS, rows_per_sheet=ROWS, seconds=round(ours, 3), budget_s=1.0,
         baseline_calamine_whole_sheets_s=round(best_of(lambda: calamine_whole(path), 1), 3),
         baseline_openpyxl_load_s=round(best_of(lambda: openpyxl_full(path), 1), 3),
         baseline_openpyxl_read_only_s=round(best_of(lambda: openpyxl_read_only(path), 1), 3),
         file_mb=round(path.stat().st_size / 2**20, 1))  # fmt: skip


def make_pdf(path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for p in range(PAGES):
        c.setFont("Helvetica-Bold", 18)
        c.drawString(72, 770, f"Incident report - page {p + 1}")
        c.setFont("Helvetica", 9)
        for line in range(60):
            c.drawString(
                72, 740 - line * 11, f"{p}-{line}: ERROR db pool exhausted on pay-0{line % 3} after 30000 ms"
            )
        c.rect(72, 60, 450, 0.5 * (p + 1))
        c.showPage()
    c.save()


def bench_pdf(tmp: Path) -> None:
    from conjure_nb.display.pdf import pdf_html, pdf_pages

    path = tmp / "long.pdf"
    make_pdf(path)
    ours = best_of(lambda: pdf_html(path))
    every = best_of(lambda: pdf_pages(path, max_pages=PAGES), 1)
    emit(bench="pdf_preview", pages=PAGES, pages_shown=4, seconds=round(ours, 3), budget_s=1.0,
         baseline_render_every_page_s=round(every, 3))  # fmt: skip


def bench_cell(n: int = 40) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "conjure_nb")
    with capture_output():
        shell.run_cell("%%conjure run\ntrue")  # warm-up: opens the session, imports pandas
    from conjure_nb.notebook import loaded_magics

    session = loaded_magics(shell).store.get("default").session
    cell, direct = [], []
    for _ in range(n):  # interleaved, so machine load hits both alike
        t0 = time.perf_counter()
        with capture_output():
            shell.run_cell("%%conjure run\ntrue")
        cell.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        session.run_tool("bash_tool", command="true", description="bench")
        direct.append(time.perf_counter() - t0)
    shell.run_line_magic("unload_ext", "conjure_nb")
    c, d = statistics.median(cell) * 1000, statistics.median(direct) * 1000
    emit(bench="conjure_run_cell", runs=n, median_ms=round(c, 2), baseline_run_tool_median_ms=round(d, 2),
         overhead_ms=round(c - d, 2))  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        bench_xlsx(Path(tmp))
        bench_pdf(Path(tmp))
    bench_cell()


if __name__ == "__main__":
    main()
