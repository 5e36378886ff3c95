"""readstats.blocks cuts an input into blocks of whole lines: every line comes out once, in order,
with its line number, and a line over the limit is skipped and reported, whatever the sizes of the
reads and of the lines (checked against a plain split of the same bytes)."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from .conftest import load_script

readstats: Any = load_script("readstats")


class _Trickle(io.RawIOBase):
    """A raw stream that hands out at most `most` bytes a read (as a pipe may)."""

    def __init__(self, data: bytes, most: int):
        self.data, self.most, self.at = data, most, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        piece = self.data[self.at : self.at + min(self.most, len(buffer))]
        buffer[: len(piece)] = piece
        self.at += len(piece)
        return len(piece)


def _expected(data: bytes, max_line: int) -> tuple[list[bytes], list[tuple[int, int, bytes]]]:
    """The lines `blocks` should hand out, and the (line number, length, start) of those it skips."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if not lines[-1].strip() and len(lines[-1]) <= max_line:
        lines.pop()  # nothing after the last newline, or only blanks: not a line
    kept, skipped = [], []
    for number, line in enumerate(lines, 1):
        if len(line) > max_line:
            skipped.append((number, len(line), line[:200]))
        else:
            kept.append((number, line))
    return kept, skipped  # type: ignore[return-value]


def _blocks(data: bytes, max_line: int, chunk: int, most: int) -> tuple[list[Any], Any]:
    stats = readstats.ParseStats()
    handle = io.BufferedReader(_Trickle(data, most), buffer_size=64)
    found = list(readstats.blocks(handle, readstats.Progress("x", None, True), stats, max_line, chunk))
    return found, stats


def _check(data: bytes, max_line: int, chunk: int, most: int) -> None:
    kept, skipped = _expected(data, max_line)
    found, stats = _blocks(data, max_line, chunk, most)
    got = []
    for body, before, lines in found:
        parts = body.split(b"\n")
        assert len(parts) == lines
        got += [(before + 1 + i, part) for i, part in enumerate(parts)]
    assert got == kept
    assert stats.long_lines == len(skipped) and stats.malformed == len(skipped)
    assert [e["line"] for e in stats.malformed_examples] == [n for n, _, _ in skipped[:5]]
    for (_, size, start), example in zip(skipped, stats.malformed_examples):
        assert f"line is {size:,} bytes long" in example["reason"]
        # the line's first bytes (those held when it went over the limit, up to 200)
        text = example["text"].encode()
        assert start.startswith(text) and len(text) >= min(200, max_line + 1)


def _random_input(rng: random.Random, max_line: int) -> bytes:
    sizes = [0, 1, 2, max_line - 1, max_line, max_line + 1, 2 * max_line + 3, 5 * max_line]
    lines = []
    for _ in range(rng.randrange(1, 40)):
        size = rng.choice(sizes) if rng.random() < 0.4 else rng.randrange(0, max_line)
        lines.append(bytes(rng.choice(b"ab {}") for _ in range(max(0, size))))
    data = b"\n".join(lines)
    ending = rng.choice([b"", b"\n", b"\n\n", b"  ", b"\n  "])
    start = b"\xef\xbb\xbf" if rng.random() < 0.2 else b""
    return start + data + ending


@pytest.mark.parametrize("seed", range(40))
def test_blocks_hand_out_every_line_once_and_skip_the_long_ones(seed: int) -> None:
    rng = random.Random(seed)
    max_line = rng.choice([1, 7, 50, 300])
    chunk = rng.choice([1, 8, 64, 1 << 20])
    most = rng.choice([1, 5, 100, 1 << 20])
    _check(_random_input(rng, max_line), max_line, chunk, most)


def test_blocks_of_a_big_input_are_about_the_chunk_size() -> None:
    data = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * (i % 97)) for i in range(40_000))
    found, stats = _blocks(data, 1 << 20, 64 << 10, 1 << 20)
    assert all(len(body) <= 64 << 10 for body, _, _ in found) and len(found) > 20
    assert b"\n".join(body for body, _, _ in found) + b"\n" == data and stats.malformed == 0
    assert [before for _, before, _ in found] == [sum(n for _, _, n in found[:i]) for i in range(len(found))]


def test_a_line_just_over_the_limit_is_skipped_where_it_crosses_a_read() -> None:
    """A line one byte over the limit, starting near the end of a read (the limit is exact, not
    rounded to the reads)."""
    limit = 1000
    data = b"a" * 990 + b"\n" + b"b" * (limit + 1) + b"\n" + b"c" * limit + b"\nd\n"
    found, stats = _blocks(data, limit, limit, 1 << 20)
    assert b"\n".join(body for body, _, _ in found).split(b"\n") == [b"a" * 990, b"c" * limit, b"d"]
    assert [e["line"] for e in stats.malformed_examples] == [2]
    assert [before for _, before, _ in found][-1] + found[-1][2] == 4
