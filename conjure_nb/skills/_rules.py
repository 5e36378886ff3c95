"""The frontmatter rules of the Agent Skills spec and the hosted API, as two profiles.

Every rule is checked in both profiles; the profile decides what a broken rule costs:

- *fatal* problems (unparseable YAML, a missing or non-string name/description) are errors in
  both profiles: the loader cannot make a skill without them;
- *rule* problems (limits, the name charset, unknown keys, XML tags, reserved words, dir == name)
  are errors in the strict profile and warnings in the lenient one, because real-world skills
  break the letter of the spec and still work;
- *advice* (a long body) is a warning in both.

The loader and `validate` share these checks so that what loads and what validates never drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SPEC_KEYS", "Findings", "check_fields", "skill_fields", "unsafe_name_problem"]

SPEC_KEYS = ("name", "description", "license", "compatibility", "metadata", "allowed-tools")
MAX_NAME = 64
MAX_DESCRIPTION = 1024
MAX_COMPATIBILITY = 500
RESERVED_WORDS = ("anthropic", "claude")

_NAME_OK = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_BAD_NAME_CHAR = re.compile(r"[^a-z0-9-]")


@dataclass
class Findings:
    """Problems found in one skill, already sorted into errors and warnings by the profile."""

    label: str
    strict: bool
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fatal(self, problem: str) -> None:
        self.errors.append(f"skill {self.label!r}: {problem}")

    def rule(self, problem: str) -> None:
        (self.errors if self.strict else self.warnings).append(f"skill {self.label!r}: {problem}")

    def advice(self, problem: str) -> None:
        self.warnings.append(f"skill {self.label!r}: {problem}")


def check_fields(meta: dict[Any, Any], dir_name: str | None, *, strict: bool) -> Findings:
    """Check a parsed frontmatter mapping against the spec (and, when strict, the hosted API)."""
    name = meta.get("name")
    label = name if isinstance(name, str) and name.strip() else (dir_name or "?")
    found = Findings(label=label, strict=strict)
    if _required_string(found, meta, "name", "add 'name: <folder-name>'") and _safe_segment(
        found, meta["name"]
    ):
        _check_name(found, meta["name"], dir_name)
    if _required_string(found, meta, "description", "say what the skill does and when to use it"):
        _check_description(found, meta["description"])
    _check_optional(found, meta)
    unknown = [k for k in meta if k not in SPEC_KEYS]
    if unknown:
        keys = ", ".join(repr(k) for k in unknown)
        found.rule(
            f"unknown frontmatter key{'s' if len(unknown) > 1 else ''} {keys};"
            f" the spec allows {', '.join(SPEC_KEYS)}"
        )
    return found


def _required_string(found: Findings, meta: dict[Any, Any], key: str, fix: str) -> bool:
    value = meta.get(key)
    if key not in meta or value is None:
        found.fatal(f"{key} is missing from the frontmatter; {fix}")
    elif not isinstance(value, str):
        found.fatal(f"{key} must be a string, not {_kind(value)} (quote it)")
    elif not value.strip():
        found.fatal(f"{key} is empty; {fix}")
    else:
        return True
    return False


def _safe_segment(found: Findings, name: str) -> bool:
    """A name becomes a path (`/mnt/skills/<name>`, a folder on upload): it must be one segment.

    Fatal in both profiles, unlike the other name rules, because a name such as `../../etc`
    would otherwise steer a mount or an upload outside its folder.
    """
    problem = unsafe_name_problem(name)
    if problem is None:
        return True
    found.fatal(f"name {name!r} {problem}; use lowercase letters, digits and hyphens")
    return False


def unsafe_name_problem(name: str) -> str | None:
    """Why `name` is not a safe single path segment, or None when it is one."""
    if name.strip() in (".", ".."):
        return "is a relative path component"
    if "/" in name or "\\" in name:
        return "contains a path separator"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "contains control characters"
    if name != name.strip():
        return "starts or ends with whitespace"
    return None


def _check_name(found: Findings, name: str, dir_name: str | None) -> None:
    if len(name) > MAX_NAME:
        found.rule(f"name is {len(name):,} characters; the limit is {MAX_NAME}")
    if not _NAME_OK.fullmatch(name):
        found.rule(_name_problem(name))
    if "<" in name or ">" in name:
        found.rule("name contains XML tags ('<' or '>'); they are not allowed")
    for word in RESERVED_WORDS:
        if word in name.lower():
            found.rule(f"name {name!r} contains the reserved word {word!r}; choose another name")
    if dir_name is not None and dir_name != name:
        found.rule(f"name {name!r} does not match its folder {dir_name!r}; rename one to match the other")


def _name_problem(name: str) -> str:
    if name != name.lower():
        return f"name {name!r} has uppercase letters; use {name.lower()!r}"
    bad = sorted(set(_BAD_NAME_CHAR.findall(name)))
    if bad:
        chars = ", ".join(repr(c) for c in bad)
        return f"name {name!r} may only use lowercase letters, digits and hyphens, not {chars}"
    if name.startswith("-") or name.endswith("-"):
        return f"name {name!r} starts or ends with a hyphen; remove it"
    return f"name {name!r} contains '--'; use single hyphens"


def _check_description(found: Findings, description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        found.rule(f"description is {len(description):,} characters; the limit is {MAX_DESCRIPTION:,}")
    if "<" in description or ">" in description:
        found.rule("description contains '<' or '>' (XML tags are not allowed); reword it")


def _check_optional(found: Findings, meta: dict[Any, Any]) -> None:
    lic = meta.get("license")
    if lic is not None and not isinstance(lic, str):
        found.rule(f"license must be a string, not {_kind(lic)}")
    compat = meta.get("compatibility")
    if "compatibility" in meta:
        if not isinstance(compat, str):
            found.rule(f"compatibility must be a string, not {_kind(compat)}")
        elif not compat.strip():
            found.rule("compatibility is empty; remove it or say what the skill needs")
        elif len(compat) > MAX_COMPATIBILITY:
            found.rule(f"compatibility is {len(compat):,} characters; the limit is {MAX_COMPATIBILITY}")
    if "metadata" in meta:
        _check_metadata(found, meta["metadata"])
    tools = meta.get("allowed-tools")
    if tools is not None and not isinstance(tools, str):
        found.rule(
            f"allowed-tools must be a space-separated string such as 'Bash(python3:*) Read',"
            f" not {_kind(tools)}"
        )


def _check_metadata(found: Findings, metadata: Any) -> None:
    if not isinstance(metadata, dict):
        found.rule(f"metadata must be a map of string keys to string values, not {_kind(metadata)}")
        return
    for key, value in metadata.items():
        if not isinstance(key, str):
            found.rule(f"metadata key {key!r} must be a string, not {_kind(key)}")
        elif not isinstance(value, str):
            found.rule(f"metadata[{key!r}] must be a string, not {_kind(value)} (quote it)")


def skill_fields(meta: dict[Any, Any]) -> dict[str, Any]:
    """The `Skill` keyword arguments for a frontmatter that passed the fatal checks.

    Lenient on purpose: scalars become strings, a list of allowed tools is accepted, and what
    cannot be salvaged (a metadata that is not a map) is dropped; `validate` reports all of it.
    """
    tools = meta.get("allowed-tools")
    if isinstance(tools, str):
        allowed = tools.split()
    elif isinstance(tools, list):
        allowed = [str(t) for t in tools if _is_scalar(t)]
    else:
        allowed = []
    metadata = meta.get("metadata")
    return {
        "name": meta["name"],
        "description": meta["description"],
        "license": _text(meta.get("license")),
        "compatibility": _text(meta.get("compatibility")),
        "allowed_tools": allowed,
        "metadata": (
            {str(k): str(v) for k, v in metadata.items() if _is_scalar(v)}
            if isinstance(metadata, dict)
            else {}
        ),
        "extra": {str(k): v for k, v in meta.items() if k not in SPEC_KEYS},
    }


def _text(value: Any) -> str | None:
    return str(value) if value is not None and _is_scalar(value) else None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _kind(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a map",
        str: "a string",
    }
    if value is None:
        return "empty (null)"
    return names.get(type(value), f"a {type(value).__name__}")
