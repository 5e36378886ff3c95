"""Benchmark the log-analyzer skill: analyze.py against a naive baseline, and the fetch path.

Prints one JSON line per measurement. The data lives in a temp dir that is removed at the end.

    .venv/bin/python bench/bench_analyze.py [--records 1000000] [--text-lines 1000000] [--fetch 100000]
        [--array-records 200000] [--repeat 2] [--compare REV] [--only jsonl|log4j|array|inferred|fetch]

Issue 23: the JSON array faster than json.load + Counter in CPU seconds too (all processes
counted); 1M JSON Lines within 1.5x of polars' bare read_ndjson, under 100 MB; 1M log4j lines under
1.2 s, with `wc -l`, a bare regex loop and the analyzer's standard-library path
(LOGANALYZER_TEXT=stdlib) run beside it in each round (polars counts big log4j files where it is
installed: `engine` polars or polars+stdlib). For JSON, `engine` says which reader ran: polars
(JSON Lines of 16 MB or more where polars is installed; it is in the dev extra), orjson or stdlib
(LOGANALYZER_JSON=orjson|stdlib keeps polars out); the JSON Lines bench also runs the analyzer with
LOGANALYZER_JSON=orjson, the path a sandbox without polars takes. CPU seconds are user + system time
of the whole process, every thread included: polars' thread pool, and the analyzer's read-ahead
thread, count in full.

The skill's code is compiled to bytecode first, as pip compiles an installed package (with
PYTHONDONTWRITEBYTECODE set, nothing else would, and every run would compile ~5,000 lines: ~0.09 s).
`--compare REV` also runs the analyzer of git revision REV (its scripts taken with `git archive`)
beside this checkout's in the JSON and text benches, alternating, for before/after figures from one run.

Targets (issue 5): analyze.py on 1M JSON Lines records faster than the count-only baseline run in
the same bench, with peak RSS under 200 MB; 1M log4j lines under 4 s; fetch throughput reported.
Issue 12: a 200,000-record JSON array (one document on one line) against a plain json.load +
Counter script, memory bounded; 1M lines of an inferred layout (logcat) within 1.5x of the same
records as log4j lines (`ratio`: both on their default engine, polars where installed;
`ratio_stdlib`: both on the standard path). Each comparison runs its baseline in the same bench, alternating, and
reports wall and CPU time (CPU is the steadier figure on a shared machine).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from conjure_nb.testing._demo_generator import write_jsonl
from conjure_nb.testing._demo_server import DemoLogServer

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "skills" / "log-analyzer" / "scripts"
BASELINE = """
import json, sys
from collections import Counter
levels = Counter()
with open(sys.argv[1], "rb") as f:
    for line in f:
        levels[json.loads(line).get("level")] += 1
print(json.dumps(levels))
"""


PROBE = """
import json, os, resource, subprocess, sys, threading, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
page, peak = os.sysconf("SC_PAGE_SIZE"), [0]

