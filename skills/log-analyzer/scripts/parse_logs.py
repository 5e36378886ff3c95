#!/usr/bin/env python3
"""Normalise logs of any common format to JSON Lines records.

Each output line is {"timestamp": ISO 8601 UTC, "level", "service", "host", "message", ...}; fields
the input had beyond those are kept. Input: JSON array, JSON Lines, an envelope {"logs": [...]},
a Loki query_range answer, log4j/logback, Apache/nginx error and access logs, syslog (RFC 3164 and
5424), or any line format described by --regex with named groups.

The file is streamed: memory stays bounded whatever its size. Malformed lines are counted and
reported on stderr, never fatal. Standard library only; orjson is used when it is importable.

Exit codes: 0 ok (malformed lines included), 1 input error (missing file, unknown format, nothing
parseable), 2 usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from jsondoc import ENVELOPE, MAX_DOCUMENT, ParseError, extract_records, stream_array
from logformats import (
    TEXT_PATTERNS,
    Columns,
    LineParser,
    Record,
    TextFormats,
    infer_level,
    regex_parser,
)
from readstats import ParseStats, Progress

try:
    import orjson

    _loads: Any = orjson.loads
    _dumps: Any = orjson.dumps
except ImportError:  # a bare python3: the standard json module is slower but enough
    _loads = json.loads

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


FORMATS = ("auto", "jsonl", "json", *TEXT_PATTERNS, "regex")
CHUNK = 1 << 20
BATCH = 8192
_TS_KEYS = ("timestamp", "@timestamp", "time", "ts", "datetime", "date", "eventTime", "t")
_LEVEL_KEYS = ("level", "severity", "log.level", "levelname", "lvl", "loglevel", "log_level", "@level")
_MSG_KEYS = ("message", "msg", "@message", "log", "text", "event")
_SERVICE_KEYS = ("service", "service.name", "service_name", "app", "application", "component")
_HOST_KEYS = ("host", "host.name", "hostname", "host_name", "node", "instance", "pod")
_CONTINUATION = re.compile(r"\s|Caused by|\.\.\. \d+ more|[\w.$]+(?:Exception|Error)\b")


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def _name(value: Any) -> Any:
    """ECS-style nested values ({"name": ...}) become their name."""
    if isinstance(value, dict):
        return value.get("name") or value.get("hostname") or json.dumps(value, sort_keys=True)
    return value


class LogReader:
    """Streams normalised records out of one input (a path, or "-" for stdin).

    Args:
        source: the file to read, or "-" for standard input.
        fmt: one of FORMATS; "auto" detects it from the first 64 KB.
        regex: a pattern with named groups, used when fmt is "regex" (or given alone).
        service, host: values for records whose input names none.
        year: the year of syslog timestamps that carry none (default: this year).
        quiet: no progress lines on stderr.
        columns: hand text blocks of the commonest log4j layout over as `Columns` rather than
            records (analyze.py's fast path; `records()` and `batches()` never see them).
    """

    def __init__(
        self,
        source: str,
        fmt: str = "auto",
        *,
        regex: str | None = None,
        service: str = "unknown",
        host: str = "unknown",
        year: int | None = None,
        quiet: bool = False,
        columns: bool = False,
    ):
        if fmt not in FORMATS:
            raise ParseError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.source = source
        self.fmt = "regex" if regex and fmt == "auto" else fmt
        self.regex = regex
        self.stats = ParseStats(year)
        self.text = TextFormats(self.stats.clock, service, host)
        self.text.unknown_levels = self.stats.unknown_levels
        self.quiet = quiet
        self._last: Record | None = None
        self.columns = columns

    def _open(self) -> tuple[BinaryIO, int | None]:
        if self.source == "-":
            stdin: Any = sys.stdin.buffer
            return io.BufferedReader(stdin, buffer_size=1 << 16), None
        try:
            return open(self.source, "rb", buffering=1 << 16), os.path.getsize(self.source)
        except OSError as exc:
            raise ParseError(f"cannot read {self.source}: {exc.strerror or exc}") from None

    def raw_batches(self) -> Iterator[list[Any]]:
        """Batches of decoded JSON values for JSON inputs, or of normalised records for text inputs.

        analyze.py takes JSON values straight from here, so it can count the common shape without
        normalising every record; call `normalize` on each value for the general case.
        """
        handle, size = self._open()
        with handle:
            head = handle.peek(1 << 16)[: 1 << 16]  # type: ignore[attr-defined]
            fmt = self.fmt if self.fmt != "auto" else detect_format(head)
            self.stats.format = fmt
            progress = Progress(os.path.basename(self.source), size, self.quiet)
            if fmt == "jsonl":
                yield from self._jsonl(handle, progress)
            elif fmt == "json":
                yield from _batched(self._document(handle, head, size))
            else:
                yield from self._text(handle, fmt, progress)

    @property
    def prenormalized(self) -> bool:
        """True once reading has started on a text format, whose batches hold finished records."""
        return self.stats.format not in ("auto", "json", "jsonl")

    def records(self) -> Iterator[Record]:
        """Every normalised record, in input order."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Record]]:
        """Normalised records, a batch at a time."""
        for batch in self.raw_batches():
            out = batch if self.prenormalized else [r for r in map(self.normalize, batch) if r is not None]
            if out:
                yield out

    def normalize(self, obj: Any) -> Record | None:
        """One JSON value as a normalised record (text-format records pass through unchanged)."""
        if not isinstance(obj, dict):
            self.stats.bad_line(None, json.dumps(obj)[:200], "not a JSON object")
            self.stats.records -= 1
            return None
        if isinstance(obj.get("log"), dict) and "level" in obj["log"]:  # ECS: {"log": {"level": ...}}
            obj = {**obj, "log.level": obj["log"]["level"]}
            del obj["log"]
        ts_key, ts_raw = _first(obj, _TS_KEYS)
        level_key, level_raw = _first(obj, _LEVEL_KEYS)
        msg_key, message = _first(obj, _MSG_KEYS)
        service_key, service = _first(obj, _SERVICE_KEYS)
        host_key, host = _first(obj, _HOST_KEYS)
        message = "" if message is None else message if isinstance(message, str) else json.dumps(message)
        if level_key is None:
            level_raw = infer_level(message)
        timestamp = self.stats.clock.iso(ts_raw) if ts_key else None
        if timestamp is None:
            self.stats.missing_timestamps += 1
        rec = self.text.record(timestamp, level_raw, message)
        rec["service"] = str(_name(service)) if service_key else self.text.service
        rec["host"] = str(_name(host)) if host_key else self.text.host
        if level_key is None:
            rec["level_inferred"] = True
        used = {ts_key, level_key, msg_key, service_key, host_key}
        for key, value in obj.items():
            if key not in used and key not in rec:
                rec[key] = value
        return rec

    def _jsonl(self, handle: BinaryIO, progress: Progress) -> Iterator[list[Any]]:
        for body, lineno in _blocks(handle, progress, self.stats):
            yield self._jsonl_body(body, lineno)

    def _jsonl_body(self, body: bytes, lineno: int) -> list[Any]:
        """Parse many lines with one call; only a chunk with a bad line is parsed line by line."""
        try:
            values = _loads(b"[" + body.replace(b"\n", b",") + b"]")
            self.stats.lines += len(values)
            self.stats.records += len(values)
            return values  # type: ignore[no-any-return]
        except ValueError:
            pass
        values = []
        for offset, line in enumerate(body.split(b"\n"), lineno + 1):
            self.stats.lines += 1
            if not line.strip():
                self.stats.blank += 1
                continue
            try:
                values.append(_loads(line))
            except ValueError:
                try:
                    values.append(json.loads(line.decode("utf-8", "replace")))
                    self.stats.decode_errors += 1
                except ValueError:
                    self.stats.bad_line(offset, line, "not valid JSON")
        self.stats.records += len(values)
        return values

    def _document(self, handle: BinaryIO, head: bytes, size: int | None) -> Iterator[Any]:
        """A JSON array or envelope: streamed element by element when the shape allows."""
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        envelope = ENVELOPE.match(head)
        if stripped.startswith(b"[") or envelope is not None:
            start = head.index(b"[") if envelope is None else envelope.end() - 1
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace")
            chars = len(head[:start].decode("utf-8-sig", "replace"))
            try:
                for value in stream_array(text, chars):
                    self.stats.lines += 1
                    self.stats.records += 1
                    yield value
            finally:
                text.detach()  # the caller closes the file; the wrapper must not do it again
            return
        if size is not None and size > MAX_DOCUMENT:
            raise ParseError(
                f"{self.source}: a {size >> 20} MB JSON document whose records are not in a top-level "
                '"logs" array cannot be streamed; convert it to JSON Lines first'
            )
        try:
            document = json.loads(handle.read().decode("utf-8", "replace"))
        except ValueError as exc:
            raise ParseError(f"{self.source}: not valid JSON ({exc})") from None
        values = extract_records(document)
        self.stats.lines += len(values)
        self.stats.records += len(values)
        yield from values

    def _text(self, handle: BinaryIO, fmt: str, progress: Progress) -> Iterator[list[Any]]:
        """Text lines to records, a block of lines at a time.

        The last record of each block is held back until the next block, so that stack-trace
        lines at the start of a block still reach the message they belong to.
        """
        if fmt == "regex":
            parse, layouts = regex_parser(self.regex or "", self.text), []
        else:
            parse, layouts = self.text.parser(fmt), self.text.layouts(fmt)
        held: Record | None = None
        for body, lineno in _blocks(handle, progress, self.stats):
            records = self._text_block(body, lineno, fmt, parse, layouts)
            if isinstance(records, Columns):
                if held is not None:
                    self.stats.records += 1
                    yield [held]
                held = self._last = records.pop()
                self.stats.records += len(records)
                if len(records):
                    yield records  # type: ignore[misc]
                continue
            if not records:
                continue
            if held is not None:
                records = [held, *records]
            held = records.pop()
            self.stats.records += len(records)
            if records:
                yield records
        if held is not None:
            self.stats.records += 1
            yield [held]

    def _text_block(
        self, body: bytes, lineno: int, fmt: str, parse: LineParser, layouts: list[Any]
    ) -> list[Record] | Columns:
        """One `findall` per layout over the whole block when every line matches (the common case);
        otherwise line by line, with continuation lines, blanks and malformed lines told apart.
        With `columns` on, the hottest layout comes back as Columns instead of records."""
        text = body.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        count = text.count("\n") + 1
        self.stats.lines += count
        if "\ufffd" not in text:
            for pattern, _, build_block, build_columns in layouts:
                rows = pattern.findall(text)
                if len(rows) == count and self.columns and build_columns is not None:
                    return build_columns(rows)  # type: ignore[no-any-return]
                if len(rows) == count:
                    records: list[Record] = build_block(rows)
                    self._last = records[-1]
                    return records
        records = []
        for offset, line in enumerate(text.split("\n"), lineno + 1):
            if "\ufffd" in line:
                self.stats.decode_errors += 1
            rec = parse(line)
            if rec is not None:
                records.append(rec)
                self._last = rec
            elif not line.strip():
                self.stats.blank += 1
            elif self._last is not None and _CONTINUATION.match(line):
                self.stats.continuation_lines += 1
                self._last["message"] += "\n" + line
            else:
                self.stats.bad_line(offset, line, f"does not match the {fmt} format")
        return records


def _blocks(handle: BinaryIO, progress: Progress, stats: ParseStats) -> Iterator[tuple[bytes, int]]:
    """Whole lines, about CHUNK bytes at a time, with the number of lines before each block."""
    tail, lineno, done = b"", 0, 0
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        done += len(chunk)
        chunk = tail + chunk
        cut = chunk.rfind(b"\n")
        if cut < 0:
            tail = chunk if len(chunk) < MAX_DOCUMENT else b""
            continue
        tail, body = chunk[cut + 1 :], chunk[:cut]
        yield body, lineno
        lineno += body.count(b"\n") + 1
        progress.update(done, stats.records)
    if tail.strip():
        yield tail, lineno


def _batched(values: Iterator[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def detect_format(head: bytes) -> str:
    """Guess the format from the first bytes of the input."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text:
        return "jsonl"
    if text.startswith("[") and not TEXT_PATTERNS["apache-error"].match(text.split("\n", 1)[0].rstrip("\r")):
        return "json"
    if text.startswith("{"):
        first, newline, _ = text.partition("\n")
        if not newline and len(head) >= 1 << 16 and ENVELOPE.match(head) is None:
            return "jsonl"  # a first line longer than the sample, and no envelope in sight
        try:
            return "jsonl" if isinstance(json.loads(first.strip()), dict) else "json"
        except ValueError:
            return "json"
    lines = [ln for ln in text.split("\n")[:60] if ln.strip() and not _CONTINUATION.match(ln)][:-1] or [text]
    scores = {name: sum(1 for ln in lines if pattern.match(ln)) for name, pattern in TEXT_PATTERNS.items()}
    best = max(scores, key=lambda name: scores[name])
    if scores[best] == 0 or scores[best] * 2 < len(lines):
        raise ParseError(
            f"cannot tell the log format from the first lines ({lines[0][:80]!r}); "
            "pass --format or --regex with named groups"
        )
    return best


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="parse_logs.py",
        description="Normalise logs of any common format to JSON Lines records.",
        epilog="Formats: " + ", ".join(FORMATS) + ". Exit codes: 0 ok, 1 input error, 2 usage error.",
    )
    parser.add_argument("input", help="log file to read, or - for stdin")
    parser.add_argument("-o", "--output", help="write JSON Lines here instead of stdout")
    parser.add_argument(
        "--format", default="auto", choices=FORMATS, help="input format (default: auto-detect)"
    )
    parser.add_argument(
        "--regex", help="line regex with named groups (timestamp, level, message, service, host, ...)"
    )
    parser.add_argument("--service", default="unknown", help="service name for records that carry none")
    parser.add_argument("--host", default="unknown", help="host name for records that carry none")
    parser.add_argument(
        "--year", type=int, help="year for syslog timestamps without one (default: this year)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    return parser.parse_args(argv)


def reader_from_args(args: argparse.Namespace) -> LogReader:
    """The reader the shared input options (parse_logs.py and analyze.py) describe."""
    return LogReader(
        args.input,
        args.format,
        regex=args.regex,
        service=args.service,
        host=args.host,
        year=args.year,
        quiet=args.quiet,
    )


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    reader = reader_from_args(args)
    written = 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(args.output, "wb")) if args.output else sys.stdout.buffer
        try:
            for batch in reader.batches():
                out.write(b"".join(_dumps(rec) + b"\n" for rec in batch))
                written += len(batch)
        except (ParseError, re.error) as exc:
            print(f"parse_logs.py: error: {exc}", file=sys.stderr)
            return 1
    summary = reader.stats.as_dict()
    if not args.quiet:
        print("parse_logs.py: " + json.dumps(summary), file=sys.stderr)
    if written == 0 and reader.stats.malformed:
        print(f"parse_logs.py: error: no line could be read as {reader.stats.format}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
