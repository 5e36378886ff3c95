"""Format inference in analyze.py/parse_logs.py: layouts nobody named, read with the right counts.

Every sample under samples/ was written for these tests, so its counts are known by hand; the
property test generates layouts (timestamp shapes, separators, extra fields, level vocabularies
and field orders) and checks the inferred counts against the generated ones.
"""

from __future__ import annotations

import json
import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ANALYZER, SAMPLES, load_script, run_script

ANALYZE = ANALYZER / "analyze.py"


def analyze(path: Path, *args: str, code: int = 0) -> dict[str, Any]:
    done = run_script(ANALYZE, str(path), "--quiet", *args)
    assert done.returncode == code, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.parametrize(
    ("sample", "shape", "levels", "first", "last"),
    [
        (
            "logcat.log",  # Android logcat: no year, single-letter levels after pid and tid
            "MM-dd HH:mm:ss.SSS (no year)",
            {"ERROR": 1, "WARN": 1, "INFO": 1, "DEBUG": 4},
            "2025-03-17T16:13:38.811Z",
            "2025-03-17T16:13:38.862Z",
        ),
        (
            "hdfs.log",  # HDFS DataNode: yyMMdd HHmmss, a thread id, then the level
            "yyMMdd HHmmss",
            {"ERROR": 1, "WARN": 1, "INFO": 4},
            "2008-11-09T20:36:15.000Z",
            "2008-11-09T20:41:32.000Z",
        ),
        (
            "cbs.log",  # Windows CBS: "2016-09-28 04:30:30, Info   CBS ...", CRLF line ends
            "ISO 8601 (yyyy-MM-dd HH:mm:ss[.fff][zone])",
            {"ERROR": 1, "WARN": 1, "INFO": 2},
            "2016-09-28T04:30:30.000Z",
            "2016-09-28T04:30:31.000Z",
        ),
        (
            "db2.log",  # BlueGene/L RAS: yyyy-MM-dd-HH.mm.ss.ffffff, the level in field 5
            "yyyy-MM-dd-HH.mm.ss.ffffff",
            {"FATAL": 2, "WARN": 1, "INFO": 2},
            "2005-06-03T15:42:50.675Z",
            "2005-06-03T16:10:00.555Z",
        ),
        (
            "dotted.log",  # yyyy.MM.dd, lower-case levels after a [thread]
            "yyyy.MM.dd HH:mm:ss",
            {"ERROR": 1, "WARN": 1, "INFO": 2},
            "2026-03-14T09:00:01.120Z",
            "2026-03-14T09:01:05.000Z",
        ),
        (
            "epoch.log",  # epoch seconds
            "epoch seconds or milliseconds",
            {"ERROR": 1, "WARN": 1, "INFO": 2},
            "2026-03-14T09:00:00.000Z",
            "2026-03-14T09:01:01.000Z",
        ),
        (
            "custom.log",  # pipes, the level as a letter in the third field
            "ISO 8601 (yyyy-MM-dd HH:mm:ss[.fff][zone])",
            {"ERROR": 1, "INFO": 1},
            "2026-03-14T09:00:00.000Z",
            "2026-03-14T09:00:05.000Z",
        ),
    ],
)
def test_layouts_of_common_systems_are_inferred(
    sample: str, shape: str, levels: dict[str, int], first: str, last: str
) -> None:
    report = analyze(SAMPLES / sample, "--year", "2025")
    parse = report["parse"]
    assert report["format"] == parse["format"] == "inferred"
    assert parse["layout"]["timestamp"] == shape and parse["layout"]["regex"].startswith("^")
    assert report["summary"]["levels"] == levels
    assert report["summary"]["total"] == sum(levels.values()) == parse["records"]
    assert (report["summary"]["first_timestamp"], report["summary"]["last_timestamp"]) == (first, last)
    assert parse["malformed"] == 0 and parse["levels_inferred"] == 0
    assert any(note.startswith("the line layout was inferred: timestamp") for note in parse["notes"])
    assert parse["confidence"] == "medium" and "the line layout was inferred" in parse["confidence_reasons"]


