"""JSON that holds logs: arrays streamed a chunk at a time, envelopes, Loki answers, and records.

Standard library only (orjson when importable); used by parse_logs.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any, BinaryIO, Literal

from .logformats import Record, TextFormats, infer_level
from .readstats import ParseStats, json_engine
from .timestamps import BadTimestamp

MAX_DOCUMENT = 512 << 20
MAX_RECORD = 32 << 20
CHUNK = 1 << 20
ARRAY_KEYS = ("logs", "records", "entries", "items", "events", "data", "result", "hits")
# An object whose first array-valued key holds the records, after only scalar keys: streamable.
ENVELOPE = re.compile(
    rb'\s*\{\s*(?:"[^"\\]*"\s*:\s*(?:"[^"\\]*"|-?[\d.eE+]+|true|false|null)\s*,\s*)*"('
    + "|".join(ARRAY_KEYS).encode()
    + rb')"\s*:\s*\['
)
_BOUNDARY = re.compile(rb"\}\s*,\s*\{")
# `},{"key":` can only be a boundary between two objects: inside a string every `"` is escaped,
# so the unescaped quote after `{` opens a key (the one after `},{` closing a string is followed
# by `,` or `}`, never by `key":`).
_ELEMENT = re.compile(rb'\}\s*,\s*(\{\s*"[^"\\]*"\s*:)')
_SKIP = re.compile(r"[\s,]*")
_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_TS_KEYS = ("timestamp", "@timestamp", "time", "ts", "datetime", "date", "eventTime", "t")
_LEVEL_KEYS = ("level", "severity", "log.level", "levelname", "lvl", "loglevel", "log_level", "@level")
_MSG_KEYS = ("message", "msg", "@message", "log", "text", "event")
_SERVICE_KEYS = ("service", "service.name", "service_name", "app", "application", "component")
_HOST_KEYS = ("host", "host.name", "hostname", "host_name", "node", "instance", "pod")
_RECORD_KEYS = frozenset((*_TS_KEYS, *_LEVEL_KEYS, *_MSG_KEYS))
Loads = Callable[[bytes], Any]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def writable(text: str) -> tuple[str, int]:
    """`text` that UTF-8 can always write, and how many characters had to be replaced.

    JSON may spell a lone surrogate (`"\\ud800"`) that no UTF-8 file can hold; one such record in a
    log must not stop the analysis from being written, so each becomes U+FFFD and is counted.
    """
    return _LONE_SURROGATE.subn("\ufffd", text)


class ParseError(Exception):
    """The input cannot be read at all (as opposed to a malformed line, which is only counted)."""


def json_codec() -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
    """(loads, dumps): orjson's when `json_engine()` says so, else the standard library's.

    orjson before 3.9.15 overflows the C stack on deeply nested input (CVE-2024-27454): one line
    nested 100,000 levels deep would kill the process, so older versions are not used.
    """
    if json_engine() == "orjson":
        import orjson

        return orjson.loads, orjson.dumps

    def dumps(obj: Any) -> bytes:
        return writable(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))[0].encode()

    return json.loads, dumps


class Rows(list):  # type: ignore[type-arg]
    """A chunk of a JSON array read by msgspec (`rows_loads`): a row per element holding only its
    timestamp, level, service, host and message, all strings (`ROW_KEYS`, read as attributes).

    Only `Analysis.add_columns` takes rows; when it turns them down, `standard()` reads the same
    bytes the way the standard path would have, into whole records."""

    __slots__ = ("data", "loads")
    data: bytes
    loads: Loads

    def taken(self, stats: Any) -> None:
        """Count the rows in `stats` once the analysis took them (their lines are counted as they
        stream past)."""
        stats.engine_records["msgspec"] += len(self)

    def standard(self) -> list[Any]:
        """The chunk's elements as the standard path reads them: one `loads` call (orjson), or
        element by element when that fails (as `stream_array` does)."""
        try:
            values = self.loads(self.data)
        except (ValueError, RecursionError):
            values = None
        return values if isinstance(values, list) else _slow(self.data[1:], True, 0)[0]


ROW_KEYS = ("timestamp", "level", "service", "host", "message")
# The level values a row holds (Literal: msgspec hands back these very strings, whose hashes are
# known, instead of a new string each); a chunk with any other level goes the standard path.
_ROW_LEVELS = tuple(
    spelling(name)
    for name in (
        *("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "SEVERE", "FATAL"),
        *("CRITICAL", "CRIT", "ALERT", "EMERG", "PANIC", "VERBOSE", "D", "I", "W", "E", "F", "V"),
    )
    for spelling in (str.upper, str.lower, str.title)
    if spelling is str.upper or len(name) > 1
)


def rows_loads(standard: Loads) -> Loads:
    """A `loads` for `stream_array` that reads a chunk with msgspec into `Rows` when every element
    is an object whose ROW_KEYS all hold strings (the level one of `_ROW_LEVELS`), skipping its
    other keys in C (no dict, no string for them), and otherwise returns `standard(data)` (the
    standard path, unchanged).

    Wherever msgspec reads a chunk, the standard path reads the same strings for those keys: both
    are strict JSON readers that keep a key's last value, and msgspec refuses (so the chunk goes
    the standard way) lone surrogate escapes, NaN, bad UTF-8 inside the kept strings, and nesting
    deeper than Python's recursion limit, which orjson (1,024 levels) always reads. It reads what
    orjson refuses only in the keys it skips (bad UTF-8, 1e400): the standard path then reads the
    chunk element by element with the same values for the kept keys. A chunk msgspec turns down
    that holds a run of 19 digits is read element by element (ValueError here), as `_rest` does,
    so an integer past 64 bits stays exact. tests/monitoring/test_msgspec_engine.py compares the
    reports on such inputs."""
    read = rows_reader()

    def loads(data: bytes) -> Any:
        found = read(data)
        if found is None:
            if digit_run(data):  # orjson would read an integer past 64 bits as a float: element by
                raise ValueError("a run of 19 digits") from None  # element, exact
            return standard(data)
        found.data, found.loads = data, standard
        return found

    return loads


def rows_reader() -> Callable[[bytes], Rows | None]:
    """msgspec's reading of a JSON array into `Rows` (see `rows_loads`), or None where it turns the
    array down. Services and hosts are learnt from the first chunks (see `learn`)."""
    import msgspec

    def decoder(services: tuple[str, ...], hosts: tuple[str, ...]) -> Callable[[bytes], Any]:
        kinds = {"level": _ROW_LEVELS, "service": services, "host": hosts}
        fields = [(key, Literal[kinds[key]] if kinds.get(key) else str) for key in ROW_KEYS]
        row = msgspec.defstruct("Row", fields, gc=False)  # no cycles: its fields are strings
        return msgspec.json.Decoder(list[row]).decode  # type: ignore[valid-type]

    plain = decoder((), ())
    known: tuple[dict[str, None], dict[str, None]] = ({}, {})  # the services and hosts seen so far
    state: dict[str, Any] = {"decode": plain, "learn": 4}  # the next chunk's decoder; rebuilds left

    def read(data: bytes) -> Rows | None:
        for decode in dict.fromkeys((state["decode"], plain)):  # the one with literals first
            try:
                found = Rows(decode(data))
            except (ValueError, RecursionError):  # msgspec.DecodeError and ValidationError are ValueErrors
                continue
            if decode is plain and state["learn"]:
                learn(found)
            return found
        return None

    def learn(rows: Rows) -> None:
        """Note a chunk's services and hosts. While they are few (and new ones came in no more than
        4 chunks), the next chunks are read with them as literals: msgspec then hands back these
        very strings, whose hashes are known, instead of a new string per record (a chunk with
        another one is read again with plain strings, and its new ones noted)."""
        before = tuple(map(len, known))
        for seen, key in zip(known, ("service", "host")):
            seen.update(dict.fromkeys(map(attrgetter(key), rows)))
        if tuple(map(len, known)) == before:
            return
        state["learn"] -= 1
        if state["learn"] and max(map(len, known)) <= 64:
            state["decode"] = decoder(tuple(known[0]), tuple(known[1]))
        else:  # too many, or new ones too often: plain strings from now on
            state["decode"], state["learn"] = plain, 0

    return read


def preview(value: Any) -> str:
    """A short JSON text of a value for a malformed-record example; never raises."""
    try:
        return json.dumps(value, ensure_ascii=False)[:200]
    except (TypeError, ValueError, RecursionError):
        return repr(type(value))


def stream_array(handle: BinaryIO, loads: Loads, closed: bool = True) -> Iterator[list[Any]]:
    """The elements of the JSON array `handle` is positioned in (just after its `[`), in batches.

    Runs of whole objects are cut at `},{` boundaries and parsed with one `loads` call each; a
    cut that falls inside a string, or elements that are not objects, go through the standard
    decoder one element at a time. Memory holds about one chunk plus one record. With `closed`
    False the input is a run of elements cut from the middle of an array (see `array_windows`):
    it ends without the `]`.
    """
    buf, eof, count = b"", False, 0
    while True:
        if not eof and len(buf) < CHUNK:
            more = handle.read(max(CHUNK, len(buf)))
            eof, buf = not more, buf + more
            continue
        if eof:  # the rest of the array, when it parses in one call (else element by element)
            rest = _rest(buf, loads, closed)
            if rest is not None:
                if rest:
                    yield rest
                return
        values = _fast(buf, loads) if not eof else None
        if values is not None:
            batch, used = values
        else:
            batch, used, finished = _slow(buf, eof, count, closed)
            if finished:
                if batch:
                    yield batch
                return
            if not batch and not eof and len(buf) > MAX_RECORD:
                raise ParseError(f"record {count + 1} of the JSON array is larger than {MAX_RECORD >> 20} MB")
            if not batch:
                more = handle.read(max(CHUNK, len(buf)))
                eof, buf = not more, buf + more
                continue
        count += len(batch)
        buf = buf[used:]
        yield batch


def _fast(buf: bytes, loads: Loads) -> tuple[list[Any], int] | None:
    """(the whole objects before the last `},{` in buf, bytes used) or None when that cannot be had."""
    tail = max(0, len(buf) - (1 << 16))
    last, end = None, len(buf)
    while last is None:  # the last boundary: from the last `}` back (no two boundaries overlap)
        end = buf.rfind(b"}", tail, end)
        if end < 0:
            return None
        last = _BOUNDARY.match(buf, end)
    try:
        values = loads(b"".join((b"[", memoryview(buf)[: last.start() + 1], b"]")))  # one copy, not three
    except (ValueError, RecursionError):
        return None
    return (values, last.end() - 1) if isinstance(values, list) else None


def digit_run(data: bytes) -> bool:
    """Whether `data` holds a run of 19 digits: maybe an integer past 64 bits, which orjson reads as
    a float (a regex search for 19 digits takes 25 ms a megabyte; this, a few)."""
    return b"0" * 19 in data.translate(_ZEROS)


def _rest(buf: bytes, loads: Loads, closed: bool) -> list[Any] | None:
    """Every element left in buf and the array's `]` (none when not `closed`), or None when they
    do not parse as exactly that in one call. A run of 19 digits or more also gives None: orjson reads
    an integer past 64 bits as a float, where the element-by-element reader keeps it exact."""
    if digit_run(buf):
        return None
    try:
        values = loads(b"[" + buf if closed else b"[" + buf + b"]")
    except (ValueError, RecursionError):
        return None
    return values if isinstance(values, list) else None


def _slow(buf: bytes, eof: bool, count: int, closed: bool = True) -> tuple[list[Any], int, bool]:
    """Decode elements one by one: (values, bytes used, whether the array ended)."""
    text = buf.decode("utf-8", "surrogateescape")
    try:
        buf.decode("utf-8")
        clean = True
    except UnicodeDecodeError:  # bad bytes, or a character cut at the end of the buffer
        clean = False
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        pos = _SKIP.match(text, pos).end()  # type: ignore[union-attr]
        if pos < len(text) and text[pos] == "]":
            return values, len(text[:pos].encode("utf-8", "surrogateescape")), True
        if pos >= len(text):
            if eof and not closed:
                return values, len(buf), True
            if eof:
                raise ParseError(
                    f"the JSON array ends without its closing ']' after {count + len(values)} records"
                )
            break
        try:
            value, end = decoder.raw_decode(text, pos)
        except RecursionError:
            raise ParseError(
                f"record {count + len(values) + 1} of the JSON array is nested too deeply to read"
            ) from None
        except ValueError as exc:
            if eof or len(buf) > MAX_RECORD:
                raise ParseError(f"malformed JSON array after {count + len(values)} records: {exc}") from None
            break
        if not clean:
            value = json.loads(text[pos:end].encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
        values.append(value)
        pos = end
    return values, len(text[:pos].encode("utf-8", "surrogateescape")), False


def array_windows(handle: BinaryIO, start: int, size: int, parts: int) -> list[tuple[int, int | None]]:
    """Byte windows of about equal size over the elements of an array whose first element starts
    at `start`: each cut is at a `},{"key":` boundary (never inside a string), so every window
    holds whole records; the last runs to the end of the file. Fewer windows when no boundary is
    found near a cut."""
    windows: list[tuple[int, int | None]] = []
    begin = start
    for part in range(1, parts):
        handle.seek(max(begin, start + (size - start) * part // parts))
        probe = handle.read(CHUNK)
        found = _ELEMENT.search(probe)
        if found is None:
            continue
        here = handle.tell() - len(probe)
        windows.append((begin, here + found.start() + 1))
        begin = here + found.start(1)
    windows.append((begin, None))
    return windows


def extract_records(document: Any) -> list[Any]:
    """The records inside a JSON document: a list, an envelope, or a Loki query_range answer."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ParseError("a JSON document must be an array of records or an object holding one")
    records = envelope_records(document)
    return [document] if records is None else records


