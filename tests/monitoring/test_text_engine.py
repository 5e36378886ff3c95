"""Big log4j text logs are counted by polars where it is installed, and by the standard library where
it is not: both paths must give the same report, line for line, and the report says which one ran."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate

from .conftest import ANALYZER, load_script

ANALYZE = ANALYZER / "analyze.py"


def _log4j_lines(n: int, seed: int = 7) -> list[str]:
    """The demo generator's records in the common log4j layout (as bench_analyze.py writes them)."""
    return [
        f"{r['timestamp'][:10]} {r['timestamp'][11:19]},{r['timestamp'][20:23]} - {r['level']:<5} "
        f"[{r['host']}:{r['service']}@1] - {r['message']}"
        for r in generate(n, seed=seed)
    ]


def _in_process(path: Path, engine: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    monkeypatch.setenv("LOGANALYZER_TEXT", engine)
    report: dict[str, Any] = analyze_mod.analyze(parse_logs.LogReader(str(path), quiet=True))
    report.pop("elapsed_seconds")
    return report


def _clean(report: dict[str, Any]) -> tuple[str, dict[str, int] | None]:
    """Take the engine's name (and its share of the records) out of a report, and return them."""
    return report["parse"].pop("engine"), report["parse"].pop("engine_records", None)


def _same(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Assert both engines report the same on `path`; return the polars engine's shares."""
    fast = _in_process(path, "polars", monkeypatch)
    slow = _in_process(path, "stdlib", monkeypatch)
    engine, shares = _clean(fast)
    assert _clean(slow) == ("stdlib", None)
    assert fast == slow
    assert shares is not None and sum(shares.values()) == fast["parse"]["records"]
    assert engine == "+".join(name for name, n in shares.items() if n)
    return shares


_ODD_LINES = {
    "blank line": "",
    "spaces line": "   ",
    "stack trace": "java.lang.IllegalStateException: pool closed\n\tat com.example.Pool.get(Pool.java:42)",
    "malformed line": "this is not a log line",
    "general log4j layout": "2026-03-14T09:10:00.123Z ERROR [main] com.example.Svc: other layout",
    "unreal date": "2026-02-30 09:10:00,000 - ERROR [main:svc@1] - no such day",
    "hour 25": "2026-03-14 25:10:00,000 - ERROR [main:svc@1] - no such hour",
    "second 61": "2026-03-14 09:10:61,000 - ERROR [main:svc@1] - a leap-ish second",
    "unicode digits": "٢٠٢٦-03-14 09:10:00,000 - ERROR [main:svc@1] - arabic-indic year",
    "replacement character": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - bad \ufffd byte",
    "carriage return": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - cr\rinside",
    "nul": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - nul\x00inside",
    "tab": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - tab\tinside",
    "unknown level": "2026-03-14 09:10:00,000 - LOUD  [main:svc@1] - unknown level",
    "long level": "2026-03-14 09:10:00,000 - EXTRAORDINARYLEVEL [main:svc@1] - a long level word",
    "eleven-letter level": "2026-03-14 09:10:00,000 - EXCEPTIONAL [main:svc@1] - the longest level polars reads",
    "twelve-letter level": "2026-03-14 09:10:00,000 - EXCEPTIONALS [main:svc@1] - one letter too many",
    "non-canonical level": "2026-03-14 09:10:00,000 - WARNING [main:svc@1] - spelled out",
    "severe": "2026-03-14 09:10:00,000 - SEVERE [main:svc@1] - java.util.logging's error",
    "nested thread": "2026-03-14 09:10:00,000 - ERROR [QuorumPeer[myid=1]/0.0.0.0:2181] - nested",
    "thread with a dash": "2026-03-14 09:10:00,000 - ERROR [a[b] - c] - the thread holds '] - '",
    "message with a dash": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - retry [2] - gave up [a] - b",
    "dot millis": "2026-03-14 09:10:00.500 - ERROR [main:svc@1] - a dot before the millis",
    "multibyte": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - café ☕ failed for 用户 42",
    "control character": "2026-03-14 09:10:00,000 - ERROR [main:svc@1] - file\x1cseparator 12",
    "last line error": "2026-03-14 09:59:59,999 - FATAL [main:svc@1] - the last line is kept back",
}


@pytest.mark.parametrize("case", list(_ODD_LINES))
def test_polars_counts_text_as_the_standard_path_does(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One odd line among 300 clean ones: the report equals the standard library's, and a block
    polars could read differently goes the standard path."""
    pytest.importorskip("polars")
    lines = _log4j_lines(300, seed=17)
    if case == "last line error":
        lines.append(_ODD_LINES[case])
    else:
        lines.insert(150, _ODD_LINES[case])
    path = tmp_path / "odd.log"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    shares = _same(path, monkeypatch)
    read_by_polars = case in (
        "nested thread", "thread with a dash", "message with a dash", "eleven-letter level", "dot millis", "multibyte", "tab", "unknown level",
        "non-canonical level", "severe", "last line error", "control character", "second 61",
    )  # fmt: skip
    assert shares["polars"] == (len(lines) if read_by_polars else 0), shares


def test_invalid_utf8_and_crlf_go_the_standard_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("polars")
    lines = [line.encode() for line in _log4j_lines(200, seed=3)]
    bad = tmp_path / "bad.log"
    odd = b"2026-03-14 09:10:00,000 - ERROR [m] - \xff\xfe"
    bad.write_bytes(b"\n".join([*lines[:100], odd, *lines[100:]]) + b"\n")
    assert _same(bad, monkeypatch)["polars"] == 0
    crlf = tmp_path / "crlf.log"
    crlf.write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert _same(crlf, monkeypatch)["polars"] == 0


def test_many_blocks_with_stack_traces_across_block_edges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About 4 MB in 1 MB blocks, two per polars call: a stack trace at the start of a block still
    joins the record before it (polars kept that record back), the block with it goes the standard
    path and the others polars; malformed lines keep their line numbers."""
    pytest.importorskip("polars")
    textframes: Any = load_script("textframes")
    readstats: Any = load_script("readstats")
    monkeypatch.setattr(textframes, "GROUP", 2)
    lines = _log4j_lines(36_000, seed=23)
    path = tmp_path / "big.log"
    path.write_text("\n".join(lines) + "\n")
    with open(path, "rb") as handle:
        found = readstats.blocks(handle, readstats.Progress("x", None, True), readstats.ParseStats(), 1 << 30)
        first_block = next(iter(found))[2]
    # the long first line runs past the first block's last byte, so the second block starts with it
    trace = ["java.lang.RuntimeException: " + "x" * 2000, "\tat com.example.A.b(A.java:1)", "\t... 3 more"]
    lines[first_block:first_block] = trace
    lines[30_000] = lines[30_000].replace(" - ", " ~ ", 1)  # a malformed line late in the file
    lines[20_000] = lines[20_000][:26] + "ERROR [QuorumPeer[myid=1]/0.0.0.0:2181] - nested thread 7"
    path.write_text("\n".join(lines) + "\n")
    shares = _same(path, monkeypatch)
    assert 0 < shares["stdlib"] < shares["polars"]
    report = _in_process(path, "polars", monkeypatch)
    assert report["parse"]["continuation_lines"] == 3
    assert report["parse"]["malformed_examples"][0]["line"] == 30_001


def test_the_polars_engine_is_used_for_big_inputs_only_and_left_out_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("polars")
    path = tmp_path / "small.log"
    path.write_text("\n".join(_log4j_lines(500)) + "\n")
    monkeypatch.delenv("LOGANALYZER_TEXT", raising=False)
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    small = analyze_mod.analyze(parse_logs.LogReader(str(path), quiet=True))
    assert small["parse"]["engine"] == "stdlib" and "engine_records" not in small["parse"]
    assert _clean(_in_process(path, "polars", monkeypatch)) == ("polars", {"polars": 500, "stdlib": 0})
    assert _clean(_in_process(path, "stdlib", monkeypatch)) == ("stdlib", None)


def test_a_bare_python_without_site_packages_counts_text_with_the_stdlib(tmp_path: Path) -> None:
    """`python3 -I -S` (no polars to import) reads text the standard way, whatever is asked."""
    pytest.importorskip("polars")
    path = tmp_path / "app.log"
    path.write_text("\n".join(_log4j_lines(2000)) + "\n")
    reports = []
    for flags in (["-I", "-S"], []):
        done = subprocess.run(
            [sys.executable, *flags, str(ANALYZE), str(path), "--quiet"],
            capture_output=True,
            text=True,
            env={**os.environ, "LOGANALYZER_TEXT": "polars"},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        report.pop("elapsed_seconds")
        reports.append(report)
    bare, fast = reports
    assert _clean(bare) == ("stdlib", None)
    assert _clean(fast) == ("polars", {"polars": 2000, "stdlib": 0})
    assert bare == fast


_LETTER = {"DEBUG": "D", "INFO": "I", "WARN": "W", "ERROR": "E", "FATAL": "F"}


def _inferred_line(layout: str, i: int, r: dict[str, Any]) -> str:
    ts, level, svc, msg = r["timestamp"], r["level"], r["service"], r["message"]
    if layout == "logcat":
        return f"{ts[5:10]} {ts[11:23]}  {1000 + i % 900}  {2000 + i % 97} {_LETTER[level]} {svc}: {msg}"
    if layout == "pipes":
        return f"{ts} | {level.lower()} | {svc} | {msg}"
    if layout == "brackets":
        return f"[{ts[:10]} {ts[11:19]},{ts[20:23]}] [{level}] {svc} {msg}"
    return f"{ts[:4]}/{ts[5:7]}/{ts[8:10]} {ts[11:19]} {svc} {level}: {msg}"


def _inferred_lines(layout: str, n: int) -> list[str]:
    """The demo generator's records in a layout no built-in format reads (so it is inferred)."""
    return [_inferred_line(layout, i, r) for i, r in enumerate(generate(n, seed=29))]


_ODD_RECORD = {"timestamp": "2026-03-14T09:10:00.250Z", "level": "ERROR", "service": "svc", "message": ""}
_INFERRED_ODD: dict[str, Any] = {
    "clean": None,
    "blank line": "",
    "stack trace": "java.lang.IllegalStateException: pool closed\n\tat com.example.Pool.get(Pool.java:42)",
    "malformed line": "this is not a log line at all",
    "non-ascii message": {"message": "café ☕ failed for 用户 42"},
    "carriage return": {"message": "cr\rinside"},
    "unreal date": {"timestamp": "2026-02-30T09:10:00.250Z", "message": "no such day"},
    "hour 24": {"timestamp": "2026-03-14T24:10:00.250Z", "message": "no such hour"},
    "other level": {"level": "WARN", "message": "a warning 7"},
}


@pytest.mark.parametrize("layout", ["logcat", "pipes", "brackets", "slashes"])
@pytest.mark.parametrize("case", list(_INFERRED_ODD))
def test_polars_counts_inferred_layouts_as_the_standard_path_does(
    tmp_path: Path, layout: str, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layouts found by inference are counted by polars too, with the same report; odd lines send
    their block to the standard path."""
    pytest.importorskip("polars")
    lines = _inferred_lines(layout, 400)
    odd = _INFERRED_ODD[case]
    if isinstance(odd, dict):
        lines.insert(200, _inferred_line(layout, 7, {**_ODD_RECORD, **odd}))
    elif odd is not None:
        lines.insert(200, odd)
    path = tmp_path / f"{layout}.log"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    shares = _same(path, monkeypatch)
    report = _in_process(path, "polars", monkeypatch)
    assert report["format"] == "inferred", report["parse"].get("layout")
    if case in ("clean", "other level"):
        assert shares["polars"] == len(lines), report["parse"]["layout"]
    else:
        assert shares["polars"] == 0, case


def test_zone_offsets_in_an_inferred_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Times with a zone offset: the standard path makes records of that block; Z counts as UTC."""
    pytest.importorskip("polars")
    lines = _inferred_lines("pipes", 400)
    lines[100] = "2026-03-14T10:10:00.250+01:00 | error | svc | an offset"
    lines[300] = "2026-03-14T09:40:00.250 | error | svc | no zone at all"
    path = tmp_path / "zones.log"
    path.write_text("\n".join(lines) + "\n")
    assert _same(path, monkeypatch)["polars"] == 0
    del lines[100]
    path.write_text("\n".join(lines) + "\n")
    assert _same(path, monkeypatch)["polars"] == len(lines)


def test_an_inferred_layout_over_many_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("polars")
    textframes: Any = load_script("textframes")
    monkeypatch.setattr(textframes, "GROUP", 2)
    lines = _inferred_lines("logcat", 40_000)
    lines[25_000:25_000] = ["java.lang.RuntimeException: boom", "\tat com.example.A.b(A.java:1)"]
    path = tmp_path / "logcat.log"
    path.write_text("\n".join(lines) + "\n")
    shares = _same(path, monkeypatch)
    assert 0 < shares["stdlib"] < shares["polars"]


def test_a_polars_failure_sends_the_blocks_the_standard_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pl = pytest.importorskip("polars")
    textframes: Any = load_script("textframes")

    def broken(self: Any, found: Any) -> None:
        raise pl.exceptions.ComputeError("boom")

    monkeypatch.setattr(textframes.Zookeeper, "counted", broken)
    path = tmp_path / "app.log"
    path.write_text("\n".join(_log4j_lines(500)) + "\n")
    assert _same(path, monkeypatch) == {"polars": 0, "stdlib": 500}


def test_more_signatures_than_the_analysis_keeps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """120,000 different errors: the signature table is folded (past 100,000) at the same points
    and keeps the same ones on ties, whichever engine counted the blocks."""
    pytest.importorskip("polars")
    textframes: Any = load_script("textframes")
    monkeypatch.setattr(textframes, "GROUP", 3)
    letters = "ghijklmnopqrstuvwyz"  # no hex digits: each word stays in its signature

    def word(i: int) -> str:
        out = ""
        while True:
            i, r = divmod(i, len(letters))
            out += letters[r]
            if not i:
                return out

    lines = [
        f"2026-03-14 09:{i // 6000 % 60:02d}:{i // 100 % 60:02d},{i % 1000:03d} - ERROR [w-{i % 7}] - "
        f"cannot open {word(i)}"
        for i in range(120_000)
    ]
    path = tmp_path / "many.log"
    path.write_text("\n".join(lines) + "\n")
    assert _same(path, monkeypatch)["stdlib"] == 0
    report = _in_process(path, "polars", monkeypatch)
    assert report["top_errors"][0]["signature"] == "<other signatures>"  # the table was folded


def test_repeats_ties_and_times_out_of_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same message many times in a block, several messages of one signature at one time (the
    example is the smallest of them), more than 64 errors in one millisecond, and times that go
    back and forth: first/last seen, examples and counts equal the standard path's."""
    pytest.importorskip("polars")
    lines = []
    for i in range(3000):
        second = (i * 7919) % 3600  # out of order, each second visited about once
        stamp = f"2026-03-14 09:{second // 60:02d}:{second % 60:02d},{i % 3 * 100:03d}"
        level = ("ERROR", "WARN ", "INFO ", "FATAL")[i % 4]
        lines.append(f"{stamp} - {level} [main:svc@1] - order {9000 - i % 50} failed with code {i % 3}")
        if i % 10 == 0:  # the same line again: a message counted more than once in its block
            lines.append(lines[-1])
    tied = "2026-03-14 09:30:00,000 - ERROR [main:svc@1] - "
    lines += [tied + f"timeout after {(x * 37) % 101} ms on shard {x % 5}" for x in range(90)]
    lines += [tied.replace("09:30", "08:59") + "the earliest of all, out of order"]
    path = tmp_path / "ties.log"
    path.write_text("\n".join(lines) + "\n")
    shares = _same(path, monkeypatch)
    assert shares["polars"] == len(lines)
    report = _in_process(path, "polars", monkeypatch)
    timeouts = [s for s in report["top_errors"] if s["signature"].startswith("timeout")]
    assert timeouts[0]["count"] == 90 and timeouts[0]["example"] == "timeout after 0 ms on shard 0"


def test_uuids_ties_and_the_300_character_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages that differ only by a UUID share a signature: counted together, the example is the
    earliest one (the smallest at one time); a UUID across the 300th character is cut before it is
    masked, as the standard path cuts it; the report equals the standard path's."""
    pytest.importorskip("polars")
    import uuid

    rng = uuid.UUID(int=12345)
    lines = []
    for i in range(2000):
        stamp = f"2026-03-14 09:{i // 60 % 60:02d}:{i % 60:02d},{(i * 7) % 1000:03d}"
        ident = uuid.UUID(int=(rng.int * (i + 1) * 0x9E3779B97F4A7C15) % (1 << 128))
        lines.append(f"{stamp} - ERROR [main:svc@1] - request {ident} failed")
        if i % 3 == 0:  # same time, another UUID (smaller as time goes on): the earliest time's smaller one
            lines.append(f"{stamp} - ERROR [main:svc@1] - request {uuid.UUID(int=10**9 - i)} failed")
        if i % 5 == 0:  # a UUID across the cut: only its part after character 300 is left unmasked
            lines.append(f"{stamp} - WARN  [main:svc@1] - {'x' * 280} {ident} tail")
    path = tmp_path / "uuids.log"
    path.write_text("\n".join(lines) + "\n")
    assert _same(path, monkeypatch)["polars"] == len(lines)
    report = _in_process(path, "polars", monkeypatch)
    top = report["top_errors"][0]
    assert top["signature"] == "request <uuid> failed" and top["count"] == 2000 + 667
    first = sorted(line.split("] - ", 1)[1] for line in lines[:2])
    assert top["example"] == first[0]
