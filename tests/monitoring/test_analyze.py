"""analyze.py: the analysis of demo logs and of every input shape, exit codes, bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate, write_jsonl

from .conftest import ANALYZER, SAMPLES, load_script, run_script

ANALYZE = ANALYZER / "analyze.py"


def analyze(path: Path, *args: str, code: int = 0) -> dict[str, Any]:
    done = run_script(ANALYZE, str(path), *args)
    assert done.returncode == code, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)  # stdout is the JSON document and nothing else
    return report


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("demo") / "logs.jsonl"
    write_jsonl(path, 3000, seed=42)
    return analyze(path)


def test_demo_logs_are_critical_with_the_injected_incidents(demo_report: dict[str, Any]) -> None:
    report = demo_report
    summary = report["summary"]
    assert summary["total"] == 3000 == sum(summary["levels"].values())
    errors = sum(1 for r in generate(3000, seed=42) if r["level"] == "ERROR")
    assert summary["errors"] == summary["levels"]["ERROR"] == errors and 0.05 < summary["error_rate"] < 0.15
    assert report["health"]["status"] == "critical"
    assert report["health"]["rule"].startswith("critical diagnostic")
    found = {d["id"]: d for d in report["diagnostics"]}
    assert {
        "connection_pool_exhausted",
        "upstream_timeout",
        "http_5xx",
        "oom_kill",
        "certificate_expiry",
    } <= found.keys()
    assert found["connection_pool_exhausted"]["severity"] == "critical"
    assert "payment-service" in found["connection_pool_exhausted"]["services"]
    assert found["oom_kill"]["recommendation"]
    # the demo hour ends with the pool exhaustion and its cascade still going on; the others are over
    states = {k: d.get("state") for k, d in found.items()}
    assert states["connection_pool_exhausted"] == states["upstream_timeout"] == "ongoing"
    assert states["http_5xx"] == states["oom_kill"] == "resolved"
    assert report["health"]["ongoing"] == ["connection_pool_exhausted", "upstream_timeout"]
    assert report["window"]["records"] == 3000 and report["window"]["truncated"] is False
    assert [d["severity"] for d in report["diagnostics"]] == sorted(
        (d["severity"] for d in report["diagnostics"]), key=["critical", "high", "medium", "low"].index
    )


def test_signatures_are_masked_and_counted(demo_report: dict[str, Any]) -> None:
    signatures = [e["signature"] for e in demo_report["top_errors"]]
    assert "Connection pool exhausted: <num>/<num> connections in use, <num> requests waiting" in signatures
    assert any("<uuid>" in s for s in signatures) and any("<url>" in s for s in signatures)
    assert any(s.startswith("HTTP 504 Gateway Timeout for POST <path>") for s in signatures)
    counts = [e["count"] for e in demo_report["top_errors"]]
    assert counts == sorted(counts, reverse=True)
    top = demo_report["top_errors"][0]
    assert top["first_seen"] <= top["last_seen"] and top["example"] and top["services"] and top["hosts"]
    assert sum(demo_report["errors_by_service"].values()) == demo_report["summary"]["errors"]
    assert sum(demo_report["errors_by_host"].values()) == demo_report["summary"]["errors"]


def test_timeline_and_bursts(demo_report: dict[str, Any]) -> None:
    timeline = demo_report["timeline"]
    assert timeline["bucket_minutes"] == 1 and len(timeline["points"]) == 60
    assert timeline["points"][0]["minute"] == "2026-03-14T09:00Z"
    assert sum(p["total"] for p in timeline["points"]) == 3000
    assert sum(p["errors"] for p in timeline["points"]) == demo_report["summary"]["errors"]
    starts = [b["start"] for b in demo_report["anomalies"]]
    assert starts and all(
        b["kind"] == "error_burst" and b["peak_errors"] > b["threshold"] for b in demo_report["anomalies"]
    )
    bursts = {b["start"]: b for b in demo_report["anomalies"]}
    last = max(bursts.values(), key=lambda b: b["end"])  # pool exhaustion + timeouts, to the end
    assert last["end"] == "2026-03-14T09:59Z" and last["state"] == "ongoing"
    assert "2026-03-14T09:48Z" <= last["start"] <= "2026-03-14T09:53Z"
    early = next(b for s, b in bursts.items() if "2026-03-14T09:11Z" <= s <= "2026-03-14T09:13Z")
    assert early["state"] == "resolved" and early["end"] <= "2026-03-14T09:15Z"  # the 5xx burst


def test_healthy_and_degraded_verdicts(tmp_path: Path) -> None:
    quiet = [
        {
            "timestamp": f"2026-03-14T09:{i // 10:02d}:{i % 10:02d}Z",
            "level": "INFO",
            "service": "a",
            "host": "h",
            "message": f"request {i} ok",
        }
        for i in range(200)
    ]
    quiet[50]["level"], quiet[50]["message"] = "ERROR", "Validation failed for order 12"
    healthy = analyze(write_records(tmp_path / "healthy.jsonl", quiet))
    assert healthy["health"]["status"] == "healthy" and "error rate 0.5%" in healthy["health"]["rule"]
    for i in range(0, 200, 20):
        quiet[i]["level"] = "ERROR"
    degraded = analyze(write_records(tmp_path / "degraded.jsonl", quiet))
    assert degraded["health"]["status"] == "degraded"
    assert degraded["health"]["rule"] == "error rate 5.5% >= 2%"
    critical = analyze(tmp_path / "degraded.jsonl", "--error-critical", "0.05")
    assert (
        critical["health"]["status"] == "critical" and critical["health"]["rule"] == "error rate 5.5% >= 5%"
    )


def test_fast_and_general_paths_agree(tmp_path: Path) -> None:
    """The same logs with odd keys, zones and level names must give the same numbers."""
    records = list(generate(1200, seed=5))
    plain = analyze(write_records(tmp_path / "plain.jsonl", records))
    odd = [
        {
            "ts": r["timestamp"].replace("Z", "+00:00"),
            "severity": r["level"].lower().replace("warn", "warning"),
            "msg": r["message"],
            "app": r["service"],
            "hostname": r["host"],
        }
        for r in records
    ]
    aliased = [  # the usual keys for counting, but the message and host under other names
        {
            "timestamp": r["timestamp"],
            "level": r["level"],
            "service": r["service"],
            "hostname": r["host"],
            "msg": r["message"],
        }
        for r in records
    ]
    for name, variant in (("odd", odd), ("aliased", aliased)):
        other = analyze(write_records(tmp_path / f"{name}.jsonl", variant))
        for key in ("summary", "errors_by_service", "errors_by_host", "timeline", "anomalies"):
            assert other[key] == plain[key], (name, key)
        assert [(e["signature"], e["count"], e["first_seen"]) for e in other["top_errors"]] == [
            (e["signature"], e["count"], e["first_seen"]) for e in plain["top_errors"]
        ]
        assert [d["id"] for d in other["diagnostics"]] == [d["id"] for d in plain["diagnostics"]]


def test_text_logs_are_analysed(tmp_path: Path) -> None:
    log4j = analyze(SAMPLES / "log4j.log")
    assert log4j["format"] == "log4j" and log4j["summary"]["total"] == 5 and log4j["summary"]["errors"] == 2
    assert any(d["id"] == "connection_refused" for d in log4j["diagnostics"])  # "Broken pipe"
    syslog = analyze(SAMPLES / "syslog3164.log", "--year", "2025")
    assert syslog["summary"]["levels"]["FATAL"] == 1
    access = analyze(SAMPLES / "access.log")
    assert access["summary"]["errors"] == 1 and access["summary"]["warnings"] == 1


def test_bad_input_is_counted_not_fatal(tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    good = [json.dumps(r).encode() for r in generate(100, seed=1)]
    data.write_bytes(b"\n".join(good[:50]) + b"\n{broken\n\xff\xfe garbage\n" + b"\n".join(good[50:]) + b"\n")
    report = analyze(data)
    assert report["summary"]["total"] == 100
    assert report["parse"]["malformed"] == 2 and report["parse"]["malformed_examples"][0]["line"] == 51


def test_empty_unknown_levels_and_timestamps(tmp_path: Path) -> None:
    empty = analyze(write_records(tmp_path / "empty.jsonl", []))
    assert empty["summary"]["total"] == 0 and empty["health"]["status"] == "unknown"
    assert empty["timeline"]["points"] == [] and empty["top_errors"] == []
    odd = [
        {"timestamp": "2026-03-14 09:00:01", "level": "banana", "message": "a"},
        {"timestamp": "1773478802", "level": "notice", "message": "b"},
        {"timestamp": "not a time", "level": "ERROR", "message": "c"},
        {"level": "fatal", "message": "d"},
    ]
    report = analyze(write_records(tmp_path / "odd.jsonl", odd))
    assert report["summary"]["levels"] == {"FATAL": 1, "ERROR": 1, "INFO": 1, "UNKNOWN": 1}
    assert report["parse"]["unknown_levels"] == {"banana": 1}
    assert report["parse"]["timestamps_assumed_utc"] == 1
    assert report["parse"]["missing_timestamps"] == 2 and report["parse"]["timestamps_unreadable"] == 2
    assert [p["total"] for p in report["timeline"]["points"]] == [2]


def test_exit_codes_and_output_file(tmp_path: Path, demo_report: dict[str, Any]) -> None:
    data = tmp_path / "logs.jsonl"
    write_jsonl(data, 3000, seed=42)
    assert run_script(ANALYZE, str(data), "--fail-on-critical", "--quiet").returncode == 3
    out = tmp_path / "analysis.json"
    done = run_script(ANALYZE, str(data), "-o", str(out))
    assert done.returncode == 0 and "health critical" in done.stderr
    short = json.loads(done.stdout)
    assert short["output"] == str(out) and short["health"]["status"] == "critical" and "timeline" not in short
    full = json.loads(out.read_text())
    assert full["summary"] == demo_report["summary"]
    assert run_script(ANALYZE, str(tmp_path / "missing.jsonl")).returncode == 1
    garbage = tmp_path / "garbage.log"
    garbage.write_text("not a log line\nnor this\n")
    assert run_script(ANALYZE, str(garbage), "--format", "syslog").returncode == 1
    assert run_script(ANALYZE).returncode == 2


def test_analyze_as_a_module() -> None:
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")
    report = analyze_mod.analyze(parse_logs.LogReader(str(SAMPLES / "envelope.json"), quiet=True), top=1)
    assert report["summary"]["errors"] == 1 and len(report["top_errors"]) == 1
    assert report["diagnostics"][0]["id"] == "http_5xx"


def _peak_rss_mb(path: Path, engine: str) -> float:
    """Peak RSS of analyze.py on `path`, measured from a fresh parent whose only child it is."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, sys.argv[1], sys.argv[2], '--quiet'], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(ANALYZE), str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LOGANALYZER_JSON": engine},
    )
    return float(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["orjson", "polars"])
