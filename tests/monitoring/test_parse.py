"""parse_logs.py: every supported format, detection, and bad input (as processes and imported)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import ANALYZER, SAMPLES, load_script, run_script

PARSE = ANALYZER / "parse_logs.py"


def parse(path: Path, *args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run parse_logs.py; (records from stdout, the summary it printed on stderr)."""
    done = run_script(PARSE, str(path), *args)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    summary_line = next(line for line in done.stderr.splitlines() if line.startswith("parse_logs.py: {"))
    return records, json.loads(summary_line.split(": ", 1)[1])


@pytest.mark.parametrize(
    ("sample", "fmt", "count"),
    [
        ("log4j.log", "log4j", 5),
        ("spark.log", "log4j-short", 4),
        ("apache_error.log", "apache-error", 3),
        ("nginx_error.log", "nginx-error", 3),
        ("access.log", "access", 3),
        ("syslog3164.log", "syslog", 4),
        ("syslog5424.log", "syslog5424", 2),
        ("array.json", "json", 3),
        ("envelope.json", "json", 3),
        ("loki.json", "json", 2),
    ],
)
def test_each_format_is_detected_and_normalised(sample: str, fmt: str, count: int) -> None:
    records, summary = parse(SAMPLES / sample)
    assert summary["format"] == fmt
    assert len(records) == count
    assert summary["malformed"] == 0
    for record in records:
        assert {"timestamp", "level", "service", "host", "message"} <= record.keys()
        assert record["level"] in {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
        assert record["timestamp"].endswith("Z") and record["timestamp"][10] == "T"


def test_log4j_details_and_stack_traces() -> None:
    records, summary = parse(SAMPLES / "log4j.log")
    first, _, error, hadoop, logback = records
    assert first["timestamp"] == "2015-07-29T17:41:44.747Z"
    assert first["thread"].startswith("QuorumPeer[myid=1]")
    assert error["level"] == "ERROR" and "java.net.SocketException: Broken pipe" in error["message"]
    assert summary["continuation_lines"] == 3
    assert hadoop["logger"] == "org.apache.hadoop.mapreduce.v2.app.MRAppMaster"
    assert (logback["thread"], logback["logger"], logback["level"]) == (
        "http-nio-8080-exec-1",
        "c.e.d.OrderController",
        "ERROR",
    )
    assert summary["timestamps_assumed_utc"] == 5
    assert any("read as UTC" in note for note in summary["notes"])


def test_text_formats_fields() -> None:
    spark, _ = parse(SAMPLES / "spark.log")
    assert spark[0]["timestamp"] == "2017-06-09T20:10:40.000Z"
    assert spark[3]["logger"] == "executor.Executor"
    apache, _ = parse(SAMPLES / "apache_error.log")
    assert apache[0]["level_original"] == "notice" and apache[0]["level"] == "INFO"
    assert apache[2]["client"] == "72.15.99.187" and apache[2]["timestamp"] == "2000-10-11T14:32:52.123Z"
    nginx, _ = parse(SAMPLES / "nginx_error.log")
    assert [r["level"] for r in nginx] == ["ERROR", "WARN", "FATAL"]
    access, _ = parse(SAMPLES / "access.log")
    assert access[0]["timestamp"] == "2000-10-10T20:55:36.000Z"  # -0700 converted to UTC
    assert [(r["status"], r["level"]) for r in access] == [(200, "INFO"), (502, "ERROR"), (404, "WARN")]
    assert access[1]["method"] == "POST" and access[1]["path"] == "/api/orders"


def test_syslog_levels_hosts_and_missing_year() -> None:
    records, summary = parse(SAMPLES / "syslog3164.log", "--year", "2025")
    sshd, su, restart, kernel = records
    assert (sshd["service"], sshd["host"], sshd["level"], sshd["level_inferred"]) == (
        "sshd(pam_unix)",
        "combo",
        "ERROR",
        True,
    )
    assert sshd["timestamp"] == "2025-06-14T15:16:01.000Z"
    assert su["level"] == "FATAL" and "level_inferred" not in su  # <34> = auth.crit
    assert restart["service"] == "syslogd 1.4.1" and restart["level"] == "INFO"
    assert kernel["level"] == "INFO" and "Out of memory" in kernel["message"]
    assert summary["timestamps_assumed_year"] == 4
    rfc5424, _ = parse(SAMPLES / "syslog5424.log")
    assert (rfc5424[0]["service"], rfc5424[0]["msgid"], rfc5424[0]["level"]) == ("evntslog", "ID47", "INFO")
    assert rfc5424[1]["timestamp"] == "2003-08-24T12:14:15.000Z" and rfc5424[1]["level"] == "ERROR"


def test_json_aliases_levels_and_time_formats() -> None:
    records, summary = parse(SAMPLES / "array.json")
    ecs, critical, bunyan = records
    assert (ecs["timestamp"], ecs["level"], ecs["service"], ecs["host"]) == (
        "2026-03-14T08:00:00.000Z",
        "WARN",
        "billing",
        "b-01",
    )
    assert ecs["level_original"] == "warning"
    assert (critical["timestamp"], critical["level"], critical["level_original"]) == (
        "2026-03-14T09:00:00.123Z",
        "FATAL",
        "CRITICAL",
    )
    assert (critical["message"], critical["service"], critical["host"]) == (
        "payment provider down",
        "billing",
        "b-02",
    )
    assert (bunyan["timestamp"], bunyan["level"]) == ("2026-03-14T08:01:00.000Z", "ERROR")
    assert summary["timestamps_assumed_utc"] == 1


def test_loki_answer_as_a_file() -> None:
    records, _ = parse(SAMPLES / "loki.json")
    assert records[0]["service"] == "api" and records[0]["level"] == "ERROR"
    assert records[1]["message"] == "checkpoint complete" and records[1]["level"] == "INFO"
    assert records[0]["timestamp"] == "2026-03-14T09:00:00.000Z"


def test_user_regex_with_named_groups() -> None:
    pattern = r"(?P<timestamp>\S+ \S+) \| (?P<service>\w+) \| (?P<level>\w) \| (?P<message>.*)"
    records, summary = parse(SAMPLES / "custom.log", "--regex", pattern)
    assert summary["format"] == "regex"
    assert [(r["service"], r["level"]) for r in records] == [("billing", "ERROR"), ("billing", "INFO")]


def test_malformed_lines_unknown_levels_and_bad_bytes_are_counted(tmp_path: Path) -> None:
    data = tmp_path / "mixed.jsonl"
    data.write_bytes(
        b'{"timestamp": "2026-03-14T09:00:00Z", "level": "INFO", "message": "ok"}\n'
        b"{this is not json\n"
        b"\n"
        b'{"timestamp": "2026-03-14T09:00:01", "level": "banana", "message": "caf\xe9 \xff"}\n'
        b"[1, 2]\n"
        b'{"timestamp": "14/Mar/2026:09:00:02 +0000", "level": "Warning", "message": "late"}\n'
    )
    records, summary = parse(data)
    assert len(records) == 3
    assert summary["malformed"] == 2 and summary["blank"] == 1 and summary["decode_errors"] == 1
    assert summary["malformed_examples"][0] == {
        "line": 2,
        "reason": "not valid JSON",
        "text": "{this is not json",
    }
    assert summary["unknown_levels"] == {"banana": 1}
    assert records[1]["level"] == "UNKNOWN" and records[1]["level_original"] == "banana"
    assert "\ufffd" in records[1]["message"]
    assert records[2]["timestamp"] == "2026-03-14T09:00:02.000Z" and records[2]["level"] == "WARN"


def test_empty_input_and_stdin(tmp_path: Path) -> None:
    empty = tmp_path / "empty.log"
    empty.write_text("")
    records, summary = parse(empty)
    assert records == [] and summary["records"] == 0
    done = run_script(
        PARSE, "-", stdin='[{"timestamp": "2026-03-14T09:00:00Z", "level": "error", "message": "x"}]'
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["level"] == "ERROR"


def test_input_errors_exit_1(tmp_path: Path) -> None:
    missing = run_script(PARSE, str(tmp_path / "nope.log"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    prose = tmp_path / "prose.txt"
    prose.write_text("Dear diary,\ntoday nothing happened.\n")
    unknown = run_script(PARSE, str(prose))
    assert unknown.returncode == 1 and "--format or --regex" in unknown.stderr
    garbage = run_script(PARSE, str(prose), "--format", "log4j")
    assert garbage.returncode == 1 and "no line could be read as log4j" in garbage.stderr
    usage = run_script(PARSE, str(prose), "--format", "xml")
    assert usage.returncode == 2


def test_reader_module_streams_batches() -> None:
    parse_logs: Any = load_script("parse_logs")
    reader = parse_logs.LogReader(str(SAMPLES / "envelope.json"), service="x")
    records = list(reader.records())
    assert [r["message"] for r in records] == ["started", "HTTP 500 Internal Server Error on GET /x", "ok"]
    assert reader.stats.as_dict()["format"] == "json"
    assert (
        parse_logs.detect_format(b"<34>Oct 11 22:14:15 host app: hi\n<34>Oct 11 22:14:16 host app: ho\n")
        == "syslog"
    )


@pytest.mark.parametrize("shape", ["array", "envelope"])
def test_large_json_documents_are_streamed(tmp_path: Path, shape: str) -> None:
    """A pretty-printed array (and an envelope whose "logs" come first) of 30,000 records."""
    records = [
        {"timestamp": f"2026-03-14T09:{i // 1000:02d}:00Z", "level": "INFO", "message": f"m{i}"}
        for i in range(30_000)
    ]
    body = json.dumps(records, indent=2)
    path = tmp_path / "big.json"
    path.write_text(body if shape == "array" else '{"logs": ' + body + ', "next_cursor": null}')
    parsed, summary = parse(path)
    assert len(parsed) == 30_000 and parsed[-1]["message"] == "m29999" and summary["format"] == "json"


def test_truncated_json_array_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('[{"level": "INFO", "message": "a"}, {"level": "ERR')
    done = run_script(PARSE, str(path))
    assert done.returncode == 1 and "malformed JSON array after 1 records" in done.stderr


def test_json_lines_longer_than_the_detection_sample(tmp_path: Path) -> None:
    long_line = {"timestamp": "2026-03-14T09:00:00Z", "level": "ERROR", "message": "x" * 70_000}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(long_line) + "\n" + json.dumps({**long_line, "message": "short"}) + "\n")
    records, summary = parse(path)
    assert summary["format"] == "jsonl" and [len(r["message"]) for r in records] == [70_000, 5]