def envelope_records(document: dict[str, Any]) -> list[Any] | None:
    """The records of an envelope (`{"logs": [...]}` and its kin, Loki, Elasticsearch), or None
    when `document` is not one: an object with its own timestamp, level or message is a record."""
    if not _RECORD_KEYS.isdisjoint(document):
        return None
    data = document.get("data")
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        return list(loki_records(data["result"]))
    for key in ARRAY_KEYS:
        value = document.get(key)
        if isinstance(value, dict) and isinstance(value.get("hits"), list):  # Elasticsearch
            return [h.get("_source", h) if isinstance(h, dict) else h for h in value["hits"]]
        if isinstance(value, list):
            return value
    return None


def loki_records(streams: list[Any]) -> Iterator[dict[str, Any]]:
    """Loki `streams` as flat records: the stream labels, then the line's own JSON fields if any."""
    for stream in streams:
        labels = stream.get("stream", {}) if isinstance(stream, dict) else {}
        for ns, line, *_ in stream.get("values", []) if isinstance(stream, dict) else []:
            try:
                parsed = json.loads(line)
            except (ValueError, RecursionError):
                parsed = None
            record = {**labels, "timestamp": int(ns)}
            record.update(parsed if isinstance(parsed, dict) else {"message": line})
            yield record


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def _name(value: Any) -> Any:
    """ECS-style nested values ({"name": ...}) become their name."""
    if isinstance(value, dict):
        return value.get("name") or value.get("hostname") or preview(value)
    return value


