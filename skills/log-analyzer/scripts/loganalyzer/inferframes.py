"""The polars engine for inferred line layouts (see textframes.py for how blocks are handed over).

A layout qualifies when the standard path would read its blocks as Columns (a level field and a
fixed-width timestamp that sorts in time order) and its regex has no lookaround polars' engine
lacks, once the level's lookahead, which the separator after it always satisfies, is dropped.
polars reads only blocks of printable ASCII (and tabs): there `\\d`, `\\w` and `\\s`, and letters
in any case, mean the same to both regex engines, so both find the same fields. The time and
level come from the layout's fields up to the message; the message only for WARN-and-worse rows.
Each distinct second is turned into ISO 8601 once, by a clock of this engine's own (the reader's
counts what it assumed), exactly as `InferredReader` does.
"""

from __future__ import annotations

from typing import Any

from .infer import _END, InferredReader
from .textframes import Counted, Frame, _polars, notable
from .timestamps import BadTimestamp, Clock

_PRINTABLE = b"\t\n" + bytes(range(0x20, 0x7F))
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")
_MAX_SECONDS = 50_000


def engine(reader: InferredReader, year: int) -> Inferred | None:
    """The engine for the reader's layout, or None when polars cannot read it as the standard
    path does."""
    layout, shape = reader.layout, reader.layout.shape
    if shape is None or shape.second is None or not shape.sortable or "level" not in reader.slot:
        return None
    if "timestamp" not in reader.slot or "message" not in reader.slot:
        return None
    # the fields up to the message and the separator after them: the rest of the line is the message
    head = "^(?P<head>" + layout.head.replace(_END, "")[1:] + "(?:" + layout.sep + "|$))"
    full = layout.regex.replace(_END, "")
    if any(mark in text for mark in _LOOKAROUND for text in (head, full)):
        return None
    pl = _polars()
    try:
        pl.select(a=pl.lit("").str.contains(head), b=pl.lit("").str.contains(full))
    except pl.exceptions.PolarsError:
        return None
    return Inferred(reader, year, head)