def tree_rss(pid):  # RSS of pid and its descendants, from /proc (shared pages counted in each)
    total, todo = 0, [pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * page
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    todo += map(int, children.read().split())
        except (OSError, ValueError, IndexError):  # a process that ended while it was looked at
            pass
    return total

def watch():
    while child.poll() is None:
        peak[0] = max(peak[0], tree_rss(child.pid))
        time.sleep(0.01)

watcher = threading.Thread(target=watch, daemon=True)
watcher.start()
out = child.stdout.read()
if child.wait():
    sys.exit(child.returncode)
watcher.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
sys.stderr.write(json.dumps({"wall": time.perf_counter() - started, "cpu": usage.ru_utime + usage.ru_stime,
                             "rss_mb": usage.ru_maxrss / 1024, "rss_total_mb": peak[0] / 2**20}) + "\\n")
sys.stdout.buffer.write(out)
"""


POLARS_BASELINE = """
import sys
import polars
print(polars.read_ndjson(sys.argv[1]).height)
"""
REGEX_BASELINE = """
import re, sys
from collections import Counter
line = re.compile(rb"\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} - (\\w+)")
levels = Counter()
with open(sys.argv[1], "rb") as f:
    for text in f:
        m = line.match(text)
        levels[m.group(1) if m else None] += 1
print(levels)
"""

ARRAY_BASELINE = """
import json, sys
from collections import Counter
with open(sys.argv[1]) as f:
    records = json.load(f)
print(json.dumps(Counter(r.get("level") for r in records)))
"""
_LETTER = {"DEBUG": "D", "INFO": "I", "WARN": "W", "ERROR": "E", "FATAL": "F"}


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, float], str]:
    """Run argv under a small probe process whose only child it is, so RUSAGE_CHILDREN is the peak
    RSS of its biggest process and the CPU time of all (every thread and worker process counted);
    `rss_total_mb` is the peak of the whole process tree's RSS, sampled every 10 ms (what an
    analysis shared out among processes holds at once). Returns ({wall, cpu, rss_mb, rss_total_mb},
    stdout)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def before_after(
    before: Path, bench: str, attempt: int, data: Path, after: dict[str, float], out: str, **extra: object
) -> None:
    """Run the analyzer of the revision in `before` on `data` and print its figures beside this
    checkout's (`after`, its report `out`), with `extra` fields (baselines of the same round)."""
    old, old_out = run([sys.executable, str(before / "analyze.py"), str(data), "--quiet"])
    emit(
        bench=bench,
        attempt=attempt,
        before_s=round(old["wall"], 3),
        after_s=round(after["wall"], 3),
        before_cpu_s=round(old["cpu"], 3),
        after_cpu_s=round(after["cpu"], 3),
        **extra,
        before_peak_rss_mb=round(old["rss_mb"], 1),
        after_peak_rss_mb=round(after["rss_mb"], 1),
        before_peak_rss_total_mb=round(old["rss_total_mb"], 1),
        after_peak_rss_total_mb=round(after["rss_total_mb"], 1),
        same_report=_same(old_out, out),
    )


def write_log4j(path: Path, lines: int) -> int:
    """A log4j-style text log with the generator's records, in the Zookeeper layout."""
    from conjure_nb.testing._demo_generator import generate

    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        for rec in generate(lines, seed=7):
            ts = rec["timestamp"]
            out.write(
                f"{ts[:10]} {ts[11:19]},{ts[20:23]} - {rec['level']:<5} [{rec['host']}:{rec['service']}@1] - {rec['message']}\n"
            )
    return path.stat().st_size


def write_logcat(path: Path, lines: int) -> int:
    """The same records as write_log4j, in Android logcat's layout (no built-in format: inferred)."""
    from conjure_nb.testing._demo_generator import generate

    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        for i, rec in enumerate(generate(lines, seed=7)):
            ts = rec["timestamp"]
            out.write(
                f"{ts[5:10]} {ts[11:23]}  {1000 + i % 900}  {2000 + i % 97} {_LETTER[rec['level']]} "
                f"{rec['service']}: {rec['message']}\n"
            )
    return path.stat().st_size


