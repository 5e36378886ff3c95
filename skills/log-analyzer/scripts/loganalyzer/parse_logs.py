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
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, BinaryIO

from . import frames, inferframes, textframes
from .infer import InferredReader, Layout, infer_layout
from .jsondoc import (
    ENVELOPE,
    MAX_DOCUMENT,
    JsonRecords,
    ParseError,
    Rows,
    digit_run,
    extract_records,
    json_codec,
    rows_loads,
    rows_reader,
    stream_array,
)
from .logformats import TEXT_PATTERNS, Columns, LineParser, Record, TextFormats, regex_parser
from .readstats import ParseStats, Progress, blocks, rows_engine
from .timestamps import BadTimestamp

_loads, _dumps = json_codec()
FORMATS = ("auto", "jsonl", "json", *TEXT_PATTERNS, "inferred", "regex")
BATCH = 8192
MAX_LINE = 64 << 20
_CONTINUATION = re.compile(r"\s|Caused by|\.\.\. \d+ more|[\w.$]+(?:Exception|Error)\b")


def _past_64_bits(data: bytes) -> bool:
    """Whether orjson (not the standard library) reads `data` and it holds a run of 19 digits: an
    integer orjson may read as a float."""
    return _loads is not json.loads and digit_run(data)


class _LineRows(Rows):
    """A JSON Lines block msgspec read (see `LogReader._jsonl_rows`). Its lines are counted when
    the analysis takes the rows; when it turns them down, `standard()` reads the block again the
    standard way, which counts them."""

    __slots__ = ("_again",)

    def __init__(self, rows: Rows, again: Callable[[], list[Any]]):
        super().__init__(rows)
        self._again = again

    def taken(self, stats: ParseStats) -> None:
        stats.lines += len(self)
        stats.records += len(self)
        stats.engine_records["msgspec"] += len(self)

    def standard(self) -> list[Any]:
        return self._again()


