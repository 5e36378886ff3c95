"""Benchmark the skills layer: loading and validating 1,000 generated skills, and import time.

Prints one JSON line per measurement. Baselines run in the same process on the same files:
a naive loop (read the whole SKILL.md, split on '---', `yaml.safe_load`) and python-frontmatter.
"Cold" means the first `cj.load` in this process (nothing cached by conjure_nb); the OS page cache
is warm because the files were just written. Target: 1,000 skills load in under 0.5 s.

Run: .venv/bin/python bench/bench_skills.py [--skills N]
"""

from __future__ import annotations

import argparse
import json
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


def import_time(repeat: int = 7) -> dict[str, float]:
    """Median wall time of `python -c 'import conjure_nb'` minus that of `python -c pass`, in ms."""

    def run(code: str) -> float:
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1000

    base = run("pass")
    full = run("import conjure_nb")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import conjure_nb"],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = next(
        int(row.split("|")[1]) for row in proc.stderr.splitlines() if row.rstrip().endswith("| conjure_nb")
    )
    return {"python_ms": round(base, 1), "with_import_ms": round(full, 1), "import_ms": round(full - base, 1),
            "importtime_cumulative_us": cumulative}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", type=int, default=1000)
    count = parser.parse_args().skills
    print(json.dumps({"bench": "import_conjure_nb", **import_time()}), flush=True)

    import conjure_nb as cj

    tmp = Path(tempfile.mkdtemp(prefix="conjure-bench-"))
    try:
        folders = generate(tmp / "skills", count)
        cold = timed(lambda: cj.load(tmp / "skills"))
        warm = min(timed(lambda: cj.load(tmp / "skills")) for _ in range(3))
        base_naive = min(timed(lambda: naive(folders)) for _ in range(3))
        base_pf = min(timed(lambda: with_python_frontmatter(folders)) for _ in range(3))
        assert len(cj.load(tmp / "skills")) == count
        line("load_cold", cold, count, skills=count, target_s=0.5, under_target=cold < 0.5)
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