def test_the_inferred_regex_can_be_passed_back(tmp_path: Path) -> None:
    """What the report shows is what it did: --regex with the inferred pattern gives the same counts."""
    for sample in ("logcat.log", "hdfs.log", "cbs.log", "db2.log", "epoch.log"):
        inferred = analyze(SAMPLES / sample, "--year", "2025")
        again = analyze(SAMPLES / sample, "--year", "2025", "--regex", inferred["parse"]["layout"]["regex"])
        assert again["format"] == "regex"
        for key in ("summary", "timeline", "top_errors", "errors_by_service"):
            assert again[key] == inferred[key], (sample, key)


def test_format_and_regex_still_override(tmp_path: Path) -> None:
    forced = analyze(SAMPLES / "hdfs.log", "--format", "log4j", code=1)  # not log4j: nothing read
    assert forced["summary"]["total"] == 0 and forced["parse"]["malformed"] == 6
    custom = analyze(SAMPLES / "hdfs.log", "--regex", r"(?P<message>.*)")
    assert custom["format"] == "regex" and custom["summary"]["total"] == 6
    assert custom["parse"]["levels_inferred"] == 6


def test_mixed_file_with_bom_crlf_stack_traces_and_odd_lines() -> None:
    report = analyze(SAMPLES / "mixed_pipes.log")
    parse = report["parse"]
    assert report["format"] == "inferred"
    assert report["summary"]["levels"] == {
        "ERROR": 2,
        "WARN": 1,
        "INFO": 2,
    }  # level words in messages ignored
    assert parse["continuation_lines"] == 3 and parse["blank"] == 1
    assert parse["malformed"] == 2
    assert [e["text"] for e in parse["malformed_examples"]] == [
        "this line is not a log line",
        "--- banner ---",
    ]
    assert [e["line"] for e in parse["malformed_examples"]] == [6, 10]
    assert "IllegalStateException" in report["top_errors"][0]["example"] or any(
        "IllegalStateException" in e["example"] for e in report["top_errors"]
    )


def test_logs_without_levels_get_an_estimate_that_says_so() -> None:
    report = analyze(SAMPLES / "auth_nolevel.log")
    parse, health = report["parse"], report["health"]
    assert parse["layout"]["level_field"] is None and parse["levels_inferred"] == 6
    assert report["summary"]["total"] == 6 and report["summary"]["errors"] == 3  # failed x2, failure
    assert [p["total"] for p in report["timeline"]["points"]] == [5, 1]
    assert report["top_errors"][0]["signature"].startswith("sshd[<num>]: Failed password")
    assert health["basis"] == "failure words" and health["rule"].startswith("estimated from failure words")
    assert parse["confidence"] == "low"
    syslog = analyze(SAMPLES / "syslog3164.log", "--year", "2025")  # sshd/kernel syslog lines: no levels
    assert syslog["parse"]["levels_inferred"] == 3 and syslog["health"]["basis"] == "failure words"


def test_prose_is_still_refused_with_a_way_out(tmp_path: Path) -> None:
    prose = tmp_path / "prose.txt"
    prose.write_text("Dear diary,\ntoday nothing happened.\nTomorrow maybe.\n")
    done = run_script(ANALYZE, str(prose))
    assert done.returncode == 1 and "--format or --regex" in done.stderr and "Traceback" not in done.stderr


# --- generated layouts -------------------------------------------------------------------------

SHAPES = {
    "iso": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
    "iso_space": lambda t: t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}",
    "yymmdd": lambda t: t.strftime("%y%m%d %H%M%S"),
    "logcat": lambda t: t.strftime("%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}",
    "dotted": lambda t: t.strftime("%Y.%m.%d %H:%M:%S"),
    "db2": lambda t: t.strftime("%Y-%m-%d-%H.%M.%S.%f"),
    "epoch": lambda t: str(int(t.timestamp())),
    "epoch_ms": lambda t: str(int(t.timestamp() * 1000)),
    "syslog": lambda t: t.strftime("%b %d %H:%M:%S"),
}
WORDS = {
    "DEBUG": ["DEBUG", "debug", "Debug", "TRACE"],
    "INFO": ["INFO", "info", "Info", "NOTICE"],
    "WARN": ["WARN", "warning", "Warning"],
    "ERROR": ["ERROR", "error", "ERR", "SEVERE"],
    "FATAL": ["FATAL", "CRITICAL", "crit", "EMERG"],
}
LETTERS = {"DEBUG": "D", "INFO": "I", "WARN": "W", "ERROR": "E", "FATAL": "F"}
MESSAGE_WORDS = ["request", "ERROR", "done", "warn", "id=42", "user", "INFO:", "took", "12ms", "[x]"]


