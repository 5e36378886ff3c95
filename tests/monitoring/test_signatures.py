"""Signatures and first/last times are worked out the quick way where they can be (once per shape of
message; a key at a time for records in time order): each must equal the plain way, record by record."""

from __future__ import annotations

import random
from typing import Any

from conjure_nb.testing._demo_generator import generate

from .conftest import load_script

diagnose: Any = load_script("diagnose")
analysis: Any = load_script("analysis")

# letters and digits no mask tells apart (a message's shape folds each group into one)
_KINDS = ["0123456789", "abcdef", "ABCDEF", "ghijklmnopqrstuvwyz", "GIJKLMNOQRSUVWXY"]
_PARTS = [
    *"0123456789abcdefxyzABCDEFXHTPZgG-:/._<>,;'\")~%+ \n",
    "\u0663",  # an Arabic-Indic digit: \d matches it, [0-9] does not
    "é",
    "\ud800",
    "HTTP ",
    "HTTP 503",
    "://",
    "0x",
    "%s",
    "<num>",
    "2026-03-14T09:00:01.5Z",
    "10.0.0.1:80",
    "/a/b",
    "deadbeef1",
    "123e4567-e89b-12d3-a456-426614174000",
    "http://x.y/<uuid>",
]


def _variant(message: str, rnd: random.Random) -> str:
    """The message with each ASCII letter or digit swapped for another of its kind: the same shape."""
    out = []
    for ch in message:
        kind = next((k for k in _KINDS if ch in k), None)
        out.append(rnd.choice(kind) if kind else ch)
    return "".join(out)


def _plain(message: str) -> str:
    return str(diagnose.mask(message.partition("\n")[0][:300]))


def test_a_signature_equals_the_masks_applied_one_after_another() -> None:
    rnd = random.Random(5)
    signature = diagnose.Signatures()
    for _ in range(20_000):
        message = "".join(rnd.choice(_PARTS) for _ in range(rnd.randint(0, 30)))
        for text in (message, _variant(message, rnd), _variant(message, rnd) + "x" * 300):
            assert signature(text) == _plain(text), repr(text)
    assert sum(1 for t in signature._shapes.values() if t) > 1000  # the by-shape path did the work


def test_messages_of_one_shape_keep_their_own_text() -> None:
    signature = diagnose.Signatures()
    pairs = [
        ("SKU9496 out of stock at 10.0.0.1:8080", "SKU1234 out of stock at 10.9.8.7:9090"),
        ("HTTP 503 from /api/v1/orders", "HTTP 502 from /api/v2/orders"),
        ("user abc failed 3 times", "user xyz failed 7 times"),
        ("100% of quota for client a0a0aa00", "250% of quota for client 0b0b0bbb"),
    ]
    for first, second in pairs:
        assert signature(first) == _plain(first)
        assert signature(second) == _plain(second)
        assert signature(second + "!") == _plain(second + "!")
    assert signature("SKU1234 out of stock at 10.9.8.7:9090") == "SKU1234 out of stock at <ip>"
    assert signature("HTTP 502 from /api/v2/orders") == "HTTP 502 from <path>"
    assert signature("user xyz failed 7 times") == "user xyz failed <num> times"


def _seen(batches: list[list[dict[str, Any]]]) -> tuple[Any, ...]:
    acc = analysis.Analysis()
    for batch in batches:
        assert acc.add_columns(batch)
    return acc.first_seen, acc.last_seen, acc.examples, acc.sig_counts, acc.sig_where


def test_records_in_time_order_give_the_first_and_last_times_and_examples_of_any_order() -> None:
    records = list(generate(6000, seed=23))
    stamp = records[3000]["timestamp"]
    for n, rec in enumerate(records[3000:3010]):  # ten errors at one time: the smallest message wins
        rec.update(timestamp=stamp, level="ERROR", message=f"Disk {9 - n} full on /dev/sda")
    for rec in records[4000:4100]:  # a hundred at one second: too many to look through together
        rec.update(timestamp=records[4000]["timestamp"], level="WARN")
    in_order = [records[i : i + 1000] for i in range(0, 6000, 1000)]
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    by_record = [[rec] for rec in shuffled]
    assert _seen(in_order) == _seen([shuffled]) == _seen(by_record)
    first, _, examples, _, _ = _seen(in_order)
    key = ("ERROR", "Disk <num> full on <path>")
    assert first[key] == stamp and examples[key] == "Disk 0 full on /dev/sda"


