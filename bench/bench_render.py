"""Rendering cost of the notebook layer, each figure beside a baseline measured in the same run:

- an xlsx of 3 sheets x 100k rows previewed (every sheet, first rows, row counts) with
  python-calamine on a cut-down copy, against python-calamine reading the whole sheets, openpyxl
  loading the same workbook (its default mode, as pandas uses it) and openpyxl's read-only mode
  previewing the same rows;
- a 40-page pdf previewed (page count + the first pages as PNG) against rendering every page;
- a `%%conjure run true` cell against `session.run_tool("bash_tool", command="true")` itself;
- the outputs a notebook shows (the model's Markdown answer, the incident report's xlsx and pdf made
  by the bundled skills from the demo logs, a chart PNG, tool outputs: a table, log records, the
  analysis JSON, long text, a 20,000-column JSON; and `.dataframe` of 5,000 log records), rendered by
  this checkout and by the code before issue 22's readable outputs (`--before REF`, default
  `BEFORE`: its `conjure_nb/` taken with `git archive` into a temp dir), each in its own process,
  alternating, in the same run. Each line gives both times and both HTML sizes, as wall time and as
  CPU time (this process and its reader process: what the code costs when other work shares the
  machine); `--noise` runs the before code a second time in the same rotation and gives how far it
  is from itself.

Prints JSON lines. The budget: each preview under 1 s, the cell a few ms over run_tool, and no
output slower than before.
"""

from __future__ import annotations

