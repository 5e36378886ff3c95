"""Log line formats, timestamps and level names: the pieces parse_logs.py and analyze.py share.

Standard library only (Python >= 3.9), so it runs in a bare python3 and in a sandbox container.
Every text format is one regex plus a small function that turns its groups into a record.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import compress
from operator import itemgetter
from typing import Any

from .readstats import ParseStats

Record = dict[str, Any]
Groups = tuple[Any, ...]
Builder = Callable[[Groups], Record]
BlockBuilder = Callable[[list[Groups]], list[Record]]
Layout = tuple["re.Pattern[str]", Builder, BlockBuilder, "Callable[[list[Groups]], Columns] | None"]
LineParser = Callable[[str], "Record | None"]

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL", "UNKNOWN")
ERRORISH = frozenset({"ERROR", "FATAL"})

_LEVEL_NAMES = {
    **dict.fromkeys(("TRACE", "FINEST", "FINER", "FINE", "VERBOSE", "DEBUG", "DBG", "D", "V"), "DEBUG"),
    **dict.fromkeys(("INFO", "INFORMATION", "INFORMATIONAL", "NOTICE", "I", "CONFIG", "LOG"), "INFO"),
    **dict.fromkeys(("WARN", "WARNING", "W"), "WARN"),
    **dict.fromkeys(("ERROR", "ERR", "E", "SEVERE", "FAIL", "FAILURE"), "ERROR"),
    **dict.fromkeys(
        ("FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "EMERGENCY", "PANIC", "F", "C", "A"), "FATAL"
    ),
}
_SYSLOG_SEVERITY = ("FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")
_BUNYAN = {10: "DEBUG", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
_INFER = re.compile(
    r"\b(fatal|panic|emergency|critical)\b|\b(error|errors|fail|failed|failure|exception|refused|denied|timeout|timed out)\b|\b(warn|warning)\b",
    re.IGNORECASE,
)


def canonical_level(raw: Any) -> tuple[str, bool]:
    """Map a level name or number to DEBUG/INFO/WARN/ERROR/FATAL; (level, known?).

    Unknown names become UNKNOWN (the caller keeps the original). Numbers are syslog severities
    (0-7) or bunyan/pino levels (10-60).
    """
    if isinstance(raw, bool) or raw is None:
        return "UNKNOWN", False
    if isinstance(raw, (int, float)):
        if isinstance(raw, float) and not math.isfinite(raw):  # NaN and infinities name no level
            return "UNKNOWN", False
        number = int(raw)
        if 0 <= number <= 7:
            return _SYSLOG_SEVERITY[number], True
        level = _BUNYAN.get(number)
        return (level, True) if level else ("UNKNOWN", False)
    text = str(raw).strip().upper()
    if ":" in text:  # apache 2.4 writes "core:error"
        text = text.rsplit(":", 1)[1]
    if text.startswith("TRACE") and text[5:].isdigit():  # apache trace1..trace8
        return "DEBUG", True
    level = _LEVEL_NAMES.get(text)
    if level is not None:
        return level, True
    if text.isdecimal():  # ("²".isdigit(), but int() refuses it)
        return canonical_level(int(text))
    return "UNKNOWN", False


def infer_level(message: str) -> str:
    """Guess a level from the words of a message, for formats that carry none (plain syslog)."""
    m = _INFER.search(message)
    if m is None:
        return "INFO"
    return "FATAL" if m.group(1) else "ERROR" if m.group(2) else "WARN"


# --- text formats ---------------------------------------------------------------------------------

_LEVEL_WORD = r"TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|SEVERE|FATAL|CRITICAL"
_TEXT_SOURCES = {
    "log4j": (
        r"(\d{4}-\d\d-\d\d[T ][\d:.,]{8,}(?:Z|[+-]\d\d:?\d\d)?) +(?:- +)?(?:\[([^\]]*)\] +)?("
        + _LEVEL_WORD
        + r") +"
        r"(?:\[([^\[\]]*(?:\[[^\]]*\][^\[\]]*)*)\] +)?(?:- +)?(?:([\w.$]+(?:@\d+)?)(?:: | +- ))?(.*)$"
    ),
    "log4j-short": (r"(\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) +(" + _LEVEL_WORD + r") +(?:([\w.$-]+): )?(.*)$"),
    "apache-error": (
        r"\[([A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] \[(?:[\w-]+:)?(\w+)\]"
        r"(?: \[pid (\d+)[^\]]*\])?(?: \[client ([^\]]+)\])? ?(.*)$"
    ),
    "nginx-error": (r"(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] (\d+)#\d+: (?:\*\d+ )?(.*)$"),
    "access": (r'(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-)(?: "([^"]*)" "([^"]*)")?'),
    "syslog5424": (r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$"),
    "syslog": (
        r"(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+) (\S+) "
        r"([^:\[\s][^:\[]*?)(?:\[(\d+)\])?: ?(.*)$"
    ),
}


class _Compiled(Mapping[str, "re.Pattern[str]"]):  # (a string: Python 3.9 reads the bases)
    """Regexes by name, each compiled the first time it is looked up: a JSON input needs none of
    the text formats' (compiling them all cost every run ~4 ms)."""

    def __init__(self, sources: dict[str, str]):
        self._sources = sources
        self._compiled: dict[str, re.Pattern[str]] = {}

    def __getitem__(self, name: str) -> re.Pattern[str]:
        found = self._compiled.get(name)
        if found is None:
            found = self._compiled[name] = re.compile(self._sources[name])
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