def test_times_in_order_are_counted_by_minute_as_one_by_one() -> None:
    from collections import Counter

    rnd = random.Random(9)
    shapes = [
        "2026-03-14T09:0{}:1{}.5Z",
        "2026-03-14T09:0{}:{}Z",
        "2026-03-14T09:0{}",
        "2026-03-1{}",
        "{}",
        "",
    ]
    for _ in range(300):
        stamps = sorted(rnd.choice(shapes).format(rnd.randint(0, 3), rnd.randint(0, 9)) for _ in range(50))
        for chosen in (stamps, stamps[::-1], [*stamps, "2026-03-14T09:0\U0010ffff"]):
            counts, low, high = analysis._by_minute(chosen)
            assert (dict(counts), low, high) == (
                dict(Counter(s[:16] for s in chosen)),
                min(chosen),
                max(chosen),
            )


def test_seconds_past_59_are_found_behind_the_quick_check() -> None:
    """`_maybe_bad_second` may only say no where the regex finds nothing."""
    rnd = random.Random(4)
    parts = ["2026-03-14T09:", "0", "5", "6", "9", ":", "T", "Z", "\u0667", "12", "59:", "60", "x"]
    for _ in range(20_000):
        text = "".join(rnd.choice(parts) for _ in range(rnd.randint(0, 12)))
        if analysis._BAD_SECOND.search(text):
            assert analysis._maybe_bad_second(text), text
    assert not analysis._maybe_bad_second("2026-03-14T09:59:59.999Z2026-03-14T10:00:00Z")
    assert analysis._maybe_bad_second("2026-03-14T09:00:61Z")
    odd = "2026-03-14T09:00:0\u0667Z"  # not ASCII, and no ':' before a 6-9: the regex finds nothing
    assert not analysis._maybe_bad_second(odd) and not analysis._BAD_SECOND.search(odd)
    assert analysis._maybe_bad_second("\u0667T09:00:7\u0667")  # non-ASCII around a ':7'


def _stream(data: bytes, loads: Any, closed: bool = True) -> list[Any]:
    import io

    jsondoc: Any = load_script("jsondoc")
    handle = io.BytesIO(data)
    return [value for batch in jsondoc.stream_array(handle, loads, closed=closed) for value in batch]


def test_the_end_of_an_array_parses_in_one_call_as_element_by_element() -> None:
    """The last megabyte (all of a small array) goes to orjson in one call when it parses as the
    rest of the array; anything else element by element, as before: the same values either way."""
    import json

    orjson = __import__("pytest").importorskip("orjson")
    jsondoc: Any = load_script("jsondoc")
    records = [json.dumps(r) for r in generate(50, seed=2)]
    rest = ", ".join(records)
    cases = [
        (f"{rest}]", True),
        (f"{rest}]\n\n", True),
        (f'{rest}], "next_cursor": "abc"}}', True),  # an envelope's array: its end is not the file's
        (f"{rest}] trailing words", True),
        (f'{rest}, 1, [2, {{}}], null, "x"]', True),  # not all objects
        (f"{rest},, {records[0]}]", True),  # a doubled comma: only the element reader takes it
        (f"{rest} {records[0]}]", True),  # a missing comma
        (f'{rest}, {{"big": 123456789012345678901234567890}}]', True),  # too big for orjson
        (f'{rest}, {{"nan": NaN}}]', True),
        (rest, False),  # a window cut from the middle of an array: no closing bracket
    ]
    for text, closed in cases:
        data = text.encode()
        assert _stream(data, orjson.loads, closed) == _stream(data, json.loads, closed), text[-60:]
    for broken in (rest, f'{rest}, {{"a": }}]'):  # no closing bracket, a broken record
        for loads in (orjson.loads, json.loads):
            with __import__("pytest").raises(jsondoc.ParseError):
                _stream(broken.encode(), loads)