def test_memory_stays_bounded_as_the_file_grows(tmp_path: Path, engine: str) -> None:
    if engine == "polars":
        pytest.importorskip("polars")
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    write_jsonl(small, 20_000)
    size = write_jsonl(big, 500_000)  # ~95 MB
    small_rss, big_rss = _peak_rss_mb(small, engine), _peak_rss_mb(big, engine)
    assert size > 90e6
    assert big_rss < small_rss + 25, (small_rss, big_rss)  # 25x the data, about the same memory
    # polars' library alone takes ~45 MB; the issue's bound for 1M records is 100 MB
    assert big_rss < (100 if engine == "polars" else size / 1e6 / 2), (big_rss, size)


def test_text_fast_path_matches_the_record_path(tmp_path: Path) -> None:
    """Big log4j files go through Columns (no dict per line); the numbers must not change."""
    lines = [
        f"2026-03-14 09:{i // 60 % 60:02d}:{i % 60:02d},{i % 1000:03d} - {lvl} [worker-{i % 3}] - {msg} {i}"
        for i, (lvl, msg) in enumerate(
            [("INFO", "ok"), ("ERROR", "HTTP 503 Service Unavailable"), ("WARN", "slow")] * 14000
        )
    ]
    lines.insert(500, "java.lang.IllegalStateException: boom")  # a continuation line in the first block
    lines.insert(501, "\tat com.example.Thing.run(Thing.java:42)")
    path = tmp_path / "app.log"
    path.write_text("\n".join(lines) + "\n")
    analyze_mod: Any = load_script("analyze")
    parse_logs: Any = load_script("parse_logs")

    def run(columns: bool) -> dict[str, Any]:
        reader = parse_logs.LogReader(str(path), quiet=True)
        reader.columns = columns
        acc = analyze_mod.Analysis()
        for batch in reader.raw_batches():
            if not isinstance(batch, list):
                blocks.append(len(batch))
                acc.add_block(batch)
            elif not acc.add_columns(batch):
                raise AssertionError("text records always take the column path")
        report: dict[str, Any] = analyze_mod._report(acc, reader, analyze_mod.Thresholds(), 5.0, 5, 0.0)
        return report

    blocks: list[int] = []
    fast, slow = run(True), run(False)
    assert len(blocks) >= 2, "the blocks after the first are all clean: they come as Columns"
    for key in ("summary", "top_errors", "top_warnings", "errors_by_service", "timeline", "diagnostics"):
        assert fast[key] == slow[key], key
    assert fast["summary"]["total"] == 42_000 and fast["parse"]["continuation_lines"] == 2
    assert fast["parse"]["timestamps_assumed_utc"] == slow["parse"]["timestamps_assumed_utc"] == 42_000


