"""Splitting SKILL.md into its YAML frontmatter and body, and parsing the frontmatter fast.

Loading a thousand skills must cost a thousand small reads, so `read_head` reads only as much of a
SKILL.md as it takes to find the closing `---` line, and reports the body's *byte* offset so that
`Skill.body` can read the rest later.

Most frontmatter is a handful of `key: plain text` lines, perhaps with one level of nested
`metadata:`. `parse_yaml` reads those itself when every value is certainly a string in YAML 1.1:
plain text that cannot be a number, boolean, date or null, or a one-line quoted string without
escapes (the test is conservative: anything doubtful, and any flow or block style, does not
qualify). Anything else goes to PyYAML's C loader
when it is built, the pure-Python one otherwise. The property tests hold the fast path to the
same answers as PyYAML. PyYAML itself is imported only when first needed.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

from .._errors import SkillError

__all__ = ["MAX_FRONTMATTER_BYTES", "parse", "parse_yaml", "read_head", "split"]

MAX_FRONTMATTER_BYTES = 1024 * 1024
"""How far into a SKILL.md the closing `---` may be; past it the file is rejected, not read whole."""

_FIRST_READ = 8192
_OPEN = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n")
_CLOSE = re.compile(rb"^---[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_CLOSE_LINE = re.compile(rb"^---[ \t]*\r?\n", re.MULTILINE)
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):[ ]+(\S(?:.*\S)?)[ ]*")
_PARENT = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):[ ]*")
# Plain scalars starting with these are indicators (quoting, flow, block styles...) or might
# resolve to a number, a float such as .inf, a null (~), a merge (<<) or a value (=).
_NOT_PLAIN_START = frozenset("-?:,[]{}#&*!|>'\"%@`+.0123456789~<=")
# Booleans and nulls of YAML 1.1, compared in lower case (so a few strings fall back needlessly).
_NOT_PLAIN_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})


def read_head(path: str | os.PathLike[str]) -> bytes:
    """Read the start of a SKILL.md: enough to hold the whole frontmatter, not the whole body.

    The result is the whole file or a head ending with the closing `---` line (or, for a file
    without one, its first `MAX_FRONTMATTER_BYTES`, which `split` rejects). Opening is non-blocking and
    anything but a regular file is refused, so a FIFO or a device named SKILL.md cannot hang
    the loader.

    Raises:
        SkillError: the file cannot be read or is not a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and os.path.islink(path):
            target = os.readlink(path)
            raise SkillError(
                f"{os.fspath(path)!r} is a symlink to {target!r}, which does not exist"
            ) from None
        raise SkillError(f"cannot read {os.fspath(path)!r}: {_os_reason(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SkillError(f"{os.fspath(path)!r} is not a regular file")
        data = os.read(fd, _FIRST_READ)
        while len(data) <= MAX_FRONTMATTER_BYTES and _needs_more(data):
            chunk = os.read(fd, len(data))
            if not chunk:
                break
            data += chunk
        return data
    except OSError as exc:
        raise SkillError(f"cannot read {os.fspath(path)!r}: {_os_reason(exc)}") from exc
    finally:
        os.close(fd)


def _needs_more(data: bytes) -> bool:
    """True while `data` opens a frontmatter whose closing line has not been read yet."""
    opening = _OPEN.match(data)
    return opening is not None and _CLOSE_LINE.search(data, opening.end()) is None


def _os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def split(data: bytes) -> tuple[str, int]:
    """Split SKILL.md bytes into the frontmatter text and the byte offset where the body starts.

    Raises:
        SkillError: no opening `---` line, no closing one within `MAX_FRONTMATTER_BYTES`, or the
            frontmatter is not UTF-8.
    """
    opening = _OPEN.match(data)
    if opening is None:
        raise SkillError("SKILL.md does not start with YAML frontmatter: its first line must be '---'")
    closing = _CLOSE.search(data, opening.end(), opening.end() + MAX_FRONTMATTER_BYTES)
    if closing is None:
        raise SkillError(
            f"SKILL.md frontmatter has no closing '---' line within the first {MAX_FRONTMATTER_BYTES:,} bytes"
        )
    raw = data[opening.end() : closing.start()]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkillError(
            f"SKILL.md frontmatter is not valid UTF-8 (byte 0x{raw[exc.start]:02x}"
            f" at offset {opening.end() + exc.start})"
        ) from None
    return text, closing.end()


def parse(data: bytes) -> tuple[dict[str, Any], int]:
    """Parse SKILL.md bytes (or just their head) into the frontmatter mapping and the body offset."""
    text, offset = split(data)
    return parse_yaml(text), offset


def parse_yaml(text: str) -> dict[str, Any]:
    """Parse frontmatter text into a mapping; only `SkillError` escapes, whatever the text.

    Raises:
        SkillError: the YAML is malformed or is not a mapping.
    """
    simple = _parse_simple(text)
    if simple is not None:
        return simple
    value = _load_yaml(text)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SkillError(
            "SKILL.md frontmatter must be a mapping of keys to values,"
            f" not {_kind(value)}; write it as 'name: ...' lines"
        )
    return value


def _load_yaml(text: str) -> Any:
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise SkillError(f"SKILL.md frontmatter is not valid YAML: {problem}{where}") from None
    except Exception as exc:  # PyYAML also raises ValueError (bad dates), RecursionError, ...
        raise SkillError(f"SKILL.md frontmatter is not valid YAML: {exc}") from None


def _parse_simple(text: str) -> dict[str, Any] | None:
    """Plain `key: text` lines (and one level of nested maps) without PyYAML, else None."""
    if "\r" in text or "\t" in text:
        return None
    result: dict[str, Any] = {}
    parent: dict[str, str] | None = None
    indent = ""
    for line in text.split("\n"):
        if not line:
            continue
        if line[0] == " ":  # a child of the last `key:` line, indented like its siblings
            indent = indent or line[: len(line) - len(line.lstrip(" "))]
            child = line[len(indent) :] if line.startswith(indent) else ""
            pair = _pair(child) if parent is not None and child[:1] not in ("", " ") else None
            if parent is None or pair is None:
                return None
            parent[pair[0]] = pair[1]
            continue
        if parent is not None and not parent:
            return None  # `key:` without children is a null
        parent, indent = None, ""
        opener = _PARENT.fullmatch(line)
        if opener is not None:
            if not _plain(opener.group(1)):
                return None
            parent = result[opener.group(1)] = {}
            continue
        pair = _pair(line)
        if pair is None:
            return None
        result[pair[0]] = pair[1]
    return None if parent is not None and not parent else result


def _pair(line: str) -> tuple[str, str] | None:
    match = _PAIR.fullmatch(line)
    if match is None:
        return None
    key, value = match.groups()
    text = _quoted(value) if value[0] in "'\"" else value if _plain_value(value) else None
    if text is None or not _plain(key):
        return None
    return key, text


def _quoted(value: str) -> str | None:
    """A one-line quoted scalar without escapes, or None when it needs the real parser."""
    quote, inner = value[0], value[1:-1]
    if len(value) < 2 or value[-1] != quote or not inner.isprintable():
        return None
    if quote == "'":
        return inner.replace("''", "'") if "'" not in inner.replace("''", "") else None
    return inner if '"' not in inner and "\\" not in inner else None


def _plain_value(value: str) -> bool:
    return _plain(value) and ": " not in value and " #" not in value and not value.endswith(":")


def _plain(scalar: str) -> bool:
    """True only when YAML 1.1 certainly reads this unquoted scalar as a string."""
    return (
        scalar[0] not in _NOT_PLAIN_START and scalar.lower() not in _NOT_PLAIN_WORDS and scalar.isprintable()
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a plain string"
    return f"a {type(value).__name__}"