TEXT_PATTERNS: Mapping[str, re.Pattern[str]] = _Compiled(_TEXT_SOURCES)
"""The built-in text formats' line regexes by format name (compiled on first use)."""


# The layout of the example (Zookeeper's log4j pattern), matched by a cheaper regex first.
_ZOOKEEPER = re.compile(
    # the thread may hold one level of [brackets]: "[QuorumPeer[myid=1]/0.0.0.0:2181:Election@774]"
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d{3}) - ([A-Z]+) +\[([^\[\]\n]*(?:\[[^\]\n]*\][^\[\]\n]*)*)\] - (.*)",
    re.MULTILINE,
)
_FIRST = itemgetter(0)
_SECOND = itemgetter(1)
_SECONDS = itemgetter(slice(0, 19))
_MINUTE = itemgetter(slice(0, 16))
_CANONICAL = frozenset(("DEBUG", "INFO", "WARN", "ERROR", "FATAL"))


def _each(build: Builder) -> BlockBuilder:
    return lambda rows: list(map(build, rows))


class Columns:
    """A block of text rows kept as columns for analyze.py, so that no line needs a dict.

    Only the rows the analysis asks for (WARN and worse) become records, through `records`.
    `minutes` counts the rows per ISO minute (`2026-03-14T09:00`); `first`/`last` are the block's
    earliest and latest ISO timestamps.
    """

    def __init__(
        self,
        rows: list[Groups],
        build: Builder,
        minutes: Counter[str],
        levels: list[Any],
        service: str,
        first: str | None,
        last: str | None,
    ):
        self.rows, self.build, self.minutes, self.levels = rows, build, minutes, levels
        self.service, self.first, self.last = service, first, last

    def __len__(self) -> int:
        return len(self.rows)

    def records(self, picks: Iterable[Any]) -> list[Record]:
        return list(map(self.build, compress(self.rows, picks)))

    def pop(self) -> Record:
        """Take the last row off, as a record (the reader holds it back for continuation lines)."""
        self.levels.pop()
        rec = self.build(self.rows.pop())
        minute = (rec["timestamp"] or "")[:16]
        self.minutes[minute] -= 1
        if self.minutes[minute] <= 0:
            del self.minutes[minute]
        return rec


