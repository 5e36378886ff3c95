"""Benchmark the docker sandbox: the warm pool, the in-container runner, `docker run` and `docker exec`.

Prints one JSON line per measurement (milliseconds, median of `--n` runs), all in the same run on
the same machine, each beside its baseline, so the numbers compare:

    .venv/bin/python bench/bench_docker.py [--n 20] [--image conjure-nb/sandbox:latest]

- pool_hit: `Session.new_docker(skills)` to the first `bash_tool "true"` result with a sandbox
  ready in the warm pool, beside a pool miss and a bare `docker run --rm IMAGE true` (target 30 ms).
- pool_miss: the same with the pool empty (the session starts its own container), beside
  `docker run --rm` measured interleaved with it (target: no slower). `with_close_ms` adds the
  session's close, since `docker run --rm` includes removing its container.
- first_cell: `%%conjure run --backend docker true` as the first cell of a new `--session` in an
  IPython shell with the pool warm, beside the same first cell with the pool off and a cell on an
  open session (target 60 ms).
- cold_start: DockerExecutor create + start + first `bash_tool "true"` + close, beside `docker run --rm`.
- warm_true: `bash_tool "true"` on a running sandbox, beside `docker exec CID bash -c true`
  (the CLI) and the SDK's `exec_run`.
- warm_import_pandas: `python3 -c "import pandas"` the same three ways.
- skill_script: the log analyzer over 5,000 records in a pooled sandbox (its modules' bytecode
  came with the skill's copy), beside the same script in a copy without bytecode, which the
  sandbox compiles on every run (as every run did before), and a bare `python3 -c pass`.

Targets (issue 4): warm true under 5 ms and at least 10x faster than `docker exec`; cold start
under 0.5 s. Needs a running engine and the image (`conjure-nb sandbox build --offline`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import conjure_nb as cj
from conjure_nb.executors._base import ExecutorSetup
from conjure_nb.executors.docker import connect, default_image, warm_pool

SKILLS = Path(__file__).resolve().parent.parent / "skills"
_READY = 120.0


def median_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # one unmeasured warm-up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return _median(times) or 0.0


def _median(values: list[float]) -> float | None:
    """The median in ms, rounded (None for no values)."""
    return round(statistics.median(values), 2) if values else None


def emit(metric: str, **values: Any) -> None:
    print(json.dumps({"bench": "docker", "metric": metric, **values}), flush=True)


def tool(ex: cj.DockerExecutor, command: str) -> None:
    result = ex.run(cj.ToolCall("b", "bash_tool", {"command": command, "description": "bench"}))
    if result.is_error:
        raise SystemExit(f"benchmark command failed: {result.content}")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _first_true(image: str, skills: list[cj.Skill]) -> tuple[float, float, cj.Session]:
    """(ms to make the session, ms to its first `true` result, the open session)."""
    t0 = time.perf_counter()
    session = cj.Session.new_docker(skills, image=image)
    made = _ms(t0)
    result = session.run_tool("bash_tool", command="true", description="bench")
    if result.is_error:
        raise SystemExit(f"benchmark command failed: {result.content}")
    return made, _ms(t0), session


def pool_figures(image: str, n: int, docker_cli: str | None) -> None:
    """pool_hit and pool_miss, each iteration's baseline measured right beside it."""
    skills = cj.load(SKILLS) if SKILLS.is_dir() else []
    pool = warm_pool()
    spec = cj.DockerExecutor(image=image).spec()
    run_rm = [docker_cli, "run", "--rm", "--network", "none", image, "true"] if docker_cli else None
    hits, made, misses, misses_closed, runs = [], [], [], [], []
    for i in range(n + 1):  # the first round is an unmeasured warm-up
        pool.drain()
        made_ms, miss_ms, session = _first_true(image, skills)
        t0 = time.perf_counter()
        session.close()
        closed_ms = miss_ms + _ms(t0)
        pool.drain()
        if run_rm is not None:
            t0 = time.perf_counter()
            subprocess.run(run_rm, check=True, capture_output=True)
            run_ms = _ms(t0)
        pool.fill(spec, skills, delay=0)
        if not pool.wait_ready(spec, _READY):
            raise SystemExit("the warm pool did not fill")
        time.sleep(0.2)  # the engine settles after the starts
        made_ms, hit_ms, session = _first_true(image, skills)
        session.close()
        if i:
            hits.append(hit_ms)
            made.append(made_ms)
            misses.append(miss_ms)
            misses_closed.append(closed_ms)
            if run_rm is not None:
                runs.append(run_ms)
    emit("pool_hit", n=n, hit_ms=_median(hits), session_made_ms=_median(made), target_ms=30,
         baseline_pool_miss_ms=_median(misses), baseline_cli_run_rm_ms=_median(runs))  # fmt: skip
    emit("pool_miss", n=n, miss_ms=_median(misses), with_close_ms=_median(misses_closed),
         baseline_cli_run_rm_ms=_median(runs), target="miss_ms <= baseline_cli_run_rm_ms")  # fmt: skip
    pool.drain()


