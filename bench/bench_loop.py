"""Loop overhead: 1,000 native tool calls driven by a ScriptedModel, and bash_tool "true"
through LocalExecutor next to a raw subprocess.run in the same run. Prints JSON lines."""

from __future__ import annotations

import json
import statistics
import subprocess
import time

import conjure_nb as cj

S = cj.ScriptedModel
N = 1_000


@cj.native_skill(name="noop", description="Does nothing, quickly.")
def noop(command: str, context: cj.Context) -> str:
    return "ok"


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def native_loop(per_reply: int, n: int = N) -> float:
    replies: list[object] = []
    for i in range(0, n, per_reply):
        replies.append(
            S.reply(*[S.tool_use("noop_execute", f"t{i + j}", command="x") for j in range(per_reply)])
        )
    replies.append("done")
    with cj.Session.new_native([noop], S(replies), max_iterations=n + 1) as s:
        t0 = time.perf_counter()
        r = s.chat("go")
        elapsed = time.perf_counter() - t0
    assert len(r.tool_calls) == n
    return elapsed


def direct_native_calls() -> float:
    """Baseline: the same native calls made by hand, no model, no loop."""
    ctx = cj.Context("bench", __import__("pathlib").Path("."))
    t0 = time.perf_counter()
    for _ in range(N):
        noop.execute("x", ctx)
    return time.perf_counter() - t0


def timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    base = direct_native_calls()
    cold = native_loop(1, 100)  # first chat in the process: lazy imports, first-time code paths
    for per_reply in (1, 10):
        runs = [native_loop(per_reply) for _ in range(5)]
        total = statistics.median(runs)
        emit(
            bench="loop_native_tool_calls",
            calls=N,
            calls_per_reply=per_reply,
            runs=len(runs),
            median_total_s=round(total, 4),
            ms_per_call=round(total / N * 1000, 4),
            worst_ms_per_call=round(max(runs) / N * 1000, 4),
            first_chat_in_process_ms_per_call=round(cold / 100 * 1000, 4) if per_reply == 1 else None,
            baseline="direct method calls",
            baseline_ms_per_call=round(base / N * 1000, 5),
            target_ms_per_call=0.2,
        )
    runs = 400
    with cj.Session.new_local() as s:
        s.run_tool("bash_tool", command="true", description="warm-up")
        executor = s.executor
        # interleaved, so both sides see the same machine load
        ours, bare, raw = [], [], []
        for _ in range(runs):
            ours.append(timed(lambda: s.run_tool("bash_tool", command="true", description="bench")))
            raw.append(timed(lambda: subprocess.run(["bash", "-c", "true"], check=True)))
            bare.append(timed(lambda: executor.run_command("true")))  # type: ignore[attr-defined]
    emit(
        bench="local_bash_true",
        runs=runs,
        session_run_tool_ms=round(statistics.median(ours), 3),
        executor_only_ms=round(statistics.median(bare), 3),
        raw_subprocess_run_ms=round(statistics.median(raw), 3),
        ratio=round(statistics.median(ours) / statistics.median(raw), 3),
        target_ratio=1.3,
    )


if __name__ == "__main__":
    main()
