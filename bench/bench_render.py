"""Rendering cost of the notebook layer, each figure beside a baseline measured in the same run:

- an xlsx of 3 sheets x 100k rows previewed (every sheet, first rows, row counts) with
  python-calamine on a cut-down copy, against python-calamine reading the whole sheets, openpyxl
  loading the same workbook (its default mode, as pandas uses it) and openpyxl's read-only mode
  previewing the same rows;
- a 40-page pdf previewed (page count + the first pages as PNG) against rendering every page;
- a `%%conjure run true` cell against `session.run_tool("bash_tool", command="true")` itself;
- the tutorials' outputs (the model's Markdown answer, the incident report's xlsx and pdf made by the
  bundled skills from the demo logs, a chart PNG, a JSON table tool output, and a 20,000-column JSON
  output) rendered by the display layer (sanitizer, checks before parsing, the xlsx reader process)
  beside the render path before it (markdown-it alone, calamine in-process, whole DataFrames),
  measured in the same run.

Prints JSON lines. The budget: each preview under 1 s, the cell a few ms over run_tool, and the
tutorials' outputs about as fast as before.
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
    from conjure_nb.display._xlsx import xlsx_html

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
    from conjure_nb.display._pdf import pdf_html, pdf_pages

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


ANSWER = """## Health: critical

The payment service failed for **14 minutes** (09:41-09:55): `db pool exhausted` on pay-01..03.

| service | records | errors | error rate |
|---|---:|---:|---:|
| payment-service | 1,204 | 312 | 25.9% |
| api-gateway | 2,310 | 41 | 1.8% |
| auth | 988 | 3 | 0.3% |

### What to do

1. Raise the pool size of `pay-*` from 20 to 50 and watch `pool_wait_ms`.
2. Add a circuit breaker in the gateway.

```python
pool = create_pool(size=50, timeout_ms=30_000)
```

The report is in `reports/incident.xlsx` and `reports/incident.pdf`.
"""


def make_report(tmp: Path) -> tuple[Path, Path, Path]:
    """The tutorials' report: demo logs over HTTP -> analyze.py -> make_report.py (xlsx, pdf)."""
    import subprocess
    import sys

    from conjure_nb.testing._demo_server import DemoLogServer

    root = Path(__file__).resolve().parents[1] / "skills"
    analyzer, reporter = root / "log-analyzer" / "scripts", root / "incident-report" / "scripts"
    with DemoLogServer(records=5000, seed=42) as live:
        subprocess.run([sys.executable, str(analyzer / "fetch_logs.py"), live.logs_url, "--limit", "5000",
                        "-o", str(tmp / "logs.jsonl"), "--quiet"], check=True)  # fmt: skip
    subprocess.run([sys.executable, str(analyzer / "analyze.py"), "logs.jsonl", "-o", "analysis.json"],
                   cwd=tmp, check=True, capture_output=True)  # fmt: skip
    done = subprocess.run([sys.executable, str(reporter / "make_report.py"), "analysis.json", "--out-dir",
                           "reports"], cwd=tmp, check=True, capture_output=True)  # fmt: skip
    files = {f["format"]: Path(f["path"]) for f in json.loads(done.stdout)["files"]}
    xlsx, pdf = (p if p.is_absolute() else tmp / p for p in (files["xlsx"], files["pdf"]))
    return xlsx, pdf, tmp / "analysis.json"


def old_markdown(text: str) -> str:
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough").render(text))


def old_xlsx(path: Path) -> str:
    """The preview before the display layer: calamine in this process, no checks."""
    import python_calamine

    from conjure_nb.display._xlsx import SheetPreview, _formulas, sheet_html

    out = []
    with python_calamine.CalamineWorkbook.from_path(str(path)) as wb, open(path, "rb") as f:
        for index, name in enumerate(wb.sheet_names):
            sheet = wb.get_sheet_by_index(index)
            rows = [list(r) for _, r in zip(range(21), sheet.iter_rows())]
            start = sheet.start or (0, 0)
            preview = SheetPreview(name, rows, sheet.height, sheet.width, _formulas(f, index, 21, start))
            out.append(sheet_html(preview))
    return "".join(out)


def old_table(text: str) -> str:
    """Before: the whole output as a DataFrame, then its head as HTML."""
    import pandas as pd

    df = pd.DataFrame(json.loads(text))
    return str(df.head(20).to_html(border=0, index=False))


def old_image(path: Path) -> str:
    import base64

    return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def bench_tutorial_outputs(tmp: Path) -> None:
    from conjure_nb.display import markdown_html
    from conjure_nb.display._images import image_html
    from conjure_nb.display._pdf import pdf_html, pdf_pages
    from conjure_nb.display._tables import parse_table, table_head_html
    from conjure_nb.display._xlsx import xlsx_html
    from conjure_nb.monitoring._charts import analysis_charts_png

    xlsx, pdf, analysis = make_report(tmp)
    png = tmp / "chart.png"
    png.write_bytes(analysis_charts_png(json.loads(analysis.read_text())) or b"")
    table = json.dumps([{"host": f"web-{i}", "errors": i % 7, "p95_ms": i * 3.5} for i in range(200)])
    wide = json.dumps([{f"c{i}": i for i in range(20_000)}])

    def opened(fn: Callable[..., object], path: Path) -> Callable[[], object]:
        def run() -> object:
            with open(path, "rb") as f:
                return fn(f)

        return run

    def new_table(text: str) -> str:
        head = parse_table(text, 20, 60)
        assert head is not None
        return table_head_html(head, 20)

    cases = {
        "answer_markdown": (lambda: old_markdown(ANSWER), lambda: markdown_html(ANSWER)),
        "report_xlsx": (lambda: old_xlsx(xlsx), opened(xlsx_html, xlsx)),
        "report_pdf": (lambda: pdf_pages(pdf, 4), opened(pdf_html, pdf)),
        "chart_png": (lambda: old_image(png), opened(lambda f: image_html(f, "chart.png", ".png"), png)),
        "tool_output_table": (lambda: old_table(table), lambda: new_table(table)),
        "tool_output_20k_columns": (lambda: old_table(wide), lambda: new_table(wide)),
    }
    before_total = after_total = 0.0
    for name, (before, after) in cases.items():
        after()  # warm: imports, the xlsx reader process
        b, a = best_of(before, 5), best_of(after, 5)
        if name != "tool_output_20k_columns":
            before_total, after_total = before_total + b, after_total + a
        emit(bench="tutorial_output", item=name, before_ms=round(b * 1000, 2), after_ms=round(a * 1000, 2))
    emit(bench="tutorial_outputs_total", before_ms=round(before_total * 1000, 2),
         after_ms=round(after_total * 1000, 2), ratio=round(after_total / before_total, 2))  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        bench_tutorial_outputs(Path(tmp))
        bench_xlsx(Path(tmp))
        bench_pdf(Path(tmp))
    bench_cell()


if __name__ == "__main__":
    main()