def first_cell(image: str, n: int) -> None:
    """`%%conjure run --backend docker true` as a new session's first cell, pool on and off."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    os.environ["CONJURE_SANDBOX_IMAGE"] = image
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "conjure_nb")
    pool = warm_pool()
    spec = cj.DockerExecutor(image=image).spec()

    def cell(name: str) -> float:
        t0 = time.perf_counter()
        with capture_output() as out:
            shell.run_cell(f"%%conjure run --backend docker --session {name} --no-stream\ntrue")
        ms = _ms(t0)
        if "Error" in out.stdout or "Error" in out.stderr:
            raise SystemExit(f"the cell failed: {out.stdout} {out.stderr}")
        return ms

    hit, off, open_cell = [], [], []
    cell("open")  # an open session, and the magics' imports done
    for i in range(n + 1):
        pool.fill(spec, delay=0)
        if not pool.wait_ready(spec, _READY):
            raise SystemExit("the warm pool did not fill")
        time.sleep(0.2)
        hit_ms = cell(f"hit{i}")
        os.environ["CONJURE_DOCKER_POOL"] = "0"
        try:
            off_ms = cell(f"off{i}")
        finally:
            del os.environ["CONJURE_DOCKER_POOL"]
        open_ms = cell("open")
        with capture_output():
            shell.run_line_magic("conjure", f"reset --session hit{i}")
            shell.run_line_magic("conjure", f"reset --session off{i}")
        if i:
            hit.append(hit_ms)
            off.append(off_ms)
            open_cell.append(open_ms)
    with capture_output():
        shell.run_line_magic("unload_ext", "conjure_nb")
    emit("first_cell", n=n, pool_hit_ms=_median(hit), target_ms=60,
         baseline_pool_off_ms=_median(off),
         baseline_open_session_cell_ms=_median(open_cell))  # fmt: skip
    pool.drain()


def skill_script(image: str, n: int) -> None:
    """analyze.py in a pooled sandbox, with the bytecode its copy brought and without it."""
    from conjure_nb.testing._demo_generator import write_jsonl

    skills = cj.load(SKILLS)
    if not cj.DockerExecutor(image=image).warm(wait=_READY):
        raise SystemExit("the warm pool did not fill")
    with cj.Session.new_docker(skills, image=image) as session:
        write_jsonl(session.working_dir / "small.jsonl", 5000)
        ex = session.executor
        assert isinstance(ex, cj.DockerExecutor)
        tool(
            ex,
            "cp -r /mnt/skills/log-analyzer /tmp/compiled && find /tmp/compiled -name __pycache__ -prune -exec rm -r {} +",
        )
        script = "/scripts/analyze.py small.jsonl --quiet > /dev/null"
        with_bytecode, compiled, bare = [], [], []
        for i in range(n + 1):  # alternating; the first round is an unmeasured warm-up
            for runs, command in (
                (with_bytecode, "python3 /mnt/skills/log-analyzer" + script),
                (compiled, "PYTHONDONTWRITEBYTECODE=1 python3 /tmp/compiled" + script),
                (bare, "python3 -c pass"),
            ):
                t0 = time.perf_counter()
                tool(ex, command)
                if i:
                    runs.append(_ms(t0))
    emit("skill_script", n=n, analyze_ms=_median(with_bytecode), baseline_compiled_each_run_ms=_median(compiled),
         baseline_python_startup_ms=_median(bare))  # fmt: skip
    warm_pool().drain()


def cold_start(image: str, workdir: Path, n: int) -> float:
    def once() -> None:
        ex = cj.DockerExecutor(image=image, pool=False)
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
    parser.add_argument(
        "--only", choices=["pool", "cell", "script", "runner"], default=None, help="one group"
    )
    args = parser.parse_args()
    client = connect(None)
    docker_cli = shutil.which("docker")
    if args.only in (None, "pool"):
        pool_figures(args.image, args.n, docker_cli)
    if args.only in (None, "cell"):
        first_cell(args.image, args.n)
    if args.only in (None, "script"):
        skill_script(args.image, args.n)
    if args.only not in (None, "runner"):
        client.close()
        return
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
        with cj.DockerExecutor(image=args.image, pool=False) as ex:
            ex.setup(ExecutorSetup("bench-warm", workdir))
            tool(ex, "true")
            emit("warm_true", n=args.n, target_ms=5, **compare(ex, client, "true", args.n, docker_cli))
            pandas = 'python3 -c "import pandas"'
            emit("warm_import_pandas", n=args.n, **compare(ex, client, pandas, args.n, docker_cli))
    client.close()


if __name__ == "__main__":
    main()