def bench_json_array(tmp: Path, records: int, repeat: int, before: Path | None) -> None:
    from conjure_nb.testing._demo_generator import generate

    data = tmp / "array.json"
    data.write_text(json.dumps(list(generate(records, seed=3))))  # one line, no newline inside
    baseline = tmp / "array_baseline.py"
    baseline.write_text(ARRAY_BASELINE)
    for attempt in range(repeat):
        base, _ = run([sys.executable, str(baseline), str(data)])
        ana, out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"])
        report = json.loads(out)
        if before is not None:
            before_after(
                before,
                "analyze_json_array_before_after",
                attempt,
                data,
                ana,
                out,
                baseline_cpu_s=round(base["cpu"], 3),
            )
        emit(
            bench="analyze_json_array",
            attempt=attempt,
            records=records,
            mb=round(data.stat().st_size / 1e6, 1),
            baseline_s=round(base["wall"], 3),
            analyze_s=round(ana["wall"], 3),
            faster=ana["wall"] < base["wall"],
            baseline_cpu_s=round(base["cpu"], 3),
            analyze_cpu_s=round(ana["cpu"], 3),
            faster_cpu=ana["cpu"] < base["cpu"],
            baseline_peak_rss_mb=round(base["rss_mb"], 1),
            analyze_peak_rss_mb=round(ana["rss_mb"], 1),
            engine=report["parse"].get("engine"),
            total=report["summary"]["total"],
        )


def bench_inferred(tmp: Path, lines: int, repeat: int, before: Path | None) -> None:
    log4j, logcat = tmp / "same.log4j.log", tmp / "same.logcat.log"
    write_log4j(log4j, lines)
    write_logcat(logcat, lines)
    for attempt in range(repeat):
        fast, fast_out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(log4j), "--quiet"])
        inferred, out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(logcat), "--quiet"])
        stdlib = {"LOGANALYZER_TEXT": "stdlib"}
        std, _ = run([sys.executable, str(SCRIPTS / "analyze.py"), str(log4j), "--quiet"], stdlib)
        std_inferred, _ = run([sys.executable, str(SCRIPTS / "analyze.py"), str(logcat), "--quiet"], stdlib)
        a, b = json.loads(fast_out), json.loads(out)
        if before is not None:
            before_after(
                before,
                "analyze_inferred_before_after",
                attempt,
                logcat,
                inferred,
                out,
            )
        emit(
            bench="analyze_inferred_text",
            attempt=attempt,
            lines=lines,
            engines=[a["parse"]["engine"], b["parse"]["engine"]],
            log4j_s=round(fast["wall"], 3),
            inferred_s=round(inferred["wall"], 3),
            ratio=round(inferred["wall"] / fast["wall"], 2),
            within_1_5x=inferred["wall"] <= 1.5 * fast["wall"],
            log4j_cpu_s=round(fast["cpu"], 3),
            inferred_cpu_s=round(inferred["cpu"], 3),
            cpu_ratio=round(inferred["cpu"] / fast["cpu"], 2),
            # the same comparison with both on the standard path (a sandbox without polars)
            log4j_stdlib_s=round(std["wall"], 3),
            inferred_stdlib_s=round(std_inferred["wall"], 3),
            ratio_stdlib=round(std_inferred["wall"] / std["wall"], 2),
            within_1_5x_stdlib=std_inferred["wall"] <= 1.5 * std["wall"],
            cpu_ratio_stdlib=round(std_inferred["cpu"] / std["cpu"], 2),
            inferred_peak_rss_mb=round(inferred["rss_mb"], 1),
            formats=[a["format"], b["format"]],
            same_levels=a["summary"]["levels"] == b["summary"]["levels"],
        )


