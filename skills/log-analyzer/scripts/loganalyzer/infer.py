"""Format inference: find the timestamp, the level field and the message in a line layout nobody named.

Standard library only; used by parse_logs.py when no built-in format fits the first lines.

A sample of lines votes: each line says where a known timestamp shape starts (after how many
fields) and which fields hold a level word (INFO, warning, ERR, ...) or a single level letter
(V/D/I/W/E/F/A). The layout most lines agree on becomes one regex with named groups
`timestamp`, `level` and `message`; it is checked against the sample before it is trusted, and
the user can pass it back with `--regex`. A level word inside the message never counts: only a
field at the same position in most lines does.
"""

from __future__ import annotations

import re
from collections import Counter
from operator import itemgetter
from typing import Any

from .logformats import Columns, Groups, Record, TextFormats, infer_level
from .timestamps import SHAPES, Shape

LEVEL_WORDS = (
    "TRACE|DEBUG|DBG|VERBOSE|FINEST|FINER|FINE|INFORMATION|INFO|NOTICE|WARNING|WARN|ERROR|ERR|SEVERE|"
    "FATAL|CRITICAL|CRIT|ALERT|EMERGENCY|EMERG|PANIC"
)
_WORDS = frozenset(LEVEL_WORDS.split("|"))
_LETTERS = frozenset("VDIWEFA")
SEP = r"(?:[ \t]*[|;,][ \t]*|[ \t]+)"
FIELD = r"(?:\[(?:[^\[\]\n]|\[[^\]\n]*\])*\]|\([^()\n]*\)|<[^<>\n]*>|[^\s|;,\[(<]+)"
_FIELD = re.compile(FIELD)
_LEVEL_KEY = r"(?:(?:level|lvl|severity|loglevel|log_level)=)?"
_WRAP_OPEN, _WRAP_CLOSE = r"[\[(<\"']?", r"[\])>\"']?:?"
_END = r"(?=[\s|;,]|$)"
_CONTINUATION = re.compile(r"\s|Caused by|\.\.\. \d+ more|[\w.$]+(?:Exception|Error)\b")
_TS_WRAP = re.compile(r"(?:\w+=)?[\[(<\"]?$")
_SAMPLE = 200
_MAX_LEAD_FIELDS = 5  # fields before the timestamp: id, node, component, event (HPC-style) at most


def _core(token: str) -> str:
    """A field as a level would be written in it: `[WARN]`, `level=warn`, `E:` all give the name."""
    core = token.rsplit("=", 1)[-1].strip("[]()<>\"':,")
    return core


