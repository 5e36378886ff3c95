"""JSON documents that hold logs: arrays streamed element by element, envelopes, Loki answers.

Standard library only; used by parse_logs.py.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

MAX_DOCUMENT = 512 << 20
# An object whose first array-valued key holds the records, after only scalar keys: streamable.
ENVELOPE = re.compile(
    rb'\s*\{\s*(?:"[^"\\]*"\s*:\s*(?:"[^"\\]*"|-?[\d.eE+]+|true|false|null)\s*,\s*)*"(logs|records|entries|items|events|data)"\s*:\s*\['
)


class ParseError(Exception):
    """The input cannot be read at all (as opposed to a malformed line, which is only counted)."""


def stream_array(text: io.TextIOWrapper, start: int) -> Iterator[Any]:
    """Decode the elements of a JSON array one by one, holding at most one element plus a chunk."""
    decoder = json.JSONDecoder()
    count = 0
    buf, pos, eof = text.read(start + 1)[start + 1 :], 0, False
    skip = re.compile(r"[\s,]*")
    while True:
        pos = skip.match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= len(buf) - 1 and not eof:
            more = text.read(1 << 20)
            buf, pos, eof = buf[pos:] + more, 0, not more
            continue
        if pos >= len(buf) or buf[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(buf, pos)
        except ValueError as exc:
            if eof or len(buf) - pos > MAX_DOCUMENT:
                raise ParseError(f"malformed JSON array after {count} records: {exc}") from None
            more = text.read(1 << 20)
            buf, pos, eof = buf[pos:] + more, 0, not more
            continue
        count += 1
        yield value
        pos = end


def extract_records(document: Any) -> list[Any]:
    """The records inside a JSON document: a list, an envelope, or a Loki query_range answer."""
    if isinstance(document, list):
        return document
    if not isinstance(document, dict):
        raise ParseError("a JSON document must be an array of records or an object holding one")
    data = document.get("data")
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        return list(loki_records(data["result"]))
    for key in ("logs", "records", "entries", "items", "events", "data", "hits"):
        value = document.get(key)
        if isinstance(value, dict) and isinstance(value.get("hits"), list):  # Elasticsearch
            return [h.get("_source", h) if isinstance(h, dict) else h for h in value["hits"]]
        if isinstance(value, list):
            return value
    return [document]


def loki_records(streams: list[Any]) -> Iterator[dict[str, Any]]:
    """Loki `streams` as flat records: the stream labels, then the line's own JSON fields if any."""
    for stream in streams:
        labels = stream.get("stream", {}) if isinstance(stream, dict) else {}
        for ns, line, *_ in stream.get("values", []) if isinstance(stream, dict) else []:
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            record = {**labels, "timestamp": int(ns)}
            record.update(parsed if isinstance(parsed, dict) else {"message": line})
            yield record


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    import sys

    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by parse_logs.py, not a command; run those with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