@st.composite
def generated_logs(draw: Any) -> tuple[list[str], dict[str, int], str]:
    """(lines, expected canonical level counts, shape name) for one random layout.

    The layout is drawn; its lines come from a seeded Random, so one example costs few draws."""
    shape = draw(st.sampled_from(sorted(SHAPES)))
    letters = draw(st.booleans())
    sep = draw(st.sampled_from([" ", "  ", " | ", "\t", ", "]))
    extras = draw(st.integers(0, 2))  # pid / thread fields next to the level
    order = draw(st.sampled_from(["ts-extras-level", "ts-level-extras", "level-ts"]))
    count = draw(st.integers(20, 300))
    rng = random.Random(draw(st.integers(0, 2**32)))
    t = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
    lines: list[str] = []
    expected: dict[str, int] = {}
    for i in range(count):
        t += timedelta(milliseconds=rng.randint(0, 90_000))
        level = rng.choice(sorted(LETTERS))
        expected[level] = expected.get(level, 0) + 1
        word = LETTERS[level] if letters else rng.choice(WORDS[level])
        extra = [f"{1000 + i % 7}", f"[worker-{i % 3}]"][:extras]
        message = " ".join(rng.choices(MESSAGE_WORDS, k=rng.randint(1, 6)))
        ts = SHAPES[shape](t)
        fields = {
            "ts-extras-level": [ts, *extra, word],
            "ts-level-extras": [ts, word, *extra],
            "level-ts": [word, ts, *extra],
        }[order]
        lines.append(sep.join([*fields, message]))
    return lines, expected, shape