import contextlib
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
    from conjure_nb.display._pdf import DEFAULT_MAX_PAGES, pdf_html, pdf_pages

    path = tmp / "long.pdf"
    make_pdf(path)
    ours = best_of(lambda: pdf_html(path))
    every = best_of(lambda: pdf_pages(path, max_pages=PAGES), 1)
    emit(bench="pdf_preview", pages=PAGES, pages_shown=DEFAULT_MAX_PAGES, seconds=round(ours, 3), budget_s=1.0,
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


BEFORE = "1e2aabc"  # main just before issue 22's readable outputs landed
ROUNDS = 5


def make_inputs(tmp: Path) -> None:
    """The files and texts every worker renders: the tutorials' report, a chart, tool outputs."""
    from conjure_nb.monitoring._charts import analysis_charts_png

    xlsx, pdf, analysis = make_report(tmp)
    (tmp / "report.xlsx").write_bytes(xlsx.read_bytes())
    (tmp / "report.pdf").write_bytes(pdf.read_bytes())
    (tmp / "analysis.txt").write_text(analysis.read_text())
    (tmp / "chart.png").write_bytes(analysis_charts_png(json.loads(analysis.read_text())) or b"")
    records = [json.loads(line) for line in (tmp / "logs.jsonl").read_text().splitlines()]
    (tmp / "records200.txt").write_text(json.dumps(records[:200]))
    (tmp / "records5000.txt").write_text(json.dumps(records[:5000]))
    (tmp / "table.txt").write_text(json.dumps([{"host": f"web-{i}", "errors": i % 7, "p95_ms": i * 3.5}
                                               for i in range(200)]))  # fmt: skip
    (tmp / "wide.txt").write_text(json.dumps([{f"c{i}": i for i in range(20_000)}]))
    (tmp / "text.txt").write_text("\n".join(r["message"] for r in records[:3000]))


def worker(tmp: Path) -> None:
    """Render every case with the `conjure_nb` this process imports; print one JSON object."""
    import conjure_nb as cj
    from conjure_nb.display import markdown_html
    from conjure_nb.notebook.render import to_html

    def result(name: str) -> Callable[[], object]:
        text = (tmp / name).read_text()
        return lambda: to_html(cj.ToolResult(text, stdout=text, exit_code=0))

    records = (tmp / "records5000.txt").read_text()
    cases: dict[str, Callable[[], object]] = {
        "answer_markdown": lambda: markdown_html(ANSWER),
        "report_xlsx": lambda: to_html(tmp / "report.xlsx"),
        "report_pdf": lambda: to_html(tmp / "report.pdf"),
        "chart_png": lambda: to_html(tmp / "chart.png"),
        "tool_output_table": result("table.txt"),
        "tool_output_log_records": result("records200.txt"),
        "tool_output_analysis_json": result("analysis.txt"),
        "tool_output_long_text": result("text.txt"),
        "tool_output_20k_columns": result("wide.txt"),
        "dataframe_5000_log_records": lambda: cj.ToolResult(records, stdout=records, exit_code=0).dataframe,
    }
    out = {"module": cj.__file__}
    for name, fn in cases.items():
        shown = fn()  # warm: imports, the xlsx reader process
        wall, cpu = best_wall_and_cpu(fn, 5)
        out[name] = {"s": wall, "cpu_s": cpu, "html_bytes": len(shown) if isinstance(shown, str) else None}
    print(json.dumps(out), flush=True)


def best_wall_and_cpu(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """The least wall time of `n` calls, and the least CPU time: this process's and its child
    processes' (the xlsx reader), from /proc/PID/schedstat. On a machine other work keeps busy, CPU
    time says what the code costs; wall time, what a person waits."""
    children = _children()
    walls, cpus = [], []
    for _ in range(n):
        c0, t0 = _cpu(children), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu(children) - c0)
    return min(walls), min(cpus)


def _children() -> list[int]:
    import os

    me, found = str(os.getpid()), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[-1].split()[1] == me:  # the field after the state: the parent's pid
                found.append(int(entry))
    return found


def _cpu(children: list[int]) -> float:
    total = time.process_time()
    for pid in children:
        with contextlib.suppress(OSError, ValueError, IndexError):  # it ended: nothing more to count
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    return total


def before_tree(ref: str, into: Path) -> Path:
    """`conjure_nb/` as it was at `ref`, extracted into `into` (the repository is only read)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(root), "archive", ref, "conjure_nb"], check=True,
                             capture_output=True).stdout  # fmt: skip
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def bench_outputs(
    tmp: Path, ref: str, after: str | None = None, rounds: int = ROUNDS, noise: bool = False
) -> None:
    """Each output rendered by the code at `ref` and by this checkout (or by the code at `after`), in
    alternating processes. With `noise`, the code at `ref` runs a second time in the same rotation
    ("again"): each line then also says how far the same code is from itself in this run."""
    import os
    import subprocess
    import sys

    make_inputs(tmp)
    old = before_tree(ref, tmp / "before")
    here = Path(__file__).resolve().parents[1] if after is None else before_tree(after, tmp / "after")
    trees = [("before", old), ("after", here)] + ([("again", old)] if noise else [])
    runs: dict[str, list[dict[str, object]]] = {label: [] for label, _ in trees}
    for _ in range(rounds):
        for label, tree in trees:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            done = subprocess.run([sys.executable, __file__, "--worker", str(tmp)], env=env, check=True,
                                  capture_output=True, text=True, cwd=tree)  # fmt: skip
            runs[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert str(runs["before"][0]["module"]).startswith(str(old)), runs["before"][0]["module"]
    slower: dict[str, list[str]] = {"wall": [], "cpu": [], "noise_wall": [], "noise_cpu": []}
    for name in runs["after"][0]:
        if name == "module":
            continue
        line: dict[str, object] = {"bench": "output", "item": name}
        for clock, key in (("wall", "s"), ("cpu", "cpu_s")):
            b = min(float(r[name][key]) for r in runs["before"])  # type: ignore[index]
            a = min(float(r[name][key]) for r in runs["after"])  # type: ignore[index]
            if _off(a, b):
                slower[clock].append(name)
            prefix = "" if clock == "wall" else "cpu_"
            line.update({f"{prefix}before_ms": round(b * 1000, 2), f"{prefix}after_ms": round(a * 1000, 2),
                         f"{prefix}ratio": round(a / b, 2) if b else None})  # fmt: skip
            if noise:
                again = min(float(r[name][key]) for r in runs["again"])  # type: ignore[index]
                line[f"{prefix}noise_ratio"] = round(again / b, 2) if b else None  # before against before
                if _off(again, b) or _off(b, again):
                    slower[f"noise_{clock}"].append(name)
        line["before_html_bytes"] = runs["before"][0][name]["html_bytes"]  # type: ignore[index]
        line["after_html_bytes"] = runs["after"][0][name]["html_bytes"]  # type: ignore[index]
        emit(**line)
    noise_fields = {"before_against_itself_over_10_percent": slower["noise_wall"],
                    "cpu_before_against_itself_over_10_percent": slower["noise_cpu"]} if noise else {}  # fmt: skip
    emit(bench="outputs_slower", before_ref=ref, after_ref=after or "this checkout", rounds=rounds,
         slower_by_over_10_percent=slower["wall"], cpu_slower_by_over_10_percent=slower["cpu"],
         **noise_fields)  # fmt: skip


def _off(a: float, b: float) -> bool:
    """`a` slower than `b` by over 10 % and over 2 ms (less is noise)."""
    return a > b * 1.1 and a - b > 0.002


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BEFORE, help="the git ref whose conjure_nb/ is 'before'")
    parser.add_argument("--after", default=None, help="a git ref to compare instead of this checkout (--after "
                        "with the same ref as --before measures the noise)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="alternating before/after processes each")
    parser.add_argument("--noise", action="store_true", help="also run the before code against itself")
    parser.add_argument("--outputs-only", action="store_true", help="only the before/after of the outputs")
    parser.add_argument("--worker", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker))
        return
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        bench_outputs(Path(tmp), args.before, args.after, args.rounds, args.noise)
        if args.outputs_only:
            return
        bench_xlsx(Path(tmp))
        bench_pdf(Path(tmp))
    bench_cell()


if __name__ == "__main__":
    main()
