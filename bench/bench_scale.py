"""Benchmark MonitoringAgent.analyze_many on Dask: 8 sources, 1 worker against 2 workers.

Prints one JSON line per measurement. The sources are demo JSON Lines files in a temp dir that is
removed at the end; each LocalCluster runs worker processes on 127.0.0.1 without a dashboard.

    .venv/bin/python bench/bench_scale.py [--sources 8] [--lines 1000000] [--repeat 1]

Target (issue 14): close to 2x from 1 to 2 workers on a 2-core machine, and the Dask scheduling
overhead per task (a no-op task's round trip) reported. The 1-worker run is the baseline, measured
in the same run, alternating with the 2-worker one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from conjure_nb.monitoring._agent import MonitoringAgent
from conjure_nb.testing._demo_generator import write_jsonl


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def _noop(x: int) -> int:
    return x


def timed_run(agent: MonitoringAgent, sources: list[str], workers: int, shard_mb: int) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.submit(_noop, 0).result()  # workers up and warm before the clock starts
        started = time.perf_counter()
        result = agent.analyze_many(sources, client=client, generate_report=False, shard_bytes=shard_mb << 20)
        wall = time.perf_counter() - started
        overhead = per_task_overhead(client)
    return {"wall": wall, "result": result, "overhead_ms": overhead}


def per_task_overhead(client: Any, tasks: int = 200) -> float:
    """Milliseconds per no-op task, submitted together and gathered: the scheduling cost."""
    started = time.perf_counter()
    client.gather(client.map(_noop, range(tasks), pure=False))
    return (time.perf_counter() - started) * 1000 / tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--shard-mb", type=int, default=32, help="shard size for big files (32 MB)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    emit(bench="env", python=sys.version.split()[0], cpus=os.cpu_count())
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, MonitoringAgent(backend="local") as agent:
        sources = []
        for index in range(args.sources):
            path = Path(tmp) / f"service-{index}.jsonl"
            write_jsonl(path, args.lines, seed=index)
            sources.append(str(path))
        size = sum(os.path.getsize(p) for p in sources)
        for attempt in range(args.repeat):
            one = timed_run(agent, sources, 1, args.shard_mb)
            two = timed_run(agent, sources, 2, args.shard_mb)
            same = one["result"].analysis["summary"] == two["result"].analysis["summary"]
            emit(
                bench="analyze_many_dask",
                attempt=attempt,
                sources=args.sources,
                lines_per_source=args.lines,
                mb=round(size / 1e6, 1),
                shards=two["result"].shards,
                one_worker_s=round(one["wall"], 2),
                two_workers_s=round(two["wall"], 2),
                speedup=round(one["wall"] / two["wall"], 2),
                task_overhead_ms_1=round(one["overhead_ms"], 2),
                task_overhead_ms_2=round(two["overhead_ms"], 2),
                same_result=same,
                total=two["result"].analysis["summary"]["total"],
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