def _record(i: int, level: str = "INFO", **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": f"2026-03-14T09:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "level": level,
        "service": "api",
        "host": "h-1",
        "message": f"request {i} failed with HTTP 500" if level == "ERROR" else f"request {i} ok",
        **extra,
    }


@pytest.mark.parametrize("key", ["logs", "records", "data", "items", "result"])
def test_a_one_line_envelope_is_read_record_by_record(tmp_path: Path, key: str) -> None:
    """The log API's answer saved on one line used to be 1 record, "healthy"."""
    records = [_record(i, "ERROR" if i % 4 == 0 else "INFO") for i in range(40)]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"count": 40, key: records, "next_cursor": "abc"}))  # one line, no newline
    report = analyze(path)
    assert report["summary"]["total"] == 40 and report["summary"]["errors"] == 10
    assert report["health"]["status"] == "critical"
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(records) + "\n")
    assert analyze(bare)["summary"] == report["summary"]


def test_pages_saved_one_per_line_are_opened(tmp_path: Path) -> None:
    pages = [
        {"logs": [_record(i + 10 * p, "WARN" if i == 0 else "INFO") for i in range(10)]} for p in range(3)
    ]
    path = tmp_path / "pages.jsonl"
    path.write_text("".join(json.dumps(page) + "\n" for page in pages) + json.dumps([_record(99)]) + "\n")
    report = analyze(path)
    assert report["format"] == "jsonl" and report["summary"]["total"] == 31
    assert report["summary"]["warnings"] == 3 and report["parse"]["records"] == 31


