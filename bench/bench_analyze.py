"""Benchmark the log-analyzer skill: analyze.py against a naive baseline, and the fetch path.

Prints one JSON line per measurement. The data lives in a temp dir that is removed at the end.

    .venv/bin/python bench/bench_analyze.py [--records 1000000] [--text-lines 1000000] [--fetch 100000]

Targets (issue 5): analyze.py on 1M JSON Lines records faster than the count-only baseline run in
the same bench, with peak RSS under 200 MB; 1M log4j lines under 4 s; fetch throughput reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conjure_nb.demo.generator import write_jsonl
from conjure_nb.demo.server import DemoLogServer

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


def run(argv: list[str]) -> tuple[float, int, str]:
    """Run a child process; (wall seconds, its peak RSS in MB, stdout)."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - started
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far; children run one at a time and
    # each measurement below starts a fresh python, so it is that child's peak when it is the max.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return elapsed, peak_mb, done.stdout


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def write_log4j(path: Path, lines: int) -> int:
    """A log4j-style text log with the generator's records, in the Zookeeper layout."""
    from conjure_nb.demo.generator import generate

    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        for rec in generate(lines, seed=7):
            ts = rec["timestamp"]
            out.write(
                f"{ts[:10]} {ts[11:19]},{ts[20:23]} - {rec['level']:<5} [{rec['host']}:{rec['service']}@1] - {rec['message']}\n"
            )
    return path.stat().st_size


def bench_jsonl(tmp: Path, records: int, repeat: int) -> None:
    data = tmp / "logs.jsonl"
    size = write_jsonl(data, records)
    baseline = tmp / "baseline.py"
    baseline.write_text(BASELINE)
    for attempt in range(repeat):
        base_s, _, _ = run([sys.executable, str(baseline), str(data)])
        ana_s, peak_mb, out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"])
        report = json.loads(out)
        emit(
            bench="analyze_jsonl",
            attempt=attempt,
            records=records,
            mb=round(size / 1e6, 1),
            baseline_s=round(base_s, 3),
            analyze_s=round(ana_s, 3),
            faster=ana_s < base_s,
            speedup=round(base_s / ana_s, 2),
            analyze_peak_rss_mb=peak_mb,
            rss_ok=peak_mb < 200,
            health=report["health"]["status"],
            total=report["summary"]["total"],
        )


def bench_log4j(tmp: Path, lines: int) -> None:
    data = tmp / "app.log"
    size = write_log4j(data, lines)
    seconds, peak_mb, out = run([sys.executable, str(SCRIPTS / "analyze.py"), str(data), "--quiet"])
    report = json.loads(out)
    emit(
        bench="analyze_log4j",
        lines=lines,
        mb=round(size / 1e6, 1),
        analyze_s=round(seconds, 3),
        under_4s=seconds < 4.0,
        peak_rss_mb=peak_mb,
        format=report["format"],
        total=report["summary"]["total"],
    )


def bench_fetch(tmp: Path, records: int) -> None:
    out = tmp / "fetched.jsonl"
    with DemoLogServer(records=records, page_max=1000) as server:
        seconds, _, _ = run(
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
    with open(out, "rb") as f:
        fetched = sum(1 for _ in f)
    emit(
        bench="fetch_demo_api",
        records=fetched,
        pages=pages,
        seconds=round(seconds, 3),
        records_per_s=round(fetched / seconds),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--text-lines", type=int, default=1_000_000)
    parser.add_argument("--fetch", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2, help="baseline/analyze pairs to run")
    args = parser.parse_args()
    emit(bench="env", python=sys.version.split()[0], orjson=_has_orjson(), cpus=os.cpu_count())
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as name:
        tmp = Path(name)
        if args.records:
            bench_jsonl(tmp, args.records, args.repeat)
        if args.text_lines:
            bench_log4j(tmp, args.text_lines)
        if args.fetch:
            bench_fetch(tmp, args.fetch)
    return 0


def _has_orjson() -> bool:
    try:
        import orjson  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