@settings(
    max_examples=int(os.environ.get("INFER_EXAMPLES", "40")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(generated_logs())
def test_inferred_counts_equal_the_generated_ones(case: tuple[list[str], dict[str, int], str]) -> None:
    lines, expected, _shape = case
    parse_logs: Any = load_script("parse_logs")
    analyze_mod: Any = load_script("analyze")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.log"
        path.write_text("\n".join(lines) + "\n")
        report = analyze_mod.analyze(parse_logs.LogReader(str(path), quiet=True, year=2026))
    assert report["summary"]["levels"] == {k: v for k, v in expected.items() if v}
    assert report["summary"]["total"] == len(lines) and report["parse"]["malformed"] == 0
    assert report["parse"]["levels_inferred"] == 0
    assert sum(p["total"] for p in report["timeline"]["points"]) == len(lines)


# Layouts like four of loghub's systems that used to be refused or misread; written here by hand, so
# every count below was counted by hand (they are not the loghub files).
CLUSTER_EPOCH = """\
134681 node-246 unix.hw state_change.unavailable 1077804742 1 Component State Change: Component "alt0" is unavailable
134682 node-109 unix.hw state_change.unavailable 1077804743 1 Component State Change: Component "alt0" is unavailable
2561 node-148 action start 1077804800 1 clusterAddMember (command 1902)
460211 node-225 boot_cmd new 1077804861 1 Targeting domains:node-D1 and nodes:node-[40-63] child of command 2611
2000016 gige7 gige.link link_up 1077804900 1 Link error on broadcast tree Interconnect-0T00:00:2:0 (cnt 2)
2000017 gige7 gige.link link_up 1077804901 1 Link failed on port 3
"""
PIPES_COMPACT = """\
20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579
20171223-22:15:29:615|Step_LSC|30002312|onExtend:1514038530000 14 0 4
20171223-22:15:29:633|Step_StandReportReceiver|30002312|onReceive action: android.intent.action.SCREEN_ON
20171223-22:15:30:001|Step_SPUtils|30002312|getTodayTotalDetailSteps failed: no data
20171223-22:16:01:120|Step_LSC|30002312|flush sensor data
"""
BRACKETED_NO_YEAR = """\
[10.30 16:49:06] chrome.exe - proxy.example.org:5070 open through proxy proxy.example.org:5070 HTTPS
[10.30 16:49:06] chrome.exe - proxy.example.org:5070 open through proxy proxy.example.org:5070 HTTPS
[10.30 16:49:07] chrome.exe - proxy.example.org:5070 close, 0 bytes sent, 0 bytes received, lifetime 00:01
[10.30 16:49:08] chrome.exe - proxy.example.org:5070 error : Could not connect through proxy, status code 403
[10.30 16:50:09] svchost.exe - example.org:443 close, 403 bytes sent, 0 bytes received, lifetime <1 sec
"""
SYSLOG_PADDED = """\
Jun  9 06:06:20 combo syslogd 1.4.1: restart.
Jun  9 06:06:20 combo kernel: klogd 1.4.1, log source = /proc/kmsg started.
Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh
Jun 14 15:16:02 combo sshd(pam_unix)[19937]: check pass; user unknown
Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh
Jun 15 04:06:18 combo su(pam_unix)[21416]: session opened for user cyrus by (uid=0)
Jun 15 04:06:19 combo su(pam_unix)[21416]: session closed for user cyrus
Jul  1 00:00:01 combo logrotate: ALERT exited abnormally with [1]
"""


@pytest.mark.parametrize(
    ("text", "total", "errors", "first", "last"),
    [
        # an epoch-seconds stamp after four fields (id, node, component, event); "error"/"failed" x2
        (CLUSTER_EPOCH, 6, 2, "2004-02-26T14:12:22.000Z", "2004-02-26T14:15:01.000Z"),
        # a compact date with milliseconds after a colon, fields split by pipes; "failed" x1
        (PIPES_COMPACT, 5, 1, "2017-12-23T22:15:29.606Z", "2017-12-23T22:16:01.120Z"),
        # a bracketed "MM.dd HH:mm:ss" with no year (read as --year), and not a JSON array; "error" x1
        (BRACKETED_NO_YEAR, 5, 1, "2025-10-30T16:49:06.000Z", "2025-10-30T16:50:09.000Z"),
    ],
)
def test_layouts_without_levels_are_all_read(
    tmp_path: Path, text: str, total: int, errors: int, first: str, last: str
) -> None:
    path = tmp_path / "sample.log"
    path.write_text(text)
    report = analyze(path, "--year", "2025")
    assert report["format"] == "inferred"
    assert report["summary"]["total"] == total == len(text.splitlines())
    assert report["parse"]["malformed"] == 0 and report["parse"]["levels_inferred"] == total
    assert report["summary"]["errors"] == errors
    assert (report["summary"]["first_timestamp"], report["summary"]["last_timestamp"]) == (first, last)
    assert report["health"]["basis"] == "failure words"


def test_syslog_with_space_padded_days_loses_no_line(tmp_path: Path) -> None:
    path = tmp_path / "linux.log"
    path.write_text(SYSLOG_PADDED)
    report = analyze(path, "--year", "2025")
    assert report["summary"]["total"] == 8 and report["parse"]["malformed"] == 0
    assert report["summary"]["first_timestamp"] == "2025-06-09T06:06:20.000Z"
    assert report["summary"]["last_timestamp"] == "2025-07-01T00:00:01.000Z"


def test_a_line_starting_with_a_bracket_is_json_only_when_it_parses(tmp_path: Path) -> None:
    parse_logs: Any = load_script("parse_logs")
    assert parse_logs.detect(b'[{"level": "ERROR", "message": "x"}]')[0] == "json"
    assert parse_logs.detect(b"[ ]")[0] == "json"
    assert parse_logs.detect(BRACKETED_NO_YEAR.encode())[0] == "inferred"
    cut = b'[{"level": "ERROR", "message": "' + b"x" * (1 << 16)
    assert parse_logs.detect(cut[: 1 << 16])[0] == "json"  # a first record longer than the sample