class LogReader:
    """Streams normalised records out of one input (a path, or "-" for stdin).

    Args:
        source: the file to read, or "-" for standard input.
        fmt: one of FORMATS; "auto" detects it from the first 64 KB (inferring a layout when no
            built-in format fits), "inferred" always infers one.
        regex: a pattern with named groups, used when fmt is "regex" (or given alone).
        service, host: values for records whose input names none.
        year: the year of timestamps that carry none (default: this year).
        quiet: no progress lines on stderr.
        columns: hand text blocks of the hottest layouts over as `Columns` rather than
            records (analyze.py's fast path; `records()` and `batches()` never see them).
        max_line: lines longer than this many bytes are skipped and counted as malformed.
        layout: an inferred layout (`parse.layout` of an earlier run) to read with instead of
            inferring one, so that every shard of a file is read alike.
        start, end: read only these bytes of the file (a shard; both must be line starts, or
            for `elements`, the bounds of an `array_windows` window).
        elements: the window holds elements of a JSON array (not a whole document).
        processes: how many processes read this input side by side, each a window: polars'
            read-ahead threads in each are its share of the CPUs.
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
        max_line: int = MAX_LINE,
        layout: dict[str, Any] | None = None,
        start: int = 0,
        end: int | None = None,
        elements: bool = False,
        processes: int = 1,
    ):
        if fmt not in FORMATS:
            raise ParseError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.source = source
        self.fmt = "regex" if regex and fmt == "auto" else fmt
        self.regex = regex
        self.stats = ParseStats(year)
        self.text = TextFormats(self.stats, service, host)
        self.json = JsonRecords(self.stats, self.text)
        self.quiet = quiet
        self._last: Record | None = None
        self.columns = columns
        self.max_line = max_line
        self.layout: Layout | None = Layout.from_dict(layout) if layout else None
        if layout:
            self.fmt = "inferred"
        self.start, self.end, self.elements = start, end, elements
        self.processes = processes  # reading this input side by side (each a window): a CPU share each
        self._inferred: InferredReader | None = None

    def _open(self) -> tuple[BinaryIO, int | None]:
        if self.source == "-":
            stdin: Any = sys.stdin.buffer
            return io.BufferedReader(stdin, buffer_size=1 << 16), None
        try:
            if self.start == 0 and self.end is None:
                return open(self.source, "rb", buffering=1 << 16), os.path.getsize(self.source)
            raw = open(self.source, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise ParseError(f"cannot read {self.source}: {exc.strerror or exc}") from None
        end = os.fstat(raw.fileno()).st_size if self.end is None else self.end
        raw.seek(self.start)
        return io.BufferedReader(_Window(raw, end - self.start), buffer_size=1 << 16), end - self.start

    def raw_batches(self) -> Iterator[list[Any]]:
        """Batches of decoded JSON values for JSON inputs, or of normalised records for text inputs.

        analyze.py takes JSON values straight from here, so it can count the common shape without
        normalising every record; call `normalize_all` on each batch for the general case.
        """
        handle, size = self._open()
        with handle:
            head = handle.peek(1 << 16)[: 1 << 16]  # type: ignore[attr-defined]
            fmt = self.fmt
            if fmt == "auto" or (fmt == "inferred" and self.layout is None):
                fmt, self.layout = detect(head, infer_only=fmt == "inferred")
            self.stats.format = fmt
            self.stats.layout = self.layout.as_dict() if self.layout else None
            progress = Progress(os.path.basename(self.source), size, self.quiet)
            if fmt == "jsonl":
                yield from self._jsonl(handle, progress, size)
            elif fmt == "json":
                yield from self._document(handle, head, size)
            else:
                yield from self._text(handle, fmt, progress, size)

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
            out = batch if self.prenormalized else self.normalize_all(batch)
            if out:
                yield out

    def normalize(self, obj: Any) -> Record | None:
        """One JSON value as a normalised record (None: counted as malformed, with the reason)."""
        return self.json.one(obj)

    def normalize_all(self, batch: list[Any]) -> list[Record]:
        """A batch of JSON values as records; envelopes and arrays saved on one line are opened."""
        return self.json.all(batch)

    def _jsonl(self, handle: BinaryIO, progress: Progress, size: int | None) -> Iterator[Any]:
        read = blocks(handle, progress, self.stats, self.max_line)
        if self.columns and rows_engine(size):  # msgspec, where installed: before polars (below)
            yield from self._jsonl_rows(read)
            return
        if not (self.columns and frames.wanted(size)):
            for body, lineno, count in read:
                yield self._jsonl_body(body, lineno, count)
            return
        self.stats.engine_records["polars"] = 0
        for group, frame in frames.read_ahead(frames.grouped(read), self.processes):
            if frame is not None:
                yield frame  # the analysis counts it (`took`) or hands it back (`standard`)
            else:
                yield from self.standard(group)

    def standard(self, group: frames.Frame | list[tuple[bytes, int, int]]) -> list[list[Any]]:
        """A group of JSON Lines blocks (or a frame's) read by the standard path, batch by batch."""
        found = group.blocks if isinstance(group, frames.Frame) else group
        return [self._jsonl_body(body, lineno, count) for body, lineno, count in found]

    def took(self, frame: frames.Frame) -> None:
        """Count the lines of a frame the analysis counted: polars read them."""
        self.stats.lines += frame.lines
        self.stats.records += frame.lines
        self.stats.engine_records["polars"] = self.stats.engine_records.get("polars", 0) + frame.lines

    def _jsonl_rows(self, read: Iterable[tuple[bytes, int, int]]) -> Iterator[Any]:
        """JSON Lines blocks read by msgspec into rows (`_LineRows`), one call per block (its lines
        joined into an array). With the analysis it takes a third of the CPU time and memory polars
        does, in one thread, so a big file is shared out among processes (analyze.py's `--jobs`). A
        block msgspec turns down goes the standard path."""
        read_rows = rows_reader()
        self.stats.engine_records["msgspec"] = 0
        for body, lineno, count in read:
            rows = read_rows(b"[" + body.replace(b"\n", b",") + b"]")  # a line a value, or an error
            if rows is None or len(rows) != count:  # (a line `{},{}` gives two: malformed)
                yield self._jsonl_body(body, lineno, count)
            else:
                yield _LineRows(rows, partial(self._jsonl_body, body, lineno, count))

    def _jsonl_body(self, body: bytes, lineno: int, count: int) -> list[Any]:
        """Parse a block's `count` lines with one call; only a block with a bad line (or a line
        holding two values, `{},{}`) is parsed line by line. orjson reads an integer past 64 bits
        as a float: a line with a run of 19 digits is read by the standard library (exact)."""
        try:
            values = None if _past_64_bits(body) else _loads(b"[" + body.replace(b"\n", b",") + b"]")
        except (ValueError, RecursionError):
            values = None
        if isinstance(values, list) and len(values) == count:
            self.stats.lines += count
            self.stats.records += count
            return values
        values = []
        for offset, line in enumerate(body.split(b"\n"), lineno + 1):
            self.stats.lines += 1
            if not line.strip():
                self.stats.blank += 1
                continue
            try:
                if not _past_64_bits(line):
                    values.append(_loads(line))
                    continue
            except (ValueError, RecursionError):
                pass
            try:
                try:  # valid UTF-8 that orjson refused: a lone surrogate escape ("\\ud800"), kept
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    text = line.decode("utf-8", "replace")
                    self.stats.decode_errors += 1
                values.append(json.loads(text))
            except ValueError:
                self.stats.bad_line(offset, line, "not valid JSON")
            except RecursionError:
                self.stats.bad_line(offset, line, "nested too deeply to read (more than about 1,000 levels)")
        self.stats.records += len(values)
        return values

    def _document(self, handle: BinaryIO, head: bytes, size: int | None) -> Iterator[list[Any]]:
        """A JSON array or envelope: streamed a chunk at a time when the shape allows."""
        if self.elements:
            for batch in stream_array(handle, self._array_loads(size), closed=self.end is None):
                self.stats.lines += len(batch)
                self.stats.records += len(batch)
                yield batch
            return
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        envelope = ENVELOPE.match(head, 3 if head.startswith(b"\xef\xbb\xbf") else 0)
        if stripped.startswith(b"[") or envelope is not None:
            handle.read(head.index(b"[") + 1 if envelope is None else envelope.end())
            for batch in stream_array(handle, self._array_loads(size)):
                self.stats.lines += len(batch)
                self.stats.records += len(batch)
                yield batch
            return
        if size is not None and size > MAX_DOCUMENT:
            raise ParseError(
                f"{self.source}: a {size >> 20} MB JSON document whose records are not in a top-level "
                '"logs" array cannot be streamed; convert it to JSON Lines first'
            )
        body = handle.read(MAX_DOCUMENT + 1)
        if len(body) > MAX_DOCUMENT:
            raise ParseError(
                f"{self.source}: a JSON document over {MAX_DOCUMENT >> 20} MB; convert it to JSON Lines"
            )
        try:
            document = json.loads(body.decode("utf-8-sig", "replace"))
        except ValueError as exc:
            raise ParseError(f"{self.source}: not valid JSON ({exc})") from None
        except RecursionError:
            raise ParseError(f"{self.source}: the JSON document is nested too deeply to read") from None
        values = extract_records(document)
        self.stats.lines += len(values)
        self.stats.records += len(values)
        for start in range(0, len(values), BATCH):
            yield values[start : start + BATCH]

    def _array_loads(self, size: int | None) -> Any:
        """How a JSON array's chunks are read: msgspec's `Rows` for the analysis (`columns`) of a
        big array where msgspec is installed (analyze.tally counts the rows it takes in
        `engine_records`), else the standard path's loads."""
        if not (self.columns and rows_engine(size)):
            return _loads
        self.stats.engine_records["msgspec"] = 0
        return rows_loads(_loads)

    def record_start(self, fmt: str) -> Callable[[str], bool]:
        """Whether a line of this text format starts a record (the reader keeps every line that
        does not, and follows one, with the record before it)."""
        parse = self._text_parsers(fmt)[0]

        def starts(line: str) -> bool:
            try:
                return parse(line) is not None
            except BadTimestamp:  # a malformed line: the lines after it may belong to the one before
                return False

        return starts

    def _text_parsers(self, fmt: str) -> tuple[LineParser, list[Any]]:
        """The line parser and the block layouts (pattern, builders) of a text format."""
        if fmt == "regex":
            return regex_parser(self.regex or "", self.text), []
        if fmt == "inferred":
            if self.layout is None:
                raise ParseError("--format inferred needs lines to infer a layout from")
            reader = self._inferred = InferredReader(self.layout, self.text)
            pattern = self.layout.pattern

            def parse(line: str) -> Record | None:
                m = pattern.match(line)
                return None if m is None else reader.build(m.groups())

            return parse, [
                (pattern, reader.build, lambda rows: list(map(reader.build, rows)), reader.columns)
            ]
        return self.text.parser(fmt), self.text.layouts(fmt)

    def _text(self, handle: BinaryIO, fmt: str, progress: Progress, size: int | None) -> Iterator[Any]:
        """Text lines to records, a block of lines at a time.

        The last record of each block is held back until the next block, so that stack-trace
        lines at the start of a block still reach the message they belong to. With `columns` on,
        a big input in the common log4j layout is counted by polars where it is installed
        (`textframes`), block by block, each block it leaves alone read here.
        """
        parse, layouts = self._text_parsers(fmt)
        read = blocks(handle, progress, self.stats, self.max_line)
        counted: Iterable[tuple[Any, textframes.Counted | None]] = ((block, None) for block in read)
        engine = self._text_engine(fmt) if self.columns and textframes.wanted(size) else None
        if engine is not None:
            self.stats.engine_records["polars"] = 0
            counted = textframes.read_ahead(read, engine, self.processes)
        held: Record | None = None
        for (body, lineno, count), frame in counted:
            if frame is not None and self._took(frame, count, engine):
                records: list[Record] | Columns | textframes.Counted = frame
            else:
                records = self._text_block(body, lineno, fmt, parse, layouts)
            if isinstance(records, (Columns, textframes.Counted)):
                if held is not None:
                    self.stats.records += 1
                    yield [held]
                held = self._last = self._tail(records, engine)
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

    def _text_engine(self, fmt: str) -> Any:
        """How polars counts this text format (None: it does not)."""
        if fmt == "log4j":
            return textframes.Zookeeper(self.text)
        if fmt == "inferred" and self._inferred is not None:
            return inferframes.engine(self._inferred, self.text.clock.year)
        return None

    def _took(self, frame: textframes.Counted, count: int, engine: Any) -> bool:
        """Count a block polars read (True), or leave it to the standard path (False: a
        timestamp in it names no real time)."""
        frame.row = engine.tail_row(frame.tail)
        try:
            self.text.clock.check(frame.check)
        except BadTimestamp:
            return False
        if frame.row is None:  # polars took a line Python's regex refuses: never seen
            return False
        self.stats.lines += count
        self.text.clock.assumed_utc += frame.assumed_utc
        self.text.clock.assumed_year += frame.assumed_year
        self.stats.engine_records["polars"] += count
        frame.service, frame.host = self.text.service, self.text.host
        return True

    def _tail(self, block: Columns | textframes.Counted, engine: Any) -> Record:
        """The block's last row as a record, taken off the block."""
        if isinstance(block, Columns):
            return block.pop()
        assert block.row is not None
        return engine.tail_record(block.row)  # type: ignore[no-any-return]

    def _text_block(
        self, body: bytes, lineno: int, fmt: str, parse: LineParser, layouts: list[Any]
    ) -> list[Record] | Columns:
        """One `findall` per layout over the whole block when every line matches (the common case);
        otherwise line by line, with continuation lines, blanks and malformed lines told apart.
        With `columns` on, the hottest layouts come back as Columns instead of records."""
        text = body.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        count = text.count("\n") + 1
        self.stats.lines += count
        if "\ufffd" not in text:
            found = self._whole_block(text, count, layouts)
            if found is not None:
                return found
        records = []
        for offset, line in enumerate(text.split("\n"), lineno + 1):
            if "\ufffd" in line:
                self.stats.decode_errors += 1
            try:
                rec = parse(line)
            except BadTimestamp as exc:
                self.stats.bad_line(offset, line, str(exc))
                continue
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

    def _whole_block(self, text: str, count: int, layouts: list[Any]) -> list[Record] | Columns | None:
        """The block read by one layout in one go, or None when no layout fits every line (or a
        timestamp in it names no real time: the line-by-line path says which)."""
        for pattern, _, build_block, build_columns in layouts:
            rows = pattern.findall(text)
            if len(rows) != count:
                continue
            try:
                if self.columns and build_columns is not None:
                    block = build_columns(rows)
                    if block is not None:
                        return block  # type: ignore[no-any-return]
                records: list[Record] = build_block(rows)
            except BadTimestamp:
                return None
            self._last = records[-1]
            return records
        return None


class _Window(io.RawIOBase):
    """The next `size` bytes of a raw file: a shard that reads like a whole file."""

    def __init__(self, raw: io.FileIO, size: int):
        self.raw, self.left = raw, max(0, size)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buffer)[: self.left]
        n = self.raw.readinto(view) or 0
        self.left -= n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def detect(head: bytes, infer_only: bool = False) -> tuple[str, Layout | None]:
    """The format of an input from its first bytes, and the inferred layout when no built-in
    format fits most of the first lines."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text:
        return "jsonl", None
    if not infer_only:
        if text.startswith("[") and _starts_json_array(text, cut=len(head) >= 1 << 16):
            return "json", None
        if text.startswith("{"):
            return _json_kind(head, text), None
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    if len(lines) > 1 and len(head) >= 1 << 16:
        lines.pop()  # the sample cut the last line short
    heads = [ln for ln in lines[:60] if ln.strip() and not _CONTINUATION.match(ln)] or [text]
    scores = {name: sum(1 for ln in heads if pattern.match(ln)) for name, pattern in TEXT_PATTERNS.items()}
    best = max(scores, key=lambda name: scores[name])
    known = not infer_only and scores[best] > 0 and scores[best] * 2 >= len(heads)
    if known and scores[best] == len(heads):
        return best, None
    layout = infer_layout(lines)
    if known and (layout is None or layout.matched <= scores[best]):
        return best, None  # a built-in format reads as many lines as inference would: keep it
    if layout is None:
        raise ParseError(
            f"cannot tell the log format from the first lines ({heads[0][:80]!r}): no built-in format "
            "fits and no timestamp or level field was found at the same place in most lines; "
            "pass --format or --regex with named groups"
        )
    return "inferred", layout


def _starts_json_array(text: str, cut: bool) -> bool:
    """Whether `text` (which starts with "[") begins a JSON array, not a line like `[10.30 16:49:06] ...`.

    Its first value must parse and be followed by "," or "]". When the sample was cut (`cut`), a
    first value that fails past its first character is taken as one cut short, not as broken.
    """
    start = len(text) - len(text[1:].lstrip())
    if start >= len(text) or text[start] == "]":
        return True
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        return cut and exc.pos > start
    except RecursionError:
        return True
    rest = text[end:].lstrip()
    return not rest or rest[0] in ",]"


def _json_kind(head: bytes, text: str) -> str:
    first, newline, _ = text.partition("\n")
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    if not newline and len(head) >= 1 << 16 and ENVELOPE.match(head, bom) is None:
        return "jsonl"  # a first line longer than the sample, and no envelope in sight
    try:
        return "jsonl" if isinstance(json.loads(first.strip()), dict) else "json"
    except (ValueError, RecursionError):
        return "json"


def detect_format(head: bytes) -> str:
    """The name of the format `detect` finds ("inferred" for a layout it had to infer)."""
    return detect(head)[0]


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
    add_input_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    return parser.parse_args(argv)


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Options both parse_logs.py and analyze.py take for reading the input."""
    parser.add_argument(
        "--max-line-mb",
        type=float,
        default=MAX_LINE >> 20,
        help=f"skip (and count as malformed) lines longer than this (default {MAX_LINE >> 20} MB)",
    )


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
        max_line=max(1, int(args.max_line_mb * (1 << 20))),
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


def run() -> None:
    """Run as a command: exit with `main()`'s status."""
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
