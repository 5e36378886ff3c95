"""Benchmark the docker sandbox: the in-container runner against `docker exec` and `exec_run`.

Prints one JSON line per measurement (milliseconds, median of `--n` runs), all in the same run on
the same container so the numbers compare:

    .venv/bin/python bench/bench_docker.py [--n 20] [--image conjure-nb/sandbox:latest]

- cold_start: DockerExecutor create + start + first `bash_tool "true"`, beside `docker run --rm`.
- warm_true: `bash_tool "true"` on a running sandbox, beside `docker exec CID bash -c true`
  (the CLI) and the SDK's `exec_run`.
- warm_import_pandas: `python3 -c "import pandas"` the same three ways.

Targets (issue 4): warm true under 5 ms and at least 10x faster than `docker exec`; cold start
under 0.5 s. Needs a running engine and the image (`conjure-nb sandbox build --offline`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import conjure_nb as cj
from conjure_nb.executors.base import ExecutorSetup
from conjure_nb.executors.docker import connect, default_image


def median_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # one unmeasured warm-up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


def emit(metric: str, **values: Any) -> None:
    print(json.dumps({"bench": "docker", "metric": metric, **values}), flush=True)


def tool(ex: cj.DockerExecutor, command: str) -> None:
    result = ex.run(cj.ToolCall("b", "bash_tool", {"command": command, "description": "bench"}))
    if result.is_error:
        raise SystemExit(f"benchmark command failed: {result.content}")


def cold_start(image: str, workdir: Path, n: int) -> float:
    def once() -> None:
        ex = cj.DockerExecutor(image=image)
        ex.setup(ExecutorSetup(f"bench-cold-{time.monotonic_ns()}", workdir))
        try:
            tool(ex, "true")
        finally:
            ex.close()

    return median_ms(once, n)


def compare(
    ex: cj.DockerExecutor, client: Any, command: str, n: int, docker_cli: str | None
) -> dict[str, Any]:
    cid = ex.container_id
    assert cid is not None
    container = client.containers.get(cid)
    env = ["-e", "HOME=/tmp/home", "-w", "/workspace"]
    out: dict[str, Any] = {"runner_ms": median_ms(lambda: tool(ex, command), n)}
    out["sdk_exec_run_ms"] = median_ms(
        lambda: container.exec_run(
            ["bash", "-c", command], workdir="/workspace", environment={"HOME": "/tmp/home"}
        ),
        n,
    )
    if docker_cli:
        cmd = [docker_cli, "exec", *env, cid, "bash", "-c", command]
        out["cli_exec_ms"] = median_ms(lambda: subprocess.run(cmd, check=True, capture_output=True), n)
        out["speedup_vs_cli"] = round(out["cli_exec_ms"] / max(out["runner_ms"], 1e-3), 1)
    out["speedup_vs_exec_run"] = round(out["sdk_exec_run_ms"] / max(out["runner_ms"], 1e-3), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="runs per measurement (median)")
    parser.add_argument("--image", default=default_image())
    args = parser.parse_args()
    client = connect(None)
    docker_cli = shutil.which("docker")
    with tempfile.TemporaryDirectory(prefix="conjure-bench-docker-") as tmp:
        workdir = Path(tmp)
        cold = cold_start(args.image, workdir, args.n)
        row: dict[str, Any] = {"runner_ms": cold, "target_ms": 500}
        if docker_cli:
            run = [docker_cli, "run", "--rm", "--network", "none", args.image, "true"]
            row["cli_run_rm_ms"] = median_ms(
                lambda: subprocess.run(run, check=True, capture_output=True), args.n
            )
        emit("cold_start", n=args.n, **row)
        with cj.DockerExecutor(image=args.image) as ex:
            ex.setup(ExecutorSetup("bench-warm", workdir))
            tool(ex, "true")
            emit("warm_true", n=args.n, target_ms=5, **compare(ex, client, "true", args.n, docker_cli))
            pandas = 'python3 -c "import pandas"'
            emit("warm_import_pandas", n=args.n, **compare(ex, client, pandas, args.n, docker_cli))
    client.close()


if __name__ == "__main__":
    main()