class Layout:
    """An inferred line layout: the regex and its description, and how to read its rows fast.

    Args:
        shape: the timestamp shape, or None for lines without one.
        ts_field: 0-based field index of the timestamp (None without one).
        level_field: 0-based field index of the level (None: levels are guessed from messages).
        letters: the level field holds single letters (V/D/I/W/E/F/A) rather than words.
        delimiter: the character between fields when it is not only whitespace.
        tight: a regex for exactly the sample's spelling (no brackets or `key=` around the
            timestamp and level, only the delimiter seen): about twice as fast to match, so it
            is used whenever it reads as many sample lines as the general one.
    """

    def __init__(
        self,
        shape: Shape | None,
        ts_field: int | None,
        level_field: int | None,
        letters: bool,
        delimiter: str,
        tight: bool = False,
    ):
        self.shape, self.ts_field, self.level_field = shape, ts_field, level_field
        self.letters, self.delimiter, self.tight = letters, delimiter, tight
        self.head = self.sep = ""
        self.regex = self._regex()
        self.pattern = re.compile("^(?:" + self.regex[1:] + ")", re.MULTILINE)
        self.groups = sorted(self.pattern.groupindex, key=self.pattern.groupindex.__getitem__)
        self.matched = 0
        self.sampled = 0

    def _regex(self) -> str:
        last = max(i for i in (self.ts_field, self.level_field, -1) if i is not None)
        sep, field = SEP, FIELD
        if self.tight:
            char = re.escape("\t" if self.delimiter == "tab" else self.delimiter)
            sep = rf"(?:[ \t]*{char}[ \t]*|[ \t]+)" if self.delimiter else r"[ \t]+"
            field = FIELD if self.delimiter else r"(?:\[[^\]\n]*\]|\S+)"
        ts_open, ts_close = ("", "") if self.tight else (r"(?:\w+=)?[\[(<\"]?", r"[\])>\"]?")
        level_open, level_close = ("", ":?") if self.tight else (_LEVEL_KEY + _WRAP_OPEN, _WRAP_CLOSE)
        parts = []
        for index in range(last + 1):
            if index == self.ts_field and self.shape is not None:
                parts.append(ts_open + "(?P<timestamp>" + self.shape.pattern + ")" + ts_close)
            elif index == self.level_field:
                levels = "[VDIWEFA]" if self.letters else "(?i:" + LEVEL_WORDS + ")"
                parts.append(level_open + "(?P<level>" + levels + ")" + level_close + _END)
            else:
                parts.append(field)
        self.head, self.sep = "^" + sep.join(parts), sep  # the fields up to the message, and between
        return self.head + "(?:" + sep + "(?P<message>.*))?$"

    def describe(self) -> str:
        """The layout in words, for the report and the model."""
        words = []
        if self.shape is not None and self.ts_field is not None:
            words.append(f"timestamp ({self.shape.name}) in field {self.ts_field + 1}")
        if self.level_field is not None:
            kind = "single letters V/D/I/W/E/F/A" if self.letters else "words such as INFO, WARN, ERROR"
            words.append(f"level ({kind}) in field {self.level_field + 1}")
        else:
            words.append("no level field (levels are guessed from failure words in the message)")
        split = f"'{self.delimiter}' and whitespace" if self.delimiter else "whitespace"
        words.append(f"fields separated by {split}; the message is the rest of the line")
        return ", ".join(words)

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.describe(),
            "regex": self.regex,
            "timestamp": self.shape.name if self.shape else None,
            "timestamp_field": None if self.ts_field is None else self.ts_field + 1,
            "level_field": None if self.level_field is None else self.level_field + 1,
            "level_kind": None if self.level_field is None else "letters" if self.letters else "words",
            "sample_lines_matched": f"{self.matched} of {self.sampled}",
            "delimiter": self.delimiter,
            "tight": self.tight,
        }

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> Layout:
        """The layout `as_dict` described, so that shards of one file are all read with it."""
        names = [shape.name for shape in SHAPES]
        if found.get("timestamp") is not None and found["timestamp"] not in names:
            raise ValueError(f"unknown timestamp shape {found['timestamp']!r}")
        shape = SHAPES[names.index(found["timestamp"])] if found.get("timestamp") else None
        ts = found.get("timestamp_field")
        level = found.get("level_field")
        layout = cls(
            shape,
            None if ts is None else ts - 1,
            None if level is None else level - 1,
            found.get("level_kind") == "letters",
            found.get("delimiter", ""),
            bool(found.get("tight")),
        )
        matched, _, sampled = str(found.get("sample_lines_matched", "0 of 0")).partition(" of ")
        layout.matched, layout.sampled = int(matched or 0), int(sampled or 0)
        return layout


def infer_layout(lines: list[str]) -> Layout | None:
    """The layout most of `lines` share, or None when they share none worth trusting.

    A layout is trusted when its regex matches at least half of the sample lines that are not
    continuation lines (stack traces); the others are counted as malformed when reading.
    """
    sample = [ln for ln in lines if ln.strip() and not _CONTINUATION.match(ln)][:_SAMPLE]
    if not sample:
        return None
    votes: Counter[tuple[int, int]] = Counter()
    found: list[tuple[int, int, list[str]]] = []
    for line in sample:
        located = _locate(line)
        if located is not None:
            votes[located[:2]] += 1
            found.append(located)
    shape_index, ts_field = votes.most_common(1)[0][0] if votes else (-1, -1)
    if votes and votes[(shape_index, ts_field)] * 2 < len(sample):
        shape_index = ts_field = -1
    shape = SHAPES[shape_index] if shape_index >= 0 else None
    fields = [f for s, t, f in found if (s, t) == (shape_index, ts_field)] if shape else []
    if shape is None:
        fields = [[m.group() for m in _FIELD.finditer(line)][:8] for line in sample]
    level_field, letters = _level_field(fields, len(sample), None if shape is None else ts_field)
    if shape is None and level_field is None:
        return None
    delimiter = _delimiter(sample)
    ts = ts_field if shape is not None else None
    tries = [(level_field, letters)] + ([(None, False)] if level_field is not None and shape else [])
    for level, kind in tries:
        tight, loose = (Layout(shape, ts, level, kind, delimiter, tight) for tight in (True, False))
        for candidate in (tight, loose):
            candidate.sampled = len(sample)
            candidate.matched = sum(1 for line in sample if candidate.pattern.match(line))
        best = tight if tight.matched >= loose.matched else loose
        if best.matched * 2 >= len(sample):
            return best
    return None


