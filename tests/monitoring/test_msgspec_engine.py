"""A big JSON array is read with msgspec where it is installed (only the five keys the analysis
counts, as strings): any chunk msgspec cannot read exactly as the standard path would goes the
standard path, so the report is the same on every engine, and `parse.engine` says which read what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate

from .conftest import ANALYZER

ANALYZE = ANALYZER / "analyze.py"
_ELEMENT = 9_000  # the hostile element's place: in the third ~1 MB chunk of 16,000 records


def _report(path: Path, engine: str, *args: str, variable: str = "LOGANALYZER_JSON") -> dict[str, Any]:
    """analyze.py's report on `path` with the engine `variable` set to `engine` (its time left out)."""
    done = subprocess.run(
        [sys.executable, str(ANALYZE), str(path), "--quiet", *args],
        capture_output=True,
        text=True,
        env={**os.environ, variable: engine},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    report.pop("elapsed_seconds")
    return report


def _clean(report: dict[str, Any]) -> tuple[str, dict[str, int] | None]:
    """Take the engine's name (and its share of the records) out of a report, and return them."""
    return report["parse"].pop("engine"), report["parse"].pop("engine_records", None)


def _element(record: dict[str, Any], case: str) -> str:
    """One array element (JSON text) made hostile in the way `case` names."""
    error = {**record, "level": "ERROR"}  # only WARN and worse have their message and host read
    text = json.dumps(record)
    body = text[1:-1]
    hostile = {
        # msgspec reads these: the standard path must read the same five strings
        "duplicate level": "{" + body + ', "level": "ERROR"}',
        "duplicate escaped key": "{" + body + ', "\\u006cevel": "FATAL"}',
        "escaped level": json.dumps({**record, "level": "WARN"}).replace('"WARN"', '"\\u0057ARN"'),
        "big integer elsewhere": "{" + body + ', "n": 123456789012345678901234567890}',
        "1e400 elsewhere": "{" + body + ', "n": 1e400}',
        "nested elsewhere": "{" + body + ', "n": ' + "[" * 400 + "]" * 400 + "}",
        "surrogate pair message": json.dumps({**error, "message": "emoji \U0001f600 failed 3 times"}),
        "lower-case level": json.dumps({**record, "level": "warning"}),
        "superscript level": json.dumps({**record, "level": "\u00b2"}),  # a digit int() refuses
        "unusual level": json.dumps({**record, "level": "Warnung"}),  # not one of msgspec's literals
        "long message with lines": json.dumps({**error, "message": "boom 42 " * 60 + "\n  at x.y(z:1)"}),
        # msgspec turns these down: the chunk goes the standard path
        "number level": json.dumps({**record, "level": 40}),
        "boolean level": json.dumps({**record, "level": True}),
        "float level": json.dumps({**record, "level": 1.5}),
        "object level": json.dumps({**record, "level": {"name": "error"}}),
        "null level": json.dumps({**record, "level": None}),
        "big integer level": json.dumps({**record, "level": 123456789012345678901234567890}),
        "number service": json.dumps({**record, "service": 7}),
        "number host": json.dumps({**error, "host": 0}),
        "object message": json.dumps({**error, "message": {"error": "boom"}}),
        "null message": json.dumps({**error, "message": None}),
        "surrogate message": json.dumps({**error, "message": "lone \ud800 surrogate"}),
        "surrogate service": json.dumps({**record, "service": "bad \udc00"}),
        "NaN elsewhere": "{" + body + ', "n": NaN}',
        "NaN level": json.dumps({**record, "level": float("nan")}),
        "no host": json.dumps({k: v for k, v in error.items() if k != "host"}),
        "msg, not message": json.dumps({**{k: v for k, v in error.items() if k != "message"}, "msg": "x 1"}),
        "severity, not level": json.dumps(
            {**{k: v for k, v in record.items() if k != "level"}, "severity": 50}
        ),
        "ECS level": json.dumps(
            {**{k: v for k, v in record.items() if k != "level"}, "log": {"level": "error"}}
        ),
        "number": "42",
        "string": '"just text"',
        "null": "null",
        "page of records": "[" + text + ", " + json.dumps(error) + "]",
        "envelope": json.dumps({"logs": [record, error]}),
        "zone offset": json.dumps({**record, "timestamp": record["timestamp"][:-1] + "+01:00"}),
        "second 61": json.dumps({**record, "timestamp": record["timestamp"][:17] + "61.000Z"}),
        "unreal date": json.dumps({**record, "timestamp": "2026-02-30T09:00:00.000Z"}),
        "epoch timestamp": json.dumps({**record, "timestamp": 1773478800}),
    }
    return hostile[case]


_READ_BY_MSGSPEC = (
    "duplicate level",
    "duplicate escaped key",
    "escaped level",
    "big integer elsewhere",
    "1e400 elsewhere",
    "nested elsewhere",
    "surrogate pair message",
    "lower-case level",
    "long message with lines",
)
_CASES = [
    *_READ_BY_MSGSPEC,
    "superscript level",
    "unusual level",
    "number level",
    "boolean level",
    "float level",
    "object level",
    "null level",
    "big integer level",
    "number service",
    "number host",
    "object message",
    "null message",
    "surrogate message",
    "surrogate service",
    "NaN elsewhere",
    "NaN level",
    "no host",
    "msg, not message",
    "severity, not level",
    "ECS level",
    "number",
    "string",
    "null",
    "page of records",
    "envelope",
    "zone offset",
    "second 61",
    "unreal date",
    "epoch timestamp",
]


def _array(path: Path, records: list[dict[str, Any]], elements: dict[int, str], bom: bool = False) -> Path:
    texts = [json.dumps(r) for r in records]
    for at, text in elements.items():
        texts[at] = text
    data = ("[" + ", ".join(texts) + "]").encode("utf-8", "surrogatepass")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return path


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(generate(16_000, seed=31))


@pytest.mark.parametrize("case", _CASES)
def test_msgspec_reads_a_hostile_array_as_the_standard_path_does(
    tmp_path: Path, records: list[dict[str, Any]], case: str
) -> None:
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    path = _array(tmp_path / "array.json", records, {_ELEMENT: _element(records[_ELEMENT], case)})
    _as_the_standard_path(path, read_by_msgspec=case in _READ_BY_MSGSPEC)


def _as_the_standard_path(path: Path, read_by_msgspec: bool) -> None:
    """msgspec's report on `path` is the standard library's; when msgspec did not read all of it,
    the chunk (or block) with the hostile record went the standard path and the others msgspec."""
    fast = _report(path, "msgspec")
    engine, shares = _clean(fast)
    slow = _report(path, "stdlib")
    assert _clean(slow) == ("stdlib", None)
    assert fast == slow
    assert shares is not None and sum(shares.values()) == fast["parse"]["records"]
    assert engine == "+".join(name for name, n in shares.items() if n)
    if read_by_msgspec:
        assert shares == {"msgspec": fast["parse"]["records"], "orjson": 0}
    else:
        assert 0 < shares["orjson"] < 8_000 and shares["msgspec"] > 8_000


def test_msgspec_gives_the_orjson_and_stdlib_report_on_a_clean_array(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    path = _array(tmp_path / "array.json", records, {}, bom=True)
    fast = _report(path, "msgspec")
    assert _clean(fast) == ("msgspec", {"msgspec": 16_000, "orjson": 0})
    for engine in ("orjson", "stdlib"):
        slow = _report(path, engine)
        assert _clean(slow) == (engine, None)
        assert fast == slow, engine
    assert fast["summary"]["total"] == 16_000 and fast["top_errors"]


def test_every_chunk_can_go_the_standard_path(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    """Timestamps the quick count turns down in the first half (msgspec's rows of those chunks are
    read again the standard way) and bad UTF-8 where msgspec does not look in the second (a key it
    skips: msgspec reads those chunks, orjson would not), in one process and in two: still the
    standard report, and the engines' shares say who read what."""
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    elements = {}
    for at in range(500, 16_000, 1500):
        rec = {**records[at], "level": "ERROR"}
        if at < 8_000:
            elements[at] = json.dumps({**rec, "timestamp": rec["timestamp"][:-1] + "+00:00"})
        else:
            elements[at] = json.dumps(rec)[:-1] + ', "n": "\udcff"}'
    path = _array(tmp_path / "array.json", records, elements)
    raw = path.read_bytes().replace(b'"\\udcff"', b'"\xff\xfe"')  # bytes that are not UTF-8
    path.write_bytes(raw)
    slow = _report(path, "stdlib")
    _clean(slow)
    for args in ((), ("--jobs", "2")):  # two processes: their partials add up what each engine read
        fast = _report(path, "msgspec", *args)
        engine, shares = _clean(fast)
        assert fast == slow, args
        assert engine == "msgspec+orjson" and shares is not None, args
        assert sum(shares.values()) == 16_000, args
        assert shares["orjson"] >= 5_000 and shares["msgspec"] >= 5_000, args


def test_msgspec_is_left_out_when_asked_and_for_small_arrays(
    tmp_path: Path, records: list[dict[str, Any]]
) -> None:
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    path = _array(tmp_path / "array.json", records[:2000], {})
    for engine in ("orjson", ""):  # unset: an array under 16 MB does not repay msgspec's import
        parse = _report(path, engine)["parse"]
        assert parse["engine"] == "orjson" and "engine_records" not in parse, engine
    assert _report(path, "stdlib")["parse"]["engine"] == "stdlib"


@pytest.mark.parametrize(
    "shape", ["new services in every chunk", "70 hosts", "a new host late", "one service"]
)
def test_services_and_hosts_read_as_literals_give_the_standard_report(
    tmp_path: Path, records: list[dict[str, Any]], shape: str
) -> None:
    """After a chunk, its services and hosts are read as msgspec literals (the same string objects
    each time): a chunk with one not seen before is read again with plain strings, and past 64 of
    them, or new ones in chunk after chunk, plain strings stay. The report is the standard one."""
    pytest.importorskip("msgspec")
    pytest.importorskip("orjson")
    changed = []
    for n, rec in enumerate(records):
        if shape == "new services in every chunk":
            rec = {**rec, "service": f"svc-{n // 1000}"}
        elif shape == "70 hosts":
            rec = {**rec, "host": f"host-{n % 70}", "level": "ERROR" if n % 7 == 0 else rec["level"]}
        elif shape == "a new host late":
            rec = {**rec, "host": "late-host", "level": "ERROR"} if n == 15_000 else rec
        else:
            rec = {**rec, "service": "only"}
        changed.append(rec)
    path = _array(tmp_path / "array.json", changed, {})
    fast = _report(path, "msgspec")
    assert _clean(fast) == ("msgspec", {"msgspec": 16_000, "orjson": 0})
    slow = _report(path, "stdlib")
    _clean(slow)
    assert fast == slow