class TextFormats:
    """Line parsers for the text formats; one instance per input (it owns the Clock)."""

    def __init__(self, stats: ParseStats, service: str, host: str):
        self.stats = stats
        self.clock = stats.clock
        self.service = service
        self.host = host
        self.unknown_levels = stats.unknown_levels
        self._fast: dict[str, str] = {}
        self._levels: dict[Any, tuple[str, str | None, bool]] = {}

    def parser(self, name: str) -> LineParser:
        """The function that turns one line of format `name` into a record (None: no match)."""
        layouts = self.layouts(name)

        def parse(line: str) -> Record | None:
            for pattern, build, *_ in layouts:
                m = pattern.match(line)
                if m is not None:
                    return build(m.groups())
            return None

        return parse

    def layouts(self, name: str) -> list[Layout]:
        """The format's line patterns, fastest first, each anchored per line with re.MULTILINE so
        it also works with `findall` over a block of lines; with a record builder for one row of
        groups, one for a whole block of rows, and (for the hottest layout) one for Columns."""
        build: Builder = getattr(self, "_" + name.replace("-", "_"))
        pattern = re.compile("^(?:" + TEXT_PATTERNS[name].pattern + ")", re.MULTILINE)
        found: list[Layout] = [(pattern, build, _each(build), None)]
        if name == "log4j":
            found.insert(0, (_ZOOKEEPER, self._zookeeper, self._zookeeper_block, self._zookeeper_columns))
        return found

    def level(self, raw: Any) -> tuple[str, str | None]:
        """(canonical level, the original name when it differs); counts unknown names."""
        try:
            level, original, known = self._levels[raw]
        except (KeyError, TypeError):
            level, known = canonical_level(raw)
            original = None if known and str(raw).upper() == level else str(raw)
            if isinstance(raw, (str, int)) and len(self._levels) < 1000:
                self._levels[raw] = (level, original, known)
        if not known:
            self.unknown_levels[str(raw)] = self.unknown_levels.get(str(raw), 0) + 1
        return level, original

    def record(self, ts: str | None, raw_level: Any, message: str, **extra: Any) -> Record:
        """A normalised record; the original level name is kept when it was not canonical."""
        level, original = self.level(raw_level)
        rec: Record = {
            "timestamp": ts,
            "level": level,
            "service": self.service,
            "host": self.host,
            "message": message,
        }
        if original is not None:
            rec["level_original"] = original
        for key, value in extra.items():
            if value is not None and value != "":
                rec[key] = value
        return rec

    def _ts_log4j(self, ts: str) -> str | None:
        """log4j times repeat their first 19 characters for a whole second: cache on them."""
        if len(ts) in (19, 23) and (len(ts) == 19 or ts[19] in ",."):
            base = self._fast.get(ts[:19])
            if base is None:
                base = (self.clock.iso(ts[:19]) or "")[:19]
                if len(self._fast) > 50_000:
                    self._fast.clear()
                self._fast[ts[:19]] = base
            else:
                self.clock.assumed_utc += 1
            return f"{base}.{ts[20:23] or '000'}Z" if base else None
        return self.clock.iso(ts)

    def _log4j(self, g: Groups) -> Record:
        """Built by hand rather than through `record`: this runs once per line of big files."""
        ts, thread1, raw_level, thread, logger, message = g
        level, original = self.level(raw_level)
        rec: Record = {
            "timestamp": self._ts_log4j(ts),
            "level": level,
            "service": self.service,
            "host": self.host,
            "message": message,
        }
        if original is not None:
            rec["level_original"] = original
        if thread or thread1:
            rec["thread"] = thread or thread1
        if logger:
            rec["logger"] = logger
        return rec

    def _zookeeper(self, g: Groups) -> Record:
        """The common `date time,ms - LEVEL [thread] - message` layout."""
        self.clock.check({g[0][:19]})
        self.clock.assumed_utc += 1
        return self._zk_record(g)

    def zookeeper_row(self, line: str) -> Groups | None:
        """The groups of one line of the common log4j layout (None when it is not one)."""
        m = _ZOOKEEPER.match(line)
        return None if m is None else m.groups()

    def zookeeper_record(self, g: Groups) -> Record:
        """A record from the groups of one common-layout log4j line (its time checked already)."""
        return self._zk_record(g)

    def _zk_record(self, g: Groups) -> Record:
        ts, raw_level, thread, message = g
        level, original = self.level(raw_level)
        rec: Record = {
            "timestamp": f"{ts[:10]}T{ts[11:19]}.{ts[20:23]}Z",
            "level": level,
            "service": self.service,
            "host": self.host,
            "message": message,
            "thread": thread,
        }
        if original is not None:
            rec["level_original"] = original
        return rec

    def _zookeeper_columns(self, rows: list[Groups]) -> Columns:
        """Zookeeper-layout rows as columns: the raw times sort and cut into minutes like ISO ones."""
        stamps = list(map(_FIRST, rows))
        self.clock.check(set(map(_SECONDS, stamps)))  # BadTimestamp: the caller reads line by line
        self.clock.assumed_utc += len(rows)
        first, last = self._zk_record(min(rows))["timestamp"], self._zk_record(max(rows))["timestamp"]
        minutes = Counter({f"{k[:10]}T{k[11:]}": n for k, n in Counter(map(_MINUTE, stamps)).items()})
        return Columns(rows, self._zk_record, minutes, list(map(_SECOND, rows)), self.service, first, last)

    def _zookeeper_block(self, rows: list[Groups]) -> list[Record]:
        """A block of Zookeeper-layout rows with canonical level names: no per-row calls at all.
        The regex guarantees `yyyy-mm-dd hh:mm:ss,SSS`, so the time is rewritten by slicing."""
        if not set(map(_SECOND, rows)) <= _CANONICAL:
            return list(map(self._zookeeper, rows))
        self.clock.check({row[0][:19] for row in rows})
        service, host = self.service, self.host
        self.clock.assumed_utc += len(rows)
        return [
            {
                "timestamp": f"{ts[:10]}T{ts[11:19]}.{ts[20:23]}Z",
                "level": level,
                "service": service,
                "host": host,
                "message": message,
                "thread": thread,
            }
            for ts, level, thread, message in rows
        ]

    def _log4j_short(self, g: Groups) -> Record:
        ts, level, logger, message = g
        return self.record(self.clock.iso(ts), level, message, logger=logger)

    def _apache_error(self, g: Groups) -> Record:
        ts, level, pid, client, message = g
        return self.record(self.clock.iso(ts), level, message, pid=pid, client=client)

    def _nginx_error(self, g: Groups) -> Record:
        ts, level, pid, message = g
        return self.record(self.clock.iso(ts), level, message, pid=pid)

    def _access(self, g: Groups) -> Record:
        client, user, ts, request, status, size, _referer, agent = g
        code = int(status)
        level = "ERROR" if code >= 500 else "WARN" if code >= 400 else "INFO"
        parts = request.split()
        method, path = (parts[0], parts[1]) if len(parts) >= 2 else (None, None)
        return self.record(
            self.clock.iso(ts),
            level,
            f"{request} {status}",
            status=code,
            method=method,
            path=path,
            client_ip=client,
            user=None if user == "-" else user,
            bytes=None if size == "-" else int(size),
            user_agent=agent,
        )

    def _syslog_record(
        self, pri: str | None, ts: str | None, host: str, app: str, message: str, **extra: Any
    ) -> Record:
        if pri:  # "" when findall left the optional group out
            rec = self.record(ts, _SYSLOG_SEVERITY[int(pri) % 8], message, facility=int(pri) // 8, **extra)
            rec.pop("level_original", None)
        else:
            rec = self.record(ts, infer_level(message), message, level_inferred=True, **extra)
            self.stats.levels_inferred += 1
        rec["host"], rec["service"] = host, app
        return rec

    def _syslog(self, g: Groups) -> Record:
        pri, ts, host, tag, pid, message = g
        return self._syslog_record(pri, self.clock.iso(ts), host, tag, message, pid=pid)

    def _syslog5424(self, g: Groups) -> Record:
        pri, ts, host, app, procid, msgid, sd, message = g
        text = (message or "").lstrip("\ufeff")
        nil = {"-": None}
        return self._syslog_record(
            pri,
            None if ts == "-" else self.clock.iso(ts),
            host,
            app,
            text,
            pid=nil.get(procid, procid),
            msgid=nil.get(msgid, msgid),
            structured_data=nil.get(sd, sd),
        )


def regex_parser(pattern: str, formats: TextFormats) -> LineParser:
    """A parser for a user regex with named groups: timestamp/ts/time, level/severity, message/msg,
    service/app, host; any other named group is kept as a field."""
    compiled = re.compile(pattern)
    aliases = {
        "ts": "timestamp",
        "time": "timestamp",
        "severity": "level",
        "msg": "message",
        "app": "service",
    }

    def parse(line: str) -> Record | None:
        m = compiled.search(line)
        if m is None:
            return None
        fields = {aliases.get(k, k): v for k, v in m.groupdict().items() if v is not None}
        message = fields.pop("message", line)
        raw_level = fields.pop("level", None)
        level = raw_level if raw_level is not None else infer_level(message)
        ts = formats.clock.iso(fields.pop("timestamp")) if "timestamp" in fields else None
        rec = formats.record(ts, level, message, **fields)
        if raw_level is None:
            rec["level_inferred"] = True
            formats.stats.levels_inferred += 1
        return rec

    return parse
