"""Splitting SKILL.md into its YAML frontmatter and body, and parsing the frontmatter fast.

Loading a thousand skills must cost a thousand small reads, so `read_head` reads only as much of a
SKILL.md as it takes to find the closing `---` line, and reports the body's *byte* offset so that
`Skill.body` can read the rest later.

Most frontmatter is a handful of `key: plain text` lines. `parse_yaml` handles those without
PyYAML when every line is provably a plain string scalar (the same answer `yaml.safe_load` would
give; the property tests hold it to that) and hands anything else to PyYAML's C loader when it is
built, the pure-Python one otherwise.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any

import yaml

from ..errors import SkillError

__all__ = ["MAX_FRONTMATTER_BYTES", "parse", "parse_yaml", "read_head", "split"]

MAX_FRONTMATTER_BYTES = 1024 * 1024
"""How far into a SKILL.md the closing `---` may be; past it the file is rejected, not read whole."""

_FIRST_READ = 8192
_BOM = b"\xef\xbb\xbf"
_OPEN = re.compile(rb"\A(?:\xef\xbb\xbf)?---[ \t]*\r?\n")
_CLOSE = re.compile(rb"^---[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_CLOSE_LINE = re.compile(rb"^---[ \t]*\r?\n", re.MULTILINE)
_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):[ ]+(\S(?:.*\S)?)[ ]*")
# A plain scalar may not start with an indicator; quoting, flow and block styles go to PyYAML.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_STR_TAG = "tag:yaml.org,2002:str"

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_resolver = yaml.resolver.Resolver()


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
    try:
        value = yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "malformed YAML"
        raise SkillError(f"SKILL.md frontmatter is not valid YAML: {problem}{where}") from None
    except Exception as exc:  # PyYAML also raises ValueError (bad dates), RecursionError, ...
        raise SkillError(f"SKILL.md frontmatter is not valid YAML: {exc}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SkillError(
            "SKILL.md frontmatter must be a mapping of keys to values,"
            f" not {_kind(value)}; write it as 'name: ...' lines"
        )
    return value


def _parse_simple(text: str) -> dict[str, Any] | None:
    """`key: plain text` lines without PyYAML, or None when any line needs a real YAML parser."""
    if "\r" in text or "\t" in text:
        return None
    result: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line:
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        key, value = match.groups()
        if (
            value[0] in _INDICATORS
            or ": " in value
            or " #" in value
            or value.endswith(":")
            or not value.isprintable()
            or not _is_plain_str(value)
            or not _is_plain_str(key)
        ):
            return None
        result[key] = value
    return result


def _is_plain_str(scalar: str) -> bool:
    """Whether YAML reads this unquoted scalar as a string (not a bool, number, date or null)."""
    tag: str = _resolver.resolve(yaml.ScalarNode, scalar, (True, False))  # type: ignore[no-untyped-call]
    return tag == _STR_TAG


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a plain string"
    return f"a {type(value).__name__}"
