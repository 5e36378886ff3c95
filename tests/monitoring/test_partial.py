"""Partial analyses that merge exactly: analyze.py --partial / --merge and the Python functions.

The property: a log cut into k shards at arbitrary line boundaries, analysed shard by shard and
merged in any order, gives the single-pass analysis field for field (only `source`, `sources`
and `elapsed_seconds` differ). Line numbers of malformed lines count from each shard's start, so
the generated logs here have none.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conjure_nb.testing._demo_generator import generate

from .conftest import ANALYZER, load_script, run_script

ANALYZE = ANALYZER / "analyze.py"
_LETTER = {"DEBUG": "D", "INFO": "I", "WARN": "W", "ERROR": "E", "FATAL": "F"}
_UNSTABLE = ("source", "sources", "elapsed_seconds")


def _lines(fmt: str, count: int, seed: int) -> list[str]:
    """Demo records (with their injected incidents) written in one of several formats."""
    out = []
    for i, rec in enumerate(generate(count, seed=seed)):
        ts = rec["timestamp"]
        if fmt == "jsonl":
            out.append(json.dumps(rec))
        elif fmt == "log4j":
            out.append(
                f"{ts[:10]} {ts[11:19]},{ts[20:23]} - {rec['level']:<5} [{rec['host']}] - {rec['message']}"
            )
        else:  # logcat: an inferred layout
            out.append(
                f"{ts[5:10]} {ts[11:23]}  {1000 + i % 50}  {2000 + i % 9} {_LETTER[rec['level']]} x: {rec['message']}"
            )
    return out


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what names its inputs (a merge of shards names every shard's file)."""
    stable = {k: v for k, v in report.items() if k not in _UNSTABLE}
    stable["window"] = {k: v for k, v in report["window"].items() if k not in ("query", "sources")}
    return stable


@settings(
    max_examples=int(os.environ.get("PARTIAL_EXAMPLES", "25")), suppress_health_check=[HealthCheck.too_slow]
)
@given(
    fmt=st.sampled_from(["jsonl", "log4j", "logcat"]),
    count=st.integers(1, 1500),
    seed=st.integers(0, 1000),
    cuts=st.lists(st.floats(0, 1), max_size=6),
    order_seed=st.integers(0, 2**16),
)
def test_shards_merge_to_the_single_pass(
    fmt: str, count: int, seed: int, cuts: list[float], order_seed: int
) -> None:
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    lines = _lines(fmt, count, seed)
    bounds = sorted({0, len(lines), *(int(c * len(lines)) for c in cuts)})
    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "whole.log"
        whole.write_text("\n".join(lines) + "\n")
        single = analyze_mod.analyze(parse_logs.LogReader(str(whole), quiet=True, year=2026))
        layout = single["parse"].get("layout")
        partials = []
        for index, (start, end) in enumerate(itertools.pairwise(bounds)):
            shard = Path(tmp) / f"shard{index}.log"
            shard.write_text("".join(line + "\n" for line in lines[start:end]))
            reader = parse_logs.LogReader(str(shard), single["format"], quiet=True, year=2026, layout=layout)
            partials.append(json.loads(json.dumps(analyze_mod.partial(reader))))  # through JSON, as on disk
    random.Random(order_seed).shuffle(partials)
    merged = analyze_mod.merge_partials(partials)
    assert _stable(merged) == _stable(single)
    assert sorted(merged["sources"]) == sorted(f"{tmp}/shard{i}.log" for i in range(len(bounds) - 1))


def test_partial_and_merge_from_the_command_line(tmp_path: Path) -> None:
    lines = _lines("jsonl", 3000, 42)
    whole = tmp_path / "logs.jsonl"
    whole.write_text("\n".join(lines) + "\n")
    parts = []
    for index, (start, end) in enumerate([(0, 1234), (1234, 1235), (1235, 3000)]):
        shard = tmp_path / f"part{index}.jsonl"
        shard.write_text("\n".join(lines[start:end]) + "\n")
        out = tmp_path / f"part{index}.partial.json"
        done = run_script(ANALYZE, str(shard), "--partial", "-o", str(out), "--quiet")
        assert done.returncode == 0, done.stderr
        parts.append(str(out))
    merged = run_script(ANALYZE, "--merge", *reversed(parts), "--quiet")
    single = run_script(ANALYZE, str(whole), "--quiet")
    assert merged.returncode == single.returncode == 0
    a, b = json.loads(merged.stdout), json.loads(single.stdout)
    assert _stable(a) == _stable(b) and a["health"]["status"] == "critical"
    assert a["sources"] == [str(tmp_path / f"part{i}.jsonl") for i in (2, 1, 0)]


def test_bad_merge_inputs_are_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"summary": {}}')
    done = run_script(ANALYZE, "--merge", str(junk))
    assert done.returncode == 1 and "not a partial analysis" in done.stderr and "Traceback" not in done.stderr
    missing = run_script(ANALYZE, "--merge", str(tmp_path / "nope.json"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    neither = run_script(ANALYZE)
    assert neither.returncode == 2 and "--merge" in neither.stderr


def test_a_merge_names_the_engines_that_read_its_parts(tmp_path: Path, monkeypatch: Any) -> None:
    """A merged report says polars read the records polars read in the parts (not `stdlib`), with
    each engine's share added up: the same as the single pass over the whole input."""
    pytest.importorskip("polars")
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    for fmt, env in (("jsonl", "LOGANALYZER_JSON"), ("log4j", "LOGANALYZER_TEXT")):
        monkeypatch.setenv(env, "polars")
        lines = _lines(fmt, 3000, 7)
        whole = tmp_path / f"whole.{fmt}"
        whole.write_text("\n".join(lines) + "\n")
        single = analyze_mod.analyze(parse_logs.LogReader(str(whole), quiet=True, year=2026))
        partials = []
        for index, (start, end) in enumerate([(0, 1000), (1000, 3000)]):
            shard = tmp_path / f"part{index}.{fmt}"
            shard.write_text("".join(line + "\n" for line in lines[start:end]))
            reader = parse_logs.LogReader(str(shard), single["format"], quiet=True, year=2026)
            partials.append(json.loads(json.dumps(analyze_mod.partial(reader))))
        merged = analyze_mod.merge_partials(partials)
        shares = merged["parse"]["engine_records"]
        assert shares["polars"] > 0 and sum(shares.values()) == merged["parse"]["records"] == 3000
        assert merged["parse"]["engine"] == single["parse"]["engine"] != "stdlib", fmt
        assert shares == single["parse"]["engine_records"], fmt
        assert _stable(merged) == _stable(single), fmt