def bench_jsonl(tmp: Path, records: int, repeat: int, before: Path | None) -> None:
    data = tmp / "logs.jsonl"
    size = write_jsonl(data, records)
    baseline = tmp / "baseline.py"
    baseline.write_text(BASELINE)
    polars_script = tmp / "polars_baseline.py"
    polars_script.write_text(POLARS_BASELINE)
    for attempt in range(repeat):
        base, _ = run([sys.executable, str(baseline), str(data)])
        ana, out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"])
        polars = run([sys.executable, str(polars_script), str(data)])[0] if _has("polars") else None
        std, std_out = run(
            [sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"],
            {"LOGANALYZER_JSON": "orjson"},
        )
        report = json.loads(out)
        if before is not None:
            before_after(
                before,
                "analyze_jsonl_before_after",
                attempt,
                data,
                ana,
                out,
                polars_read_ndjson_s=round(polars["wall"], 3) if polars else None,
            )
        emit(
            bench="analyze_jsonl",
            attempt=attempt,
            records=records,
            mb=round(size / 1e6, 1),
            engine=report["parse"].get("engine"),
            engine_records=report["parse"].get("engine_records"),
            analyze_orjson_s=round(std["wall"], 3),
            analyze_orjson_cpu_s=round(std["cpu"], 3),
            analyze_orjson_peak_rss_mb=round(std["rss_mb"], 1),
            same_summary=json.loads(std_out)["summary"] == report["summary"],
            baseline_s=round(base["wall"], 3),
            analyze_s=round(ana["wall"], 3),
            faster=ana["wall"] < base["wall"],
            speedup=round(base["wall"] / ana["wall"], 2),
            baseline_cpu_s=round(base["cpu"], 3),
            analyze_cpu_s=round(ana["cpu"], 3),
            analyze_peak_rss_mb=round(ana["rss_mb"], 1),
            analyze_peak_rss_total_mb=round(ana["rss_total_mb"], 1),
            rss_ok=max(ana["rss_mb"], ana["rss_total_mb"]) < 100,
            health=report["health"]["status"],
            total=report["summary"]["total"],
        )
        if polars is not None:  # issue 23: within 1.5x of polars' bare read_ndjson
            emit(
                bench="analyze_jsonl_vs_polars",
                attempt=attempt,
                polars_read_ndjson_s=round(polars["wall"], 3),
                analyze_s=round(ana["wall"], 3),
                ratio=round(ana["wall"] / polars["wall"], 2),
                within_1_5x=ana["wall"] <= 1.5 * polars["wall"],
                polars_cpu_s=round(polars["cpu"], 3),
                analyze_cpu_s=round(ana["cpu"], 3),
                cpu_ratio=round(ana["cpu"] / polars["cpu"], 2),
                polars_peak_rss_mb=round(polars["rss_mb"], 1),
                analyze_peak_rss_mb=round(ana["rss_mb"], 1),
                analyze_peak_rss_total_mb=round(ana["rss_total_mb"], 1),
            )


def bench_log4j(tmp: Path, lines: int, repeat: int, before: Path | None) -> None:
    """analyze.py on log4j lines with its default engine (polars where installed) and with the
    standard library alone (LOGANALYZER_TEXT=stdlib, the path of a sandbox without polars),
    alternating, with `wc -l` and a bare regex loop over the same file in each round."""
    data = tmp / "app.log"
    size = write_log4j(data, lines)
    regex = tmp / "regex_baseline.py"
    regex.write_text(REGEX_BASELINE)
    analyze = [sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"]
    for attempt in range(repeat):
        wc, _ = run(["wc", "-l", str(data)])
        loop, _ = run([sys.executable, str(regex), str(data)])
        std, std_out = run(analyze, {"LOGANALYZER_TEXT": "stdlib"})
        ana, out = run(analyze)
        report, standard = json.loads(out), json.loads(std_out)
        if before is not None:
            before_after(
                before,
                "analyze_log4j_before_after",
                attempt,
                data,
                ana,
                out,
            )
        emit(
            bench="analyze_log4j",
            attempt=attempt,
            lines=lines,
            mb=round(size / 1e6, 1),
            engine=report["parse"]["engine"],
            analyze_s=round(ana["wall"], 3),
            cpu_s=round(ana["cpu"], 3),
            under_1_2s=ana["wall"] < 1.2,
            stdlib_s=round(std["wall"], 3),
            stdlib_cpu_s=round(std["cpu"], 3),
            speedup_over_stdlib=round(std["wall"] / ana["wall"], 2),
            same_report=_comparable(report) == _comparable(standard),
            wc_l_s=round(wc["wall"], 3),
            regex_loop_s=round(loop["wall"], 3),
            regex_loop_cpu_s=round(loop["cpu"], 3),
            cpu_ratio_to_regex_loop=round(ana["cpu"] / loop["cpu"], 2),
            peak_rss_mb=round(ana["rss_mb"], 1),
            stdlib_peak_rss_mb=round(std["rss_mb"], 1),
            load=[round(x, 2) for x in os.getloadavg()],
            format=report["format"],
            total=report["summary"]["total"],
        )


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what may differ between engines: their names and the time taken."""
    parse = {k: v for k, v in report["parse"].items() if k not in ("engine", "engine_records")}
    return {**{k: v for k, v in report.items() if k != "elapsed_seconds"}, "parse": parse}


def bench_fetch(tmp: Path, records: int) -> None:
    out = tmp / "fetched.jsonl"
    with DemoLogServer(records=records, page_max=1000) as server:
        fetch, _ = run(
            [
                sys.executable,
                str(SCRIPTS / "fetch_logs.py"),
                server.logs_url,
                "--limit",
                str(records),
                "--page-size",
                "1000",
                "-o",
                str(out),
                "--quiet",
            ]
        )
        pages = server.requests
    seconds = fetch["wall"]
    with open(out, "rb") as f:
        fetched = sum(1 for _ in f)
    emit(
        bench="fetch_demo_api",
        records=fetched,
        pages=pages,
        seconds=round(seconds, 3),
        records_per_s=round(fetched / seconds),
    )


_BENCHES = ("jsonl", "log4j", "array", "inferred", "fetch")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--text-lines", type=int, default=1_000_000)
    parser.add_argument("--fetch", type=int, default=100_000)
    parser.add_argument("--array-records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2, help="baseline/analyze pairs to run")
    parser.add_argument("--compare", metavar="REV", help="also run the analyzer of this git revision")
    parser.add_argument(
        "--only", choices=_BENCHES, help="run this bench alone (jsonl: the 1M JSON Lines one)"
    )
    args = parser.parse_args()
    runs = {name: args.only in (None, name) for name in _BENCHES}
    emit(
        bench="env",
        python=sys.version.split()[0],
        orjson=_version("orjson"),
        polars=_version("polars"),
        cpus=os.cpu_count(),
        load=[round(x, 2) for x in os.getloadavg()],
        cpu_s="user + system seconds of the whole process, all threads (polars' pool included)",
    )
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as name:
        tmp = Path(name)
        before = _checkout(args.compare, tmp / "before") if args.compare else None
        compileall.compile_dir(str(SCRIPTS), quiet=1)
        if args.records and runs["jsonl"]:
            bench_jsonl(tmp, args.records, args.repeat, before)
        if args.text_lines and runs["log4j"]:
            bench_log4j(tmp, args.text_lines, args.repeat, before)
        if args.array_records and runs["array"]:
            bench_json_array(tmp, args.array_records, args.repeat, before)
        if args.text_lines and runs["inferred"]:
            bench_inferred(tmp, args.text_lines, args.repeat, before)
        if args.fetch and runs["fetch"]:
            bench_fetch(tmp, args.fetch)
    emit(bench="env_end", load=[round(x, 2) for x in os.getloadavg()])
    return 0


def _checkout(rev: str, into: Path) -> Path:
    """The analyzer's scripts of git revision `rev`, compiled, in `into`; returns their folder."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, str(SCRIPTS.relative_to(ROOT))],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    scripts = into / SCRIPTS.relative_to(ROOT)
    compileall.compile_dir(str(scripts), quiet=1)
    return scripts


def _same(before: str, after: str) -> bool:
    """Whether two reports say the same (their timings and the engine's name aside)."""

    def strip(text: str) -> dict[str, object]:
        report = json.loads(text)
        report.pop("elapsed_seconds", None)
        report.pop("source", None)
        report["parse"].pop("engine", None)
        report["parse"].pop("engine_records", None)
        return report

    return strip(before) == strip(after)


def _version(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())