class JsonRecords:
    """Turns decoded JSON values into normalised records, counting what could not be used."""

    def __init__(self, stats: ParseStats, text: TextFormats):
        self.stats, self.text = stats, text

    def all(self, values: list[Any]) -> list[Record]:
        """Every record in `values`: envelopes and arrays (a page saved on one line) are opened."""
        out: list[Record] = []
        for value in values:
            inner = _inner(value)
            if inner is None:
                rec = self.one(value)
                if rec is not None:
                    out.append(rec)
                continue
            self.stats.records += len(inner) - 1
            self.stats.lines += len(inner) - 1
            out.extend(r for r in map(self.one, inner) if r is not None)
        return out

    def reject(self, value: Any, reason: str) -> None:
        self.stats.bad_line(None, preview(value), reason)
        self.stats.records -= 1

    def one(self, obj: Any) -> Record | None:
        """One JSON value as a normalised record, or None (counted as malformed, with the reason)."""
        if not isinstance(obj, dict):
            self.reject(obj, "not a JSON object")
            return None
        if isinstance(obj.get("log"), dict) and "level" in obj["log"]:  # ECS: {"log": {"level": ...}}
            obj = {**obj, "log.level": obj["log"]["level"]}
            del obj["log"]
        ts_key, ts_raw = _first(obj, _TS_KEYS)
        level_key, level_raw = _first(obj, _LEVEL_KEYS)
        msg_key, message = _first(obj, _MSG_KEYS)
        if ts_key is None and level_key is None and msg_key is None:
            keys = ", ".join(list(obj)[:8]) or "none"
            self.reject(obj, f"not a log record: no timestamp, level or message field (keys: {keys})")
            return None
        try:
            timestamp = self.stats.clock.iso(ts_raw) if ts_key else None
            message = "" if message is None else message if isinstance(message, str) else json.dumps(message)
        except BadTimestamp as exc:
            self.reject(obj, str(exc))
            return None
        except RecursionError:
            self.reject(obj, "nested too deeply to read")
            return None
        if timestamp is None:
            self.stats.missing_timestamps += 1
        return self._record(obj, timestamp, level_key, level_raw, message, {ts_key, level_key, msg_key})

    def _record(
        self,
        obj: dict[str, Any],
        timestamp: str | None,
        level_key: str | None,
        level_raw: Any,
        message: str,
        used: set[str | None],
    ) -> Record:
        service_key, service = _first(obj, _SERVICE_KEYS)
        host_key, host = _first(obj, _HOST_KEYS)
        if level_key is None:
            level_raw = infer_level(message)
        rec = self.text.record(timestamp, level_raw, message)
        rec["service"] = str(_name(service)) if service_key else self.text.service
        rec["host"] = str(_name(host)) if host_key else self.text.host
        if level_key is None:
            rec["level_inferred"] = True
            self.stats.levels_inferred += 1
        used |= {service_key, host_key}
        for key, value in obj.items():
            if key not in used and key not in rec:
                rec[key] = value
        return rec


def _inner(value: Any) -> list[Any] | None:
    """The records inside a value that holds many (an envelope, or an array of objects)."""
    if isinstance(value, list):
        return value if value and all(isinstance(v, dict) for v in value) else None
    if isinstance(value, dict) and _RECORD_KEYS.isdisjoint(value):
        return envelope_records(value)
    return None
