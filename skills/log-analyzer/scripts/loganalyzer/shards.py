"""Where one big input is cut for several processes, and how many: windows of whole records over a
JSON array, a JSON Lines file or a text log, each read by a process of its own, whose partials
analyze.py merges exactly. Standard library only (polars is never imported here)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from . import frames, textframes
from .jsondoc import ENVELOPE, array_windows
from .parse_logs import LogReader, detect
from .readstats import cores, line_windows, rows_engine

Windows = list[tuple[int, int | None]]

ARRAY_MIN = 128 << 20
"""A JSON array this big is read by several processes (smaller ones cost less CPU time in one)."""
LINES_MIN = 32 << 20
"""JSON Lines this big, read with msgspec or the standard path (one thread each), are shared out
among processes: each reads a window of whole lines in ~30 MB. polars reads with threads of its own."""
TEXT_MIN = 32 << 20
"""Text logs this big, read by the standard path (Python, one thread), are shared out among
processes too (polars: see `of_text`)."""
POLARS_SHARE = 32 << 20
"""Where polars counts a text log's lines, each process takes this much of it at least: a process
imports polars again (~0.3 s of CPU time), which a smaller share does not repay."""


def of_array(reader: LogReader, jobs: int) -> Windows | None:
    """Windows over a JSON array file for `jobs` processes, or None to read it in one pass."""
    size = _whole_file(reader) if reader.fmt in ("auto", "json") else None
    jobs = processes(jobs, size, ARRAY_MIN) if size is not None else 1
    if size is None or jobs < 2:
        return None
    with open(reader.source, "rb") as handle:
        head = handle.read(1 << 16)
        if reader.fmt == "auto" and detect(head)[0] != "json":
            return None
        bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
        envelope = ENVELOPE.match(head, bom)
        if envelope is None and not head[bom:].lstrip().startswith(b"["):
            return None  # a document that is not streamed: read whole, in one pass
        start = envelope.end() if envelope else head.index(b"[") + 1
        windows = array_windows(handle, start, size, jobs)
    return windows if len(windows) > 1 else None


def of_lines(reader: LogReader, jobs: int) -> Windows | None:
    """Windows of whole lines over a JSON Lines file for `jobs` processes, or None to read it in
    one pass (a small file, one CPU, or polars reading it)."""
    size = _whole_file(reader) if reader.fmt in ("auto", "jsonl") else None
    jobs = processes(jobs, size, LINES_MIN) if size is not None else 1
    if size is None or jobs < 2 or (frames.wanted(size) and not rows_engine(size)):
        return None
    with open(reader.source, "rb") as handle:
        if reader.fmt == "auto" and detect(handle.read(1 << 16))[0] != "jsonl":
            return None
        windows = line_windows(handle, size, jobs)
    return windows if len(windows) > 1 else None


def of_text(reader: LogReader, jobs: int) -> tuple[Windows, str, Any] | None:
    """(windows, format, inferred layout) for a text log read by `jobs` processes, each window
    starting at a line that starts a record (a stack trace stays with its record), or None to read
    it in one pass.

    Where polars counts the lines, unasked, a process per POLARS_SHARE bytes at most: each
    imports polars again, and polars' own threads already share out the work of one (on the 2-core
    machine, two processes read 1M log4j lines, 111 MB, in ~1.0 s against ~1.3 s, for the same CPU
    time; 1M logcat lines in ~1.5 s against ~1.7 s; a 33 MB file lost ~5% in two). Each process
    imports it after the fork: polars starts threads as it is imported, which a forked process
    would be without, so a process that has it is not forked for it."""
    size = _whole_file(reader) if reader.fmt not in ("json", "jsonl") and not reader.regex else None
    asked, jobs = jobs, processes(jobs, size, TEXT_MIN) if size is not None else 1
    if size is not None and textframes.wanted(size):
        if "polars" in sys.modules:
            return None
        jobs = jobs if asked else min(jobs, size // POLARS_SHARE)
    if size is None or jobs < 2:
        return None
    with open(reader.source, "rb") as handle:
        fmt, layout = reader.fmt, reader.layout
        if fmt == "auto" or (fmt == "inferred" and layout is None):
            fmt, layout = detect(handle.read(1 << 16), infer_only=fmt == "inferred")
        if fmt in ("json", "jsonl"):
            return None
        starts = LogReader(reader.source, fmt, layout=layout.as_dict() if layout else None).record_start(fmt)
        windows = line_windows(handle, size, jobs, starts)
    return (windows, fmt, layout.as_dict() if layout else None) if len(windows) > 1 else None


def _whole_file(reader: LogReader) -> int | None:
    """The size of the file the reader reads from its start to its end, or None when it reads
    standard input, a window of a file, or something that is not a regular file."""
    if reader.source == "-" or reader.start or reader.end is not None or reader.elements:
        return None
    return os.path.getsize(reader.source) if os.path.isfile(reader.source) else None


def processes(jobs: int, size: int, least: int) -> int:
    """Processes for an input of `size` bytes: `jobs` when given; else one per CPU (`cores`: a
    container's quota counts), up to 4, for inputs of `least` bytes or more, in a process with no
    other thread (forking a process with threads, a notebook kernel, is unsafe)."""
    if jobs:
        return jobs
    if size < least or threading.active_count() > 1:
        return 1
    return min(4, cores())
