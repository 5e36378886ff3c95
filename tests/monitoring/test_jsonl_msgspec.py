"""Big JSON Lines are read with msgspec where it is installed (a block at a time, only the five keys
the analysis counts), and shared out among processes by windows of whole lines: any block msgspec
cannot read exactly as the standard path would goes the standard path, the windows' partials merge
exactly (malformed lines keep their numbers in the file), and `parse.engine` says who read what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate

from .conftest import ANALYZER, load_script
from .test_msgspec_engine import _CASES, _READ_BY_MSGSPEC, _as_the_standard_path, _clean, _element, _report

readstats: Any = load_script("readstats")
shards: Any = load_script("shards")

_LINE = 9_000  # the hostile line's place: in the second ~1 MB block of 16,000 records
_RECORDS = 16_000


def _lines(path: Path, records: list[dict[str, Any]], lines: dict[int, str]) -> Path:
    texts = [json.dumps(r) for r in records]
    for at, text in lines.items():
        texts[at] = text
    path.write_bytes(("\n".join(texts) + "\n").encode("utf-8", "surrogatepass"))
    return path


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(generate(_RECORDS, seed=31))


def _jsonl_cases(record: dict[str, Any]) -> dict[str, str]:
    """Hostile lines only JSON Lines has: the standard path reads each line on its own."""
    text, error = json.dumps(record), json.dumps({**record, "level": "ERROR"})
    half = text.index('"level"')
    return {
        "two values": text + "," + error,  # an array's worth on one line: one malformed line
        "two values, spaced": text + " " + error,
        "blank line": "",
        "spaces": "   ",
        "CRLF": text + "\r",
        "space first": " " + text,
        "one value on two lines": text[:half] + "\n" + text[half:],  # two malformed lines
        # one value on two lines and two on the next: as many values as lines, none a line's own
        "values across lines": text[:half] + "\n" + text[half:] + "\n" + error + error,
    }


@pytest.mark.parametrize("case", [*_CASES, *_jsonl_cases({"level": "x"})])
def test_msgspec_reads_hostile_json_lines_as_the_standard_path_does(
    tmp_path: Path, records: list[dict[str, Any]], case: str
) -> None:
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    record = records[_LINE]
    line = _jsonl_cases(record)[case] if case in _jsonl_cases(record) else _element(record, case)
    path = _lines(tmp_path / "logs.jsonl", records, {_LINE: line})
    # CR and a leading space are JSON's own whitespace: msgspec reads those lines too
    _as_the_standard_path(path, read_by_msgspec=case in (*_READ_BY_MSGSPEC, "CRLF", "space first"))


def test_a_line_holding_two_values_is_malformed_on_every_engine(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    """Read a block at a time, `{...},{...}` on one line once counted as two records on orjson."""
    pytest.importorskip("orjson")
    path = _lines(
        tmp_path / "logs.jsonl", records[:100], {50: json.dumps(records[50]) + "," + json.dumps(records[51])}
    )
    for engine in ("orjson", "stdlib"):
        parse = _report(path, engine)["parse"]
        assert (parse["records"], parse["malformed"], parse["lines"]) == (99, 1, 100), engine
        assert parse["malformed_examples"][0]["line"] == 51, engine


def test_big_json_lines_are_shared_out_among_processes(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """Malformed lines, blank lines, a CRLF block and timestamps the quick count turns down, spread
    over the file: one process or three, msgspec or the standard path, the same report, with the
    malformed lines numbered from the start of the file."""
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    lines = {at: "not json at all" for at in (3, 12_777, 15_990)}  # the middle third is clean
    lines |= {at: "" for at in (4_000, 12_345)}
    lines |= {at: json.dumps(records[at]) + "\r" for at in range(13_000, 13_050)}
    stamp = records[14_000]["timestamp"][:-1] + "+00:00"
    lines[14_000] = json.dumps({**records[14_000], "timestamp": stamp, "level": "ERROR"})
    path = _lines(tmp_path / "logs.jsonl", records, lines)
    slow = _report(path, "stdlib", "--jobs", "1")
    _clean(slow)
    assert [e["line"] for e in slow["parse"]["malformed_examples"]] == [4, 12_778, 15_991]
    assert slow["parse"]["blank"] == 2 and slow["summary"]["total"] == _RECORDS - 5
    for engine, jobs in (("msgspec", "1"), ("msgspec", "3"), ("stdlib", "3"), ("orjson", "2")):
        fast = _report(path, engine, "--jobs", jobs)
        _, shares = _clean(fast)
        assert fast == slow, (engine, jobs)
        if engine == "msgspec":
            assert shares is not None and shares["msgspec"] >= 5_000 and shares["orjson"] > 0


def test_windows_are_whole_lines_of_about_equal_size(tmp_path: Path) -> None:
    data = b"".join(b"%d %s\n" % (n, b"x" * (n % 50)) for n in range(5_000))
    path = tmp_path / "lines.txt"
    path.write_bytes(data + b"last line without a newline")
    with open(path, "rb") as handle:
        windows = readstats.line_windows(handle, path.stat().st_size, 4)
    assert len(windows) == 4 and windows[0][0] == 0 and windows[-1][1] is None
    pieces = [path.read_bytes()[start:end] for start, end in windows]
    assert b"".join(pieces) == path.read_bytes()
    for start, _ in windows[1:]:
        assert data[start - 1 : start] == b"\n"
        assert readstats.lines_before(str(path), start) == data[:start].count(b"\n")
    sizes = [len(p) for p in pieces]
    assert max(sizes) - min(sizes) < 200
    with open(path, "rb") as handle:  # more parts than lines: no empty window
        assert len(readstats.line_windows(handle, 40, 8)) <= 8


def test_no_window_cuts_a_line_over_a_megabyte(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"{}\n" + b'{"m": "' + b"x" * (3 << 20) + b'"}\n' + b"{}\n")
    with open(path, "rb") as handle:
        windows = readstats.line_windows(handle, path.stat().st_size, 4)
    assert all(start == 0 or path.read_bytes()[start - 1 : start] == b"\n" for start, _ in windows)


def test_processes_are_chosen_only_for_big_inputs_and_a_process_without_threads() -> None:
    big = shards.LINES_MIN
    assert shards.processes(3, 10, big) == 3  # asked for: as many as asked
    assert shards.processes(0, big - 1, big) == 1
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # a kernel has threads: forking it is unsafe, so one pass
        assert shards.processes(0, big, big) == 1
    finally:
        stop.set()
        other.join()
    alone = (  # a process with no other thread (as analyze.py is): one per CPU, up to 4
        "from conjure_nb.monitoring._skillcode import skill_code\n"
        f"a, r = (skill_code('log-analyzer', m, skill_dir={str(ANALYZER.parent)!r}) for m in ('shards', 'readstats'))\n"
        "print(a.processes(0, a.LINES_MIN, a.LINES_MIN), min(4, r.cores()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", alone], capture_output=True, text=True, check=True, timeout=60
    )
    found, expected = done.stdout.split()
    assert found == expected


@pytest.mark.parametrize(
    ("files", "proc", "expected"),
    [
        ({"cpu.max": "100000 100000\n"}, "0::/\n", 1),  # cgroup v2, a container's own group
        ({"cpu.max": "150000 100000\n"}, "0::/\n", 2),  # 1.5 CPUs: rounded up
        ({"cpu.max": "max 100000\n"}, "0::/\n", None),  # no quota
        ({"app.slice/cpu.max": "200000 100000\n", "cpu.max": "max 100000\n"}, "0::/app.slice\n", 2),
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, "4:cpu:/docker/x\n", 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, "4:cpu:/docker/x\n", None),
        (
            {
                "cpu,cpuacct/user/cpu.cfs_quota_us": "300000\n",
                "cpu,cpuacct/user/cpu.cfs_period_us": "100000\n",
            },
            "3:cpu,cpuacct:/user\n",
            3,
        ),
        ({}, "0::/\n", None),  # nothing to read: no quota
    ],
)
def test_a_cpu_quota_limits_the_cores(
    tmp_path: Path, files: dict[str, str], proc: str, expected: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(proc)
    usable = len(os.sched_getaffinity(0))
    found = readstats.cores(str(tmp_path), str(tmp_path / "self-cgroup"))
    assert found == (min(usable, expected) if expected else usable)