class Inferred:
    """Counts blocks of one inferred layout (made by `engine`)."""

    def __init__(self, reader: InferredReader, year: int, head: str):
        shape = reader.layout.shape
        assert shape is not None and shape.second is not None
        self.reader, self.shape, self.second = reader, shape, shape.second
        self.head = head
        self.clock = Clock(year)  # used by the polars thread only
        self.bases: dict[str, str | None] = {}  # a second (the raw time's first characters) -> ISO

    @staticmethod
    def doubtful(body: bytes) -> bool:
        """Anything but printable ASCII and tabs (CR, NUL, UTF-8) is left to the standard path."""
        return bool(body.translate(None, _PRINTABLE))

    def tail_row(self, line: str) -> tuple[Any, ...] | None:
        """The tail line's groups as `findall` gives them ("" for a group left out)."""
        m = self.reader.layout.pattern.match(line)
        return None if m is None else tuple("" if g is None else g for g in m.groups())

    def tail_record(self, row: tuple[Any, ...]) -> dict[str, Any]:
        return self.reader.build_quiet(row)

    def counted(self, found: Frame) -> list[Counted | None]:
        pl = _polars()
        fields = pl.col("line").str.extract_groups(self.head)
        found.frame = found.frame.with_columns(
            ts=fields.struct.field("timestamp"),
            lvl=fields.struct.field("level"),
            cut=fields.struct.field("head").str.len_bytes(),
        )
        if not found.keep(pl.col("ts").is_not_null()):
            return found.found
        ts = pl.col("ts")
        tail = ts.str.slice(self.second)
        if self.shape.zoned:  # zone offsets: the standard path makes records of those blocks one by one
            found.drop(found.frame.filter(tail.str.contains(r"[+-]"))["blk"].to_list())
        key = ts.str.slice(0, self.second).alias("key")
        seconds = found.frame.group_by("blk", key).agg(pl.len(), ts.first()).rows()
        bases = {second: self._known(second, raw) for _, second, _, raw in seconds}
        bad = [second for second, base in bases.items() if base is None]
        if bad:
            found.drop(found.frame.filter(key.is_in(bad))["blk"].to_list())
        if not found.frame.height:
            return found.found
        self._counts(found, seconds, bases)
        raws = notable(found.frame["lvl"].unique().to_list())
        if raws:
            rows = found.frame.filter(pl.col("lvl").is_in(raws) & ~pl.col("last"))
            message = pl.col("line").str.slice(pl.col("cut"))  # ASCII: bytes are characters
            found.notes(rows.select("blk", "lvl", message=message, iso=self._iso(rows, key, tail, bases)))
        return found.found

    def _known(self, second: str, raw: str) -> str | None:
        """The ISO second of a raw time's second, worked out once (threads may share the table:
        what one adds is what any would)."""
        base = self.bases.get(second, "")
        if base == "":
            if len(self.bases) > _MAX_SECONDS:
                self.bases.clear()
            base = self.bases[second] = self._base(raw)
        return base

    def _counts(
        self, found: Frame, seconds: list[tuple[int, str, int, str]], bases: dict[str, str | None]
    ) -> None:
        pl = _polars()
        frame, shape = found.frame, self.shape
        for index, raw, n in frame.group_by("blk", "lvl").len().iter_rows():
            found.at(index).levels[raw] = n
        for index, second, n, _ in seconds:
            counted = found.found[index]
            if counted is not None:
                minute = (bases[second] or "")[:16]
                counted.minutes[minute] = counted.minutes.get(minute, 0) + n
        ts = pl.col("ts")
        spans = frame.group_by("blk").agg(ts.min().alias("low"), ts.max().alias("high"))
        zones: dict[int, int] = {}
        if shape.zoned:
            tail = ts.str.slice(self.second)
            zone = tail.str.count_matches("Z", literal=True) + tail.str.count_matches("UTC", literal=True)
            zones = dict(frame.group_by("blk").agg(zone.sum()).iter_rows())
        for index, low, high in spans.iter_rows():
            counted = found.at(index)
            counted.first, counted.last = self._stamp(low, bases), self._stamp(high, bases)
            n = counted.lines
            if shape.zoned:
                counted.assumed_utc = n - zones[index]
            elif not shape.epoch:
                counted.assumed_utc = n
            counted.assumed_year = 0 if shape.year else n
        for index, raw_ts, raw in frame.filter("last").select("blk", "ts", "lvl").iter_rows():
            found.at(index).tail_out(raw, self._stamp(raw_ts, bases)[:16])

    def _base(self, raw: str) -> str | None:
        """`yyyy-MM-ddTHH:mm:ss` of a raw time, or None when the standard path would not make
        Columns of it (a time it cannot read, or one that names no real moment)."""
        try:
            full = self.clock.iso(raw)
        except BadTimestamp:
            return None
        return None if full is None else full[:19]

    def _frac(self, tail: str) -> str:
        frac = tail[1:4] if tail[:1] in ".,:" else tail[:3] if self.shape.epoch else ""
        return f"{frac:0<3}"

    def _stamp(self, raw: str, bases: dict[str, str | None]) -> str:
        """ISO 8601 of a raw time whose second has a base, as `InferredReader` writes it."""
        return f"{bases[raw[: self.second]]}.{self._frac(raw[self.second :])}Z"

    def _iso(self, rows: Any, key: Any, tail: Any, bases: dict[str, str | None]) -> Any:
        """The expression `_stamp` is, for the rows' raw times."""
        pl = _polars()
        lead = tail.str.slice(0, 1)
        other = tail.str.slice(0, 3) if self.shape.epoch else pl.lit("")
        frac = pl.when(lead.is_in([".", ",", ":"])).then(tail.str.slice(1, 3)).otherwise(other)
        seconds = rows.select(key.unique())["key"].to_list()
        base = key.replace_strict({second: bases[second] for second in seconds})
        return pl.concat_str(base, pl.lit("."), frac.str.pad_end(3, "0"), pl.lit("Z"))