def test_objects_that_are_not_log_records_are_not_a_healthy_verdict(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"user": "ann", "age": 3}\n{"user": "bob", "age": 4}\n')
    done = run_script(ANALYZE, str(path))
    assert done.returncode == 1 and "no line could be read" in done.stderr
    report = json.loads(done.stdout)
    assert report["health"]["status"] == "unknown" and report["parse"]["malformed"] == 2
    assert report["parse"]["malformed_examples"][0]["reason"].startswith("not a log record")
    assert report["parse"]["confidence"] == "low"


@pytest.mark.parametrize("stamp", ["2026-02-30T00:00:00Z", "9999-99-99T99:99:99Z", "2026-13-01 10:00:00"])
def test_an_impossible_timestamp_is_one_malformed_record(tmp_path: Path, stamp: str) -> None:
    records = [_record(i) for i in range(20)]
    records.insert(7, _record(7, "ERROR", timestamp=stamp))
    report = analyze(write_records(tmp_path / "bad.jsonl", records))
    assert report["summary"]["total"] == 20 and report["summary"]["errors"] == 0
    assert report["parse"]["malformed"] == 1
    assert "is not a real date and time" in report["parse"]["malformed_examples"][0]["reason"]
    text = tmp_path / "bad.log"  # the log4j fast path slices times instead of parsing them
    lines = [f"2026-03-14 09:00:{i:02d},000 - INFO  [main] - ok {i}" for i in range(30)]
    lines[12] = f"{stamp[:10]} {stamp[11:19]},000 - ERROR [main] - boom"
    text.write_text("\n".join(lines) + "\n")
    log4j = analyze(text)
    assert log4j["summary"]["total"] == 29 and log4j["parse"]["malformed"] == 1
    assert log4j["parse"]["malformed_examples"][0]["line"] == 13


