"""A big text log is shared out among processes by windows that each start at a line starting a
record, so a stack trace stays with its record: one process or several, polars or the standard
path, the report is the same (malformed lines keep their numbers in the file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import load_script
from .test_msgspec_engine import _clean
from .test_msgspec_engine import _report as _json_report
from .test_text_engine import _inferred_lines, _log4j_lines

readstats: Any = load_script("readstats")
shards: Any = load_script("shards")
parse_logs: Any = load_script("parse_logs")

_TRACE = [
    "java.lang.IllegalStateException: pool closed",
    "\tat com.example.Pool.get(Pool.java:42)",
    "\t... 3 more",
]


def _report(path: Path, text_engine: str, *args: str) -> dict[str, Any]:
    """analyze.py's report with LOGANALYZER_TEXT set, without its time and engine names."""
    report = _json_report(path, text_engine, *args, variable="LOGANALYZER_TEXT")
    _clean(report)
    return report


def _log_with_traces(path: Path) -> list[str]:
    """36,000 log4j lines with a stack trace after every 900th record (some right where a window of
    two, three or four would be cut), two malformed lines and a line whose time names no real day."""
    lines = _log4j_lines(36_000, seed=41)
    for at in range(len(lines) - 1, 0, -900):
        lines[at:at] = _TRACE
    lines[70] = "garbage near the top"
    lines[30_000] = lines[30_000].replace(" - ", " ~ ", 1)
    lines[20_000] = "2026-02-30" + lines[20_000][10:]
    path.write_text("\n".join(lines) + "\n")
    return lines


@pytest.mark.parametrize("engine", ["polars", "stdlib"])
def test_a_text_log_read_by_several_processes_gives_the_one_pass_report(tmp_path: Path, engine: str) -> None:
    if engine == "polars":
        pytest.importorskip("polars")
    path = tmp_path / "app.log"
    _log_with_traces(path)
    one = _report(path, engine, "--jobs", "1")
    assert one["parse"]["continuation_lines"] == 3 * 40
    assert [e["line"] for e in one["parse"]["malformed_examples"]][:1] == [71]
    for jobs in ("2", "3", "4"):
        assert _report(path, engine, "--jobs", jobs) == one, jobs


def test_an_inferred_layout_is_read_alike_by_every_process(tmp_path: Path) -> None:
    pytest.importorskip("polars")
    path = tmp_path / "logcat.log"
    lines = _inferred_lines("logcat", 30_000)
    lines[17_000] = "not a logcat line"
    path.write_text("\n".join(lines) + "\n")
    one = _report(path, "polars", "--jobs", "1")
    assert one["format"] == "inferred" and one["parse"]["malformed"] == 1
    assert _report(path, "polars", "--jobs", "3") == one


def test_windows_start_at_a_record_never_inside_a_stack_trace(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    lines = _log_with_traces(path)
    data = path.read_bytes()
    starts = parse_logs.LogReader(str(path), "log4j").record_start("log4j")
    with open(path, "rb") as handle:
        windows = readstats.line_windows(handle, len(data), 4, starts)
    assert len(windows) == 4 and windows[0][0] == 0 and windows[-1][1] is None
    assert b"".join(data[start:end] for start, end in windows) == data
    for start, _ in windows[1:]:
        first = data[start:].split(b"\n", 1)[0].decode()
        assert data[start - 1 : start] == b"\n" and starts(first)
        assert first not in _TRACE and not first.startswith("2026-02-30")
    assert not starts(_TRACE[1]) and not starts("") and not starts(lines[20_000])


def test_no_window_when_no_record_starts_near_a_cut(tmp_path: Path) -> None:
    path = tmp_path / "one.log"
    lines = _log4j_lines(3)
    path.write_text(lines[0] + "\n" + "\n".join(["\tat x.y(Z.java:1)"] * 200_000) + "\n" + lines[1] + "\n")
    starts = parse_logs.LogReader(str(path), "log4j").record_start("log4j")
    with open(path, "rb") as handle:
        windows = readstats.line_windows(handle, path.stat().st_size, 3, starts)
    assert windows == [(0, None)]


def test_a_process_that_imported_polars_reads_a_big_text_log_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """polars starts threads as it is imported: a process that has it is never forked for polars."""
    pytest.importorskip("polars")
    import polars  # noqa: F401  (what a notebook that uses polars has done)

    path = tmp_path / "app.log"
    _log_with_traces(path)
    reader = parse_logs.LogReader(str(path), quiet=True)
    monkeypatch.setenv("LOGANALYZER_TEXT", "polars")
    assert shards.of_text(reader, 2) is None
    monkeypatch.setenv("LOGANALYZER_TEXT", "stdlib")  # the standard path: the workers do not use polars
    found = shards.of_text(reader, 2)
    assert found is not None and len(found[0]) == 2 and found[1] == "log4j"


def test_polars_text_takes_a_process_per_share_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unasked, a text log polars counts gets a process per POLARS_SHARE bytes (each process
    imports polars again), never more than the CPUs; asked, as many as `jobs`; the standard path
    is shared out from TEXT_MIN."""
    pytest.importorskip("polars")
    path = tmp_path / "app.log"
    _log_with_traces(path)
    size = path.stat().st_size
    monkeypatch.setattr(shards, "TEXT_MIN", 0)  # as if the file were big
    monkeypatch.setattr(shards.threading, "active_count", lambda: 1)  # as in analyze.py's process
    monkeypatch.setattr(shards, "cores", lambda: 2)
    monkeypatch.delitem(sys.modules, "polars")  # not imported yet, as in a fresh analyze.py
    reader = parse_logs.LogReader(str(path), quiet=True)
    monkeypatch.setenv("LOGANALYZER_TEXT", "polars")
    monkeypatch.setattr(shards, "POLARS_SHARE", size // 2 + 1)  # less than two shares: one pass
    assert shards.of_text(reader, 0) is None
    monkeypatch.setattr(shards, "POLARS_SHARE", size // 2)  # two shares: two processes
    found = shards.of_text(reader, 0)
    assert found is not None and len(found[0]) == 2
    monkeypatch.setattr(shards, "POLARS_SHARE", size // 8)  # eight shares, two CPUs
    found = shards.of_text(reader, 0)
    assert found is not None and len(found[0]) == 2
    found = shards.of_text(reader, 3)  # asked
    assert found is not None and len(found[0]) == 3
    monkeypatch.setattr(shards, "POLARS_SHARE", size + 1)
    monkeypatch.setenv("LOGANALYZER_TEXT", "stdlib")
    found = shards.of_text(reader, 0)
    assert found is not None and len(found[0]) == 2


def test_read_ahead_threads_are_a_process_share_of_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each of the processes reading one input side by side reads ahead in its share of the CPUs
    (a thread more would only hold another group in memory); one process in all of them, up to
    the threads asked for."""
    pytest.importorskip("polars")
    import threading
    import time

    frames: Any = load_script("frames")
    monkeypatch.setattr(frames, "cores", lambda: 2)
    names: set[str] = set()

    def work(group: list[int]) -> int:
        names.add(threading.current_thread().name)
        time.sleep(0.02)  # still busy when the next group comes
        return group[0]

    for processes, threads in ((1, 2), (2, 1), (4, 1)):
        names.clear()
        done = list(frames.ahead(([i] for i in range(6)), work, 2, "share", processes))
        assert [found for _, found in done] == list(range(6))
        assert len(names) == threads, (processes, names)