def test_a_batch_of_messages_gets_the_signatures_of_one_at_a_time() -> None:
    """`many` works out a batch's lines together (joined by newlines): messages holding newlines,
    over 300 characters, with UUIDs or repeated, each still gets the plain way's signature."""
    rnd = random.Random(17)
    signature = diagnose.Signatures()
    for _ in range(400):
        batch = []
        for _ in range(rnd.randint(1, 60)):
            message = "".join(rnd.choice(_PARTS) for _ in range(rnd.randint(0, 30)))
            batch.append(rnd.choice([message, _variant(message, rnd), message + "y" * 290, message]))
        if rnd.random() < 0.5:  # no newline at all: the batch's quick way to first lines
            batch = [m.replace("\n", " ") for m in batch]
        assert signature.many(batch) == [_plain(m) for m in batch], batch


def test_uuids_are_found_from_their_dash_as_the_regex_finds_them() -> None:
    rnd = random.Random(29)
    uuid = "123e4567-e89b-12d3-a456-426614174000"
    cases = [
        uuid,
        uuid + uuid,
        uuid + "-e89b-12d3-a456-426614174000",  # a second UUID's tail after the first one
        "0123456789" + uuid[8:],  # more digits before the dash than a UUID holds
        "x" + uuid[1:],
        "-" + uuid,
        uuid[:-1],
        "id=" + uuid + ", again " + uuid.upper(),
    ]
    pieces = ["0", "a", "F", "g", "-", "12345678", "-abcd", "-0123456789ab", uuid, uuid[4:], " "]
    cases += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))) for _ in range(5000)]
    for text in cases:
        assert diagnose._uuids(text) == diagnose._UUID.sub("<uuid>", text), text


def test_a_chunk_is_cut_at_its_last_boundary_as_a_scan_from_the_start_finds_it() -> None:
    """`_fast` looks for the last `},{` from the last `}` backwards: the same cut as the last match
    of a scan over the chunk's last 64 KB, with boundaries inside strings and spaces around commas."""
    import re

    jsondoc: Any = load_script("jsondoc")
    rnd = random.Random(41)
    pieces = ["}", "{", ",", " ", "\n", '"}, {"', "x", '"a": 1', "},{", "} ,\t{"]
    cuts = 0
    for _ in range(3000):
        buf = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 40))).encode()
        if rnd.random() < 0.2:
            buf = b'{"a": 1}, {"b": 2}' + b"x" * (1 << 16) + buf  # one before the last 64 KB: not seen
        last = None
        for last in re.finditer(rb"\}\s*,\s*\{", buf[max(0, len(buf) - (1 << 16)) :]):  # noqa: B007
            pass
        read: list[bytes] = []
        got = jsondoc._fast(buf, lambda data, read=read: read.append(data) or [1])
        if last is None:
            assert got is None and not read, buf
            continue
        start = max(0, len(buf) - (1 << 16)) + last.start()
        assert read == [b"[" + buf[: start + 1] + b"]"], buf
        assert got == ([1], start + last.end() - last.start() - 1), buf
        cuts += 1
    assert cuts > 1000


def test_minutes_and_bad_seconds_are_read_as_the_plain_way_reads_them() -> None:
    """The timeline reads a minute's numbers with int() (not time.strptime), and a batch's times
    are searched for seconds 60-99 only where a `:` comes before a digit 6-9."""
    import calendar
    import re
    import time

    rnd = random.Random(43)
    for _ in range(5000):
        moment = rnd.randint(0, 4_102_444_800) // 60 * 60  # 1970 to 2100
        minute = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(moment))
        assert analysis._epoch(minute) == calendar.timegm(time.strptime(minute, "%Y-%m-%dT%H:%M"))
    pieces = ["2026-03-14T09:", "00", "59", "60", "61", "7", "9", ":", "Z", "T", ".5", "\u0666", "\ud800"]
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12)))
        assert analysis._maybe_bad_second(text) == bool(re.search(":[6789]", text)), text
        if not analysis._maybe_bad_second(text):
            assert not analysis._BAD_SECOND.search(text), text