def _locate(line: str) -> tuple[int, int, list[str]] | None:
    """(shape index, field index, the other fields) of the earliest timestamp in the first fields."""
    head = line[:200]
    best: tuple[int, int, int] | None = None
    for index, shape in enumerate(SHAPES):
        m = shape.search.search(head)
        if m is None or (best is not None and m.start() >= best[0]):
            continue
        before = head[: m.start()]
        if not (m.start() == 0 or (_TS_WRAP.search(before) and (m.start() == len(before)))):
            continue
        wrap = _TS_WRAP.search(before)
        lead = before[: wrap.start()] if wrap else before
        if lead and not lead[-1].isspace() and lead[-1] not in "|;,":
            continue
        best = (m.start(), index, m.end())
    if best is None:
        return None
    start, index, end = best
    lead_text = head[:start]
    wrap = _TS_WRAP.search(lead_text)
    lead_fields = [f.group() for f in _FIELD.finditer(lead_text[: wrap.start()] if wrap else lead_text)]
    if len(lead_fields) > _MAX_LEAD_FIELDS:
        return None
    rest = line[end:].lstrip('])>"')
    rest_fields = [f.group() for f in _FIELD.finditer(rest[:200])][:8]
    return index, len(lead_fields), [*lead_fields, "<ts>", *rest_fields]


def _level_field(fields: list[list[str]], lines: int, ts_field: int | None) -> tuple[int | None, bool]:
    """The field index most lines hold a level in: words in at least half the lines, or single
    letters in at least nine lines out of ten (letters are too common to trust on fewer)."""
    words: Counter[int] = Counter()
    letters: Counter[int] = Counter()
    for row in fields:
        for index, token in enumerate(row):
            if index == ts_field:
                continue
            core = _core(token)
            if core.upper() in _WORDS:
                words[index] += 1
            elif len(core) == 1 and core in _LETTERS and token.strip("[]()<>:") == core:
                letters[index] += 1
    best: tuple[int, int, bool] | None = None  # (-hits, index, letters): most hits, then leftmost
    if words:
        index, hits = min(words.items(), key=lambda kv: (-kv[1], kv[0]))
        if hits * 2 >= lines:
            best = (-hits, index, False)
    if letters:
        index, hits = min(letters.items(), key=lambda kv: (-kv[1], kv[0]))
        if hits * 10 >= lines * 9 and (best is None or (-hits, index) < best[:2]):
            best = (-hits, index, True)
    return (None, False) if best is None else (best[1], best[2])


def _delimiter(sample: list[str]) -> str:
    """The delimiter most lines use between fields, if any (else fields are split by whitespace)."""
    counts = Counter(ch for line in sample for ch in "|;,\t" if ch in line[:120])
    for ch, n in counts.most_common():
        if n * 3 >= len(sample) * 2:
            return "tab" if ch == "\t" else ch
    return ""


