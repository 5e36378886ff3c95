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

from .conftest import ANALYZER, load_script

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


def _clean(report: dict[str, Any]) -> tuple[str, dict[str, int] | None]:
    """Take the engine's name (and its share of the records) out of a report, and return them."""
    return report["parse"].pop("engine"), report["parse"].pop("engine_records", None)


def _hostile_jsonl(tmp_path: Path) -> Path:
    """Records in the fast shape, with every kind of value polars could read differently from the
    standard library sprinkled among them, a block at a time so that some blocks stay clean."""
    records = list(generate(30_000, seed=13))
    odd: list[tuple[str, Any]] = [
        ("level", 1.5),  # polars would read "1.5": the stdlib reads a syslog severity
        ("level", True),
        ("level", {"name": "error"}),
        ("level", 40),
        ("service", 7),
        ("service", False),
        ("service", "bad \ud800 surrogate"),
        ("host", 0),
        ("message", {"error": "boom"}),
        ("message", 2.5),
        ("message", "lone \udc00 surrogate"),
        ("timestamp", 1773478800),
        ("timestamp", "2026-03-14T09:00:61Z"),
        ("timestamp", "2026-02-30T09:00:00Z"),
    ]
    for n, (key, value) in enumerate(odd):
        rec = records[12_000 + n * 1200]  # the first ~2 MB stay clean
        rec[key] = value
        if key in ("host", "message"):
            rec["level"] = "ERROR"  # only WARN and worse records have their message and host read
    lines = [json.dumps(r) for r in records]
    lines[12_100] = ""  # a blank line: polars would skip it without a word
    lines[16_000] = "   "
    lines[20_000] = "[" + lines[20_000] + "]"  # a page saved on one line
    lines[23_000] = "{not json"
    lines[26_000] = lines[26_000].replace('"level": "', '"level": "\\u0045', 1)  # an escape polars reads
    path = tmp_path / "hostile.jsonl"
    with open(path, "wb") as out:
        out.write("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
        out.write(b'{"timestamp": "2026-03-14T09:30:00Z", "level": "INFO", "service": "x\xff"}\n')
    return path


def _polars_report(path: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "LOGANALYZER_JSON": "polars"}
    done = subprocess.run(
        [sys.executable, str(ANALYZE), str(path), "--quiet", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("elapsed_seconds")
    return report


def test_the_polars_engine_gives_the_standard_report(tmp_path: Path) -> None:
    """Big JSON Lines go through polars where it is installed: the same report as orjson and the
    standard library, clean blocks read by polars and every doubtful one by the standard path."""
    pytest.importorskip("polars")
    demo = tmp_path / "demo.jsonl"
    write_jsonl(demo, 20_000, seed=5)
    for path in (demo, *_inputs(tmp_path)[:1], _hostile_jsonl(tmp_path)):
        fast = _polars_report(path)
        engine, shares = _clean(fast)
        slow = _report(path, stdlib=True)
        assert _clean(slow) == ("stdlib", None)
        assert fast == slow, path.name
        assert shares is not None and sum(shares.values()) == fast["parse"]["records"], path.name
        assert engine == "+".join(name for name, n in shares.items() if n), path.name
        if path == demo:
            assert shares["orjson"] == 0  # every block of the clean file was read by polars
        else:  # the blocks with odd values went the standard path
            assert shares["orjson"] > 0, path.name
    assert "polars" in engine  # the hostile file's clean blocks were read by polars


def test_the_polars_engine_is_left_out_when_asked(tmp_path: Path) -> None:
    pytest.importorskip("polars")
    path = tmp_path / "demo.jsonl"
    write_jsonl(path, 2000, seed=5)
    env = {**os.environ, "LOGANALYZER_JSON": "orjson"}
    done = subprocess.run(
        [sys.executable, str(ANALYZE), str(path), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    parse = json.loads(done.stdout)["parse"]
    assert parse["engine"] in ("orjson", "stdlib") and "engine_records" not in parse
    small = _report(path, stdlib=False)  # unset: a small input does not repay polars' import
    assert small["parse"]["engine"] == "orjson" and "engine_records" not in small["parse"]


_ODD: dict[str, tuple[str, Any]] = {
    "float level": ("level", 1.5),  # polars reads "1.5"; the standard path a syslog severity
    "number level": ("level", 40),
    "boolean level": ("level", True),
    "object level": ("level", {"name": "error"}),
    "number service": ("service", 0),
    "boolean service": ("service", False),
    "surrogate service": ("service", "bad \ud800"),  # polars reads NUL for it
    "number host": ("host", 7),
    "object message": ("message", {"error": "boom"}),
    "float message": ("message", 2.5),
    "surrogate message": ("message", "lone \udc00"),
    "epoch timestamp": ("timestamp", 1773478800),
    "leap-ish second": ("timestamp", "2026-03-14T09:00:61Z"),
    "unreal date": ("timestamp", "2026-02-30T09:00:00Z"),
    "two zones": ("timestamp", "2026-03-14T09:00:00ZZ"),
    "surrogate timestamp": ("timestamp", "2026-03-14T09:00:00.000\ud800Z"),  # polars reads NUL
    "no message": ("message", None),
}
_ODD_LINES = {
    "blank line": "",
    "spaces line": "   ",
    "page on one line": "[{}]",
    "broken line": "{not json",
    "scalar line": "42",
}


def _in_process(path: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    monkeypatch.setenv("LOGANALYZER_JSON", engine)
    report: dict[str, Any] = analyze_mod.analyze(parse_logs.LogReader(str(path), quiet=True))
    report.pop("elapsed_seconds")
    return report


@pytest.mark.parametrize("case", [*_ODD, *_ODD_LINES])
def test_polars_hands_every_doubtful_block_to_the_standard_path(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One odd value among clean records: polars turns the block down (it would read it
    differently) and the report equals the standard library's."""
    pytest.importorskip("polars")
    records = list(generate(300, seed=17))
    lines = [json.dumps(r) for r in records]
    if case in _ODD:
        key, value = _ODD[case]
        odd = {**records[150], key: value}
        if key in ("host", "message"):
            odd["level"] = "ERROR"  # only WARN and worse records have their message and host read
        lines[150] = json.dumps(odd)
    else:
        lines[150] = _ODD_LINES[case]
    path = tmp_path / "odd.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    fast = _in_process(path, "polars", monkeypatch)
    slow = _in_process(path, "stdlib", monkeypatch)
    assert _clean(fast) == ("orjson", {"polars": 0, "orjson": fast["parse"]["records"]})
    _clean(slow)
    assert fast == slow
    clean = tmp_path / "clean.jsonl"
    clean.write_text("".join(line + "\n" for line in lines[:150]))
    assert _clean(_in_process(clean, "polars", monkeypatch)) == ("polars", {"polars": 150, "orjson": 0})


@pytest.mark.parametrize("order", ["in order", "shuffled", "a minute each", "short stamps"])
def test_polars_counts_minutes_in_any_order_as_the_standard_path(
    tmp_path: Path, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The polars engine counts the minutes of a block with one binary search per minute when its
    times are in order (the usual case) and row by row when they are not, or span many minutes,
    or are too short to hold a minute: the same report as the standard library's either way."""
    pytest.importorskip("polars")
    import random

    records = list(generate(3000, seed=29))
    if order == "shuffled":
        random.Random(3).shuffle(records)
    elif order == "a minute each":  # one block over 3,000 minutes
        for i, rec in enumerate(records):
            rec["timestamp"] = f"2026-03-{14 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:07.5Z"
    elif order == "short stamps":  # in order, but shorter than a minute's 16 characters
        for i, rec in enumerate(records):
            rec["timestamp"] = f"2026-03-{10 + i // 1000:02d}Z"
    path = tmp_path / "times.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    fast = _in_process(path, "polars", monkeypatch)
    slow = _in_process(path, "stdlib", monkeypatch)
    engine = _clean(fast)
    _clean(slow)
    assert fast == slow
    if order != "short stamps":  # those are no real times: the standard path reads every record
        assert engine == ("polars", {"polars": 3000, "orjson": 0})


def test_read_ahead_hands_groups_back_in_order_with_their_own_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups are read by several threads at once, the later ones sometimes first: each comes
    back in input order with the frame read from it."""
    pytest.importorskip("polars")
    import random
    import threading
    import time

    frames: Any = load_script("frames")
    monkeypatch.setattr(frames, "WORKERS", 3)
    monkeypatch.setattr(frames.os, "cpu_count", lambda: 4)
    delays = random.Random(5)
    threads: set[str] = set()

    def slow_read(group: list[Any]) -> Any:
        time.sleep(delays.random() / 200)
        threads.add(threading.current_thread().name)
        return ("frame of", group[0][1])

    monkeypatch.setattr(frames, "read", slow_read)
    groups = [[(b"{}", n, 1)] for n in range(60)]
    found = list(frames.read_ahead(iter(groups)))
    assert [group for group, _ in found] == groups
    assert [frame for _, frame in found] == [("frame of", n) for n in range(60)]
    assert len(threads) > 1