def test_a_line_nested_100k_levels_deep_is_malformed_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    good = "".join(json.dumps(_record(i)) + "\n" for i in range(10))
    path.write_text(
        good + "[" * 100_000 + "]" * 100_000 + "\n" + '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n"
    )
    report = analyze(path)
    assert report["summary"]["total"] == 10 and report["parse"]["malformed"] == 2
    assert all("nested too deeply" in e["reason"] for e in report["parse"]["malformed_examples"])
    array = tmp_path / "deep.json"
    array.write_text("[" + json.dumps(_record(1)) + "," + "[" * 100_000 + "]" * 100_000 + "]")
    done = run_script(ANALYZE, str(array))
    assert done.returncode == 1 and "nested too deeply" in done.stderr and "Traceback" not in done.stderr


def test_a_line_over_the_limit_is_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    good = "".join(json.dumps(_record(i)) + "\n" for i in range(5))
    path.write_text(good + '{"message": "' + "x" * (3 << 20) + '"}\n' + good)
    report = analyze(path, "--max-line-mb", "1")
    assert report["summary"]["total"] == 10 and report["parse"]["malformed"] == 1
    example = report["parse"]["malformed_examples"][0]
    assert example["line"] == 6 and "over the 1 MB limit" in example["reason"] and len(example["text"]) <= 200


@pytest.mark.slow
def test_a_2gb_file_without_a_newline_is_bounded_and_explained(tmp_path: Path) -> None:
    """One pass and bounded memory (was 6 minutes, 1 GB and "0 records, 0 malformed")."""
    path = tmp_path / "one-line.jsonl"
    with open(path, "wb") as out:
        out.write(b'{"message": "')
        out.truncate(2 << 30)  # sparse: the disk holds almost nothing
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, *sys.argv[1:]], capture_output=True, text=True)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
        "print(done.stdout)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(ANALYZE), str(path), "--quiet"],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    status, rss_mb = map(int, done.stdout.splitlines()[0].split())
    report = json.loads(done.stdout.split("\n", 1)[1])
    assert status == 1 and report["summary"]["total"] == 0 and report["parse"]["malformed"] == 1
    assert "2,147,483,648 bytes long" in report["parse"]["malformed_examples"][0]["reason"]
    assert rss_mb < 300, rss_mb


def test_a_big_array_read_by_several_processes_equals_one_pass(tmp_path: Path) -> None:
    """--jobs cuts the array only between records, never inside a string that looks like a cut."""
    records = list(generate(6000, seed=9))
    for i in range(0, 6000, 7):  # strings holding what a naive cutter would take for a boundary
        records[i]["message"] = records[i]["message"] + ' },{"level": "ERROR", "message": "x"},{'
    path = tmp_path / "big.json"
    path.write_text(json.dumps(records))
    one = analyze(path, "--jobs", "1")
    for jobs in ("2", "4"):
        many = analyze(path, "--jobs", jobs)
        assert {k: v for k, v in many.items() if k != "elapsed_seconds"} == {
            k: v for k, v in one.items() if k != "elapsed_seconds"
        }
    assert one["summary"]["total"] == 6000
    envelope = tmp_path / "envelope.json"
    envelope.write_text(json.dumps({"count": 6000, "logs": records, "next_cursor": None}))
    assert analyze(envelope, "--jobs", "3")["summary"] == one["summary"]


def test_an_object_service_is_read_by_its_name(tmp_path: Path) -> None:
    """ECS-style `{"service": {"name": ...}}` in records of the fast shape: named, never a crash."""
    path = tmp_path / "ecs.jsonl"
    rec = {
        "timestamp": "2026-03-14T09:00:00.000Z",
        "level": "ERROR",
        "service": {"name": "api"},
        "message": "x",
    }
    path.write_text(json.dumps(rec) + "\n")
    done = run_script(ANALYZE, str(path), "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["records_by_service"] == {"api": 1} and report["errors_by_service"] == {"api": 1}