class InferredReader:
    """Reads rows of an inferred layout: one record per row, or a whole block as Columns.

    Timestamps of a fixed-width shape repeat their first characters for a whole second, so each
    distinct second is converted (and checked) once and the fraction is appended by slicing: a
    million lines cost about what the log4j fast path costs.
    """

    def __init__(self, layout: Layout, formats: TextFormats):
        self.layout, self.formats, self.clock = layout, formats, formats.clock
        self.slot = {name: layout.groups.index(name) for name in layout.groups}
        self._base: dict[str, str] = {}

    def build(self, groups: Groups) -> Record:
        """One row (the regex's groups, in order) as a normalised record, counting assumptions."""
        return self._record(groups, True)

    def build_quiet(self, groups: Groups) -> Record:
        """The same record, for rows of Columns whose assumptions were counted for the block."""
        return self._record(groups, False)

    def _record(self, groups: Groups, count: bool) -> Record:
        row = groups if isinstance(groups, tuple) else (groups,)
        slot = self.slot
        raw_ts = row[slot["timestamp"]] if "timestamp" in slot else None
        message = row[slot["message"]] if "message" in slot else ""
        timestamp = self._stamp(raw_ts, count) if raw_ts else None
        if "level" in slot:
            return self.formats.record(timestamp, row[slot["level"]], message)
        rec = self.formats.record(timestamp, infer_level(message), message)
        rec["level_inferred"] = True
        self.formats.stats.levels_inferred += 1
        return rec

    def _stamp(self, raw: str, count: bool) -> str | None:
        """ISO 8601 UTC for one raw timestamp (BadTimestamp when it names no real time)."""
        shape = self.layout.shape
        assert shape is not None
        second = shape.second
        tail = raw[second:] if second is not None else ""
        if second is None or "+" in tail or "-" in tail:
            return self.clock.iso(raw) if count else self._quiet_iso(raw)
        base = self._base.get(raw[:second])
        if base is None:
            full = self._quiet_iso(raw)
            if full is None:
                return None
            if len(self._base) > 50_000:
                self._base.clear()
            base = self._base[raw[:second]] = full[:19]
        if count:
            self._count(tail, 1)
        frac = tail[1:4] if tail[:1] in ".,:" else tail[:3] if shape.epoch else ""
        return f"{base}.{frac:0<3}Z"

    def _count(self, tails: str, n: int) -> None:
        """Count the assumptions for `n` timestamps whose parts after the second are `tails`."""
        shape = self.layout.shape
        assert shape is not None
        if shape.zoned:
            self.clock.assumed_utc += n - tails.count("Z") - tails.count("UTC")
        elif not shape.epoch:
            self.clock.assumed_utc += n
        if not shape.year:
            self.clock.assumed_year += n

    def _quiet_iso(self, raw: str) -> str | None:
        saved = self.clock.assumed_utc, self.clock.assumed_year
        try:
            return self.clock.iso(raw)
        finally:
            self.clock.assumed_utc, self.clock.assumed_year = saved

    def columns(self, rows: list[Groups]) -> Columns | None:
        """A block as Columns when its timestamps have a fixed width and no zone offsets and the
        layout has a level field; else None (the caller builds records row by row).
        Raises BadTimestamp when a second of the block names no real time."""
        shape = self.layout.shape
        if shape is None or shape.second is None or "level" not in self.slot or not rows:
            return None
        raws = list(map(itemgetter(self.slot["timestamp"]), rows))
        cut = itemgetter(slice(0, shape.second))
        tails = "".join(map(itemgetter(slice(shape.second, None)), raws))
        if "+" in tails or "-" in tails:
            return None
        seconds = Counter(map(cut, raws))
        iso = {key: self._stamp(raw, False) for key, raw in dict(zip(map(cut, raws), raws)).items()}
        if None in iso.values():
            return None
        self._count(tails, len(rows))
        minutes: Counter[str] = Counter()
        for key, n in seconds.items():
            minutes[(iso[key] or "")[:16]] += n
        if shape.sortable:
            low, high = min(raws), max(raws)
        else:
            low_key = min(iso, key=lambda k: iso[k] or "")
            high_key = max(iso, key=lambda k: iso[k] or "")
            low = min(r for r in raws if cut(r) == low_key)
            high = max(r for r in raws if cut(r) == high_key)
        levels = list(map(itemgetter(self.slot["level"]), rows))
        first, last = self._stamp(low, False), self._stamp(high, False)
        return Columns(rows, self.build_quiet, minutes, levels, self.formats.service, first, last)
