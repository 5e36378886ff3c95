"""Benchmark the skills layer: loading and validating 1,000 generated skills, and import time.

Prints one JSON line per measurement. Baselines run in the same process on the same files:
a naive loop (read the whole SKILL.md, split on '---', `yaml.safe_load`) and python-frontmatter.
"Cold" means the first thing a fresh Python process does after `import conjure_nb` (bytecode
cached as in a normal install; the OS page cache is warm because the files were just written);
"first call in process" is the same in this process. Target: 1,000 skills load in under 0.5 s.

Run: .venv/bin/python bench/bench_skills.py [--skills N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BODY = "\n".join(
    f"{i}. Step {i}: run `python3 scripts/analyze.py --step {i}` and check the output." for i in range(120)
)


def generate(root: Path, count: int) -> list[Path]:
    """Write `count` skills; one in four has a metadata map (which needs the full YAML parser)."""
    folders = []
    for i in range(count):
        name = f"skill-{i:04d}"
        folder = root / f"group-{i % 10}" / name
        (folder / "scripts").mkdir(parents=True)
        meta = "metadata:\n  version: '1.0'\n  owner: team-a\n" if i % 4 == 0 else ""
        description = (
            f"Analyze log batch {i} and report anomalies, error spikes and slow endpoints. "
            "Use when the user asks about incidents, logs or service health."
        )
        (folder / "SKILL.md").write_text(
            f"---\nname: {name}\ndescription: {description}\nlicense: Apache-2.0\n{meta}---\n# {name}\n\n{BODY}\n"
        )
        (folder / "scripts" / "analyze.py").write_text("print('ok')\n")
        folders.append(folder)
    return folders


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def line(bench: str, total_s: float, count: int, **extra: Any) -> None:
    print(
        json.dumps(
            {
                "bench": bench,
                "ms_per_skill": round(total_s * 1000 / count, 4),
                "total_s": round(total_s, 4),
                **extra,
            }
        ),
        flush=True,
    )


def naive(folders: list[Path]) -> None:
    import yaml

    for folder in folders:
        text = (folder / "SKILL.md").read_text(encoding="utf-8")
        _, front, _body = text.split("---", 2)
        yaml.safe_load(front)


def with_python_frontmatter(folders: list[Path]) -> None:
    import frontmatter

    for folder in folders:
        frontmatter.load(str(folder / "SKILL.md"))


def fresh_env(tmp: Path) -> dict[str, str]:
    """The environment of a normal install: bytecode cached (here in a private prefix under tmp).

    This sandbox sets PYTHONDONTWRITEBYTECODE, which would make every fresh process compile
    PyYAML and conjure_nb from source and measure that instead of the import.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def run_python(code: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout


def import_time(env: dict[str, str], repeat: int = 7) -> dict[str, Any]:
    """Median wall time of `python -c 'import conjure_nb'` minus that of `python -c pass`, in ms."""

    def median_ms(code: str) -> float:
        run_python(code, env)  # warm the bytecode cache
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            run_python(code, env)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1000

    base = median_ms("pass")
    full = median_ms("import conjure_nb")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import conjure_nb"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = next(
        int(row.split("|")[1]) for row in proc.stderr.splitlines() if row.rstrip().endswith("| conjure_nb")
    )
    return {"python_ms": round(base, 1), "with_import_ms": round(full, 1), "import_ms": round(full - base, 1),
            "importtime_cumulative_us": cumulative}  # fmt: skip


COLD = """
import json, time
t0 = time.perf_counter()
import conjure_nb as cj
t1 = time.perf_counter()
skills = cj.load({root!r})
t2 = time.perf_counter()
print(json.dumps({{"import_s": t1 - t0, "load_s": t2 - t1, "n": len(skills)}}))
"""


def cold_load(root: Path, env: dict[str, str], repeat: int = 5) -> dict[str, float]:
    """`cj.load` as the first thing a fresh process does (median of `repeat` processes)."""
    code = COLD.format(root=str(root))
    run_python(code, env)
    runs = [json.loads(run_python(code, env)) for _ in range(repeat)]
    return {key: statistics.median(r[key] for r in runs) for key in ("import_s", "load_s", "n")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    count = parser.parse_args().skills

    import conjure_nb as cj

    tmp = Path(tempfile.mkdtemp(prefix="conjure-bench-"))
    try:
        env = fresh_env(tmp)
        print(json.dumps({"bench": "import_conjure_nb", **import_time(env)}), flush=True)
        folders = generate(tmp / "skills", count)
        cold = cold_load(tmp / "skills", env)
        assert cold["n"] == count
        first = timed(lambda: cj.load(tmp / "skills"))
        warm = min(timed(lambda: cj.load(tmp / "skills")) for _ in range(3))
        base_naive = min(timed(lambda: naive(folders)) for _ in range(3))
        base_pf = min(timed(lambda: with_python_frontmatter(folders)) for _ in range(3))
        line("load_cold_fresh_process", cold["load_s"], count, skills=count, target_s=0.5,
             under_target=cold["load_s"] < 0.5, import_s=round(cold["import_s"], 4))  # fmt: skip
        line("load_first_call_in_process", first, count, skills=count)
        line("load_warm", warm, count, skills=count, speedup_vs_naive=round(base_naive / warm, 2),
             speedup_vs_python_frontmatter=round(base_pf / warm, 2))  # fmt: skip
        line("baseline_naive_read_yaml_safe_load", base_naive, count, skills=count)
        line("baseline_python_frontmatter", base_pf, count, skills=count)
        lenient = timed(lambda: [cj.validate(f) for f in folders])
        strict = timed(lambda: [cj.validate(f, strict=True) for f in folders])
        line(
            "validate_lenient", lenient, count, skills=count, speedup_vs_naive=round(base_naive / lenient, 2)
        )
        line("validate_strict", strict, count, skills=count, speedup_vs_naive=round(base_naive / strict, 2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
