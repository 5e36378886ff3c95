"""The analyzer reads JSON with orjson where it is installed and with the standard library where it
is not: both paths must give the same report, and the report says which one ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate, write_jsonl

from .conftest import ANALYZER

ANALYZE = ANALYZER / "analyze.py"


def _report(path: Path, *args: str, stdlib: bool, isolated: bool = False) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "LOGANALYZER_JSON"}
    if stdlib:
        env["LOGANALYZER_JSON"] = "stdlib"
    flags = ["-I", "-S"] if isolated else []  # -S: no site-packages, so no orjson at all
    done = subprocess.run(
        [sys.executable, *flags, str(ANALYZE), str(path), "--quiet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("elapsed_seconds")
    return report


def _inputs(tmp_path: Path) -> list[Path]:
    records = list(generate(4000, seed=11))
    records[5]["message"] = "bad \ud800 surrogate"  # the stdlib keeps it; orjson refuses the line
    jsonl = tmp_path / "logs.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in records) + "{not json\n")
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records))
    demo = tmp_path / "demo.jsonl"
    write_jsonl(demo, 3000, seed=5)
    return [jsonl, array, demo]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_stdlib_and_orjson_paths_give_the_same_report(tmp_path: Path, jobs: str) -> None:
    pytest.importorskip("orjson")
    for path in _inputs(tmp_path):
        fast = _report(path, "--jobs", jobs, stdlib=False)
        slow = _report(path, "--jobs", jobs, stdlib=True)
        assert fast["parse"].pop("engine") == "orjson"
        assert slow["parse"].pop("engine") == "stdlib"
        assert fast == slow, path.name
        assert fast["summary"]["total"] >= 3000


def test_a_bare_python_without_site_packages_reads_with_the_stdlib(tmp_path: Path) -> None:
    path = _inputs(tmp_path)[0]
    bare = _report(path, isolated=True, stdlib=False)
    assert bare["parse"]["engine"] == "stdlib"
    assert bare["summary"]["total"] == 4000 and bare["parse"]["malformed"] == 1
    assert bare == _report(path, stdlib=True)


def test_text_formats_name_the_stdlib_engine(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text("2026-03-14 09:00:00,001 - ERROR [main:Svc@1] - boom\n" * 3)
    assert _report(path, stdlib=False)["parse"]["engine"] == "stdlib"
