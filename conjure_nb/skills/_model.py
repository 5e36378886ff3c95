"""`Skill`: one loaded skill, with its body read lazily from disk."""

from __future__ import annotations

import errno
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, overload

from .._errors import SkillError, UsageError
from ..display._beneath import LinkRefused, open_in
from ..display._mime import Formats, Rendered
from ..display._text import escape
from ._rules import unsafe_name_problem

__all__ = ["Resources", "Skill"]

_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv"}
MAX_RESOURCE_BYTES = 20_000_000
"""The largest file `Skill.read_resource` reads (it holds the whole file in memory)."""


@dataclass(frozen=True)
class Resources:
    """Files bundled with a skill, relative to its folder, grouped by kind."""

    scripts: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        """Every bundled file: scripts, then references, assets and the rest."""
        return self.scripts + self.references + self.assets + self.other


@dataclass(eq=False)
class Skill(Rendered):
    """A skill: its frontmatter fields, its folder, and (on first access) its body and resources.

    `body` and `resources` read the disk only when first asked for, so loading a thousand skills
    costs one small read of each SKILL.md's head.
    """

    name: str
    description: str
    path: Path
    license: str | None = None
    compatibility: str | None = None
    allowed_tools: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """Frontmatter keys outside the spec (e.g. Claude Code's `user-invocable`), kept as-is."""
    _body: str | None = field(default=None, repr=False)
    _body_offset: int = field(default=0, repr=False)
    _resources: Resources | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problem = unsafe_name_problem(self.name) if isinstance(self.name, str) else "is not a string"
        if problem is not None:
            raise SkillError(
                f"skill name {self.name!r} {problem}; a name must be one safe path segment",
                skill=str(self.name),
            )

    @property
    def skill_md(self) -> Path:
        """The path of the skill's `SKILL.md`."""
        return self.path / "SKILL.md"

    @property
    def body(self) -> str:
        """The Markdown after the frontmatter, read on first access."""
        if self._body is None:
            raw = self.skill_md.read_bytes()[self._body_offset :]
            self._body = raw.decode("utf-8", errors="replace").lstrip("\r\n")
        return self._body

    @property
    def resources(self) -> Resources:
        """Every file of the skill except SKILL.md, by kind (scripts/references/assets/other)."""
        if self._resources is None:
            self._resources = _scan_resources(self.path)
        return self._resources

    @overload
    def read_resource(self, path: str | os.PathLike[str]) -> str: ...
    @overload
    def read_resource(self, path: str | os.PathLike[str], *, encoding: None) -> bytes: ...
    @overload
    def read_resource(self, path: str | os.PathLike[str], *, encoding: str) -> str: ...

    def read_resource(self, path: str | os.PathLike[str], *, encoding: str | None = "utf-8") -> str | bytes:
        """Read a file of this skill, such as `references/formats.md`, from its folder.

        The path is relative to the skill folder and must stay beneath it: `..` out of the folder
        is refused, and so is a symbolic link on the way (a skill is untrusted; a link inside it
        could point anywhere on this machine). It is the Elixir library's
        `Conjure.read_resource(skill, path)`.

        Args:
            path: the file, relative to the skill folder (POSIX separators).
            encoding: how to decode it; None returns the bytes (for an image or a zip).

        Returns:
            The file's text (or bytes with `encoding=None`).

        Raises:
            UsageError: the path is absolute, leaves the folder, or names no file of the skill.
            SkillError: the path goes through a symbolic link or is not a regular file, or the
                file is over `MAX_RESOURCE_BYTES`.
        """
        rel = _resource_path(self.name, path)
        data = _read_beneath(self, rel)
        return data if encoding is None else data.decode(encoding)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Skill):
            return NotImplemented
        return (self.name, self.path, self.description) == (
            other.name,
            other.path,
            other.description,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.path))

    def __repr__(self) -> str:
        return f"<Skill {self.name!r} at {str(self.path)!r}>"

    def _html(self) -> str:
        # a skill's name, description and file names are untrusted: escaped, never Markdown
        res = self.resources
        counts = ", ".join(
            f"{len(getattr(res, k))} {k}" for k in ("scripts", "references", "assets", "other")
        )
        return (
            f"<div><b>{escape(self.name)}</b> — {escape(self.description)}</div>"
            f"<div><code>{escape(self.path)}</code> · {escape(counts)}</div>"
        )

    formats: ClassVar[Formats] = {"default": {"text/html": _html, "text/plain": repr}}


def _resource_path(skill: str, path: str | os.PathLike[str]) -> str:
    raw = os.fspath(path)
    if not isinstance(raw, str) or not raw:
        raise UsageError(f"skill {skill!r}: read_resource needs a non-empty relative path, not {raw!r}")
    rel = posixpath.normpath(raw.replace(os.sep, "/"))
    if posixpath.isabs(rel) or rel == ".." or rel.startswith("../"):
        raise UsageError(
            f"skill {skill!r}: resource path {raw!r} is outside the skill folder; give a path relative "
            "to it, such as 'references/formats.md'"
        )
    if rel == ".":
        raise UsageError(f"skill {skill!r}: resource path {raw!r} names the skill folder, not a file")
    return rel


def _read_beneath(skill: Skill, rel: str) -> bytes:
    """The file's bytes, opened beneath the skill folder with the display layer's no-follow opener."""
    try:
        fd = open_in(skill.path, rel)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(skill, rel) from None
    except LinkRefused as exc:
        why = "is not a regular file" if exc.errno == errno.EPERM else "goes through a symbolic link"
        raise SkillError(
            f"skill {skill.name!r}: resource {rel!r} {why}; read_resource reads regular files beneath "
            "the skill folder and does not follow links",
            skill=skill.name,
        ) from None
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_RESOURCE_BYTES:
            raise SkillError(
                f"skill {skill.name!r}: resource {rel!r} is {size:,} bytes; read_resource reads "
                f"files up to {MAX_RESOURCE_BYTES:,} bytes",
                skill=skill.name,
            )
        return f.read(MAX_RESOURCE_BYTES + 1)


def _missing(skill: Skill, rel: str) -> UsageError:
    known = skill.resources.all()
    listed = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return UsageError(
        f"skill {skill.name!r} has no file {rel!r}; its files are: {listed or 'none besides SKILL.md'}"
    )


def _scan_resources(root: Path) -> Resources:
    groups: dict[str, list[str]] = {"scripts": [], "references": [], "assets": [], "other": []}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(root)
        for name in sorted(filenames):
            rel = (rel_dir / name).as_posix()
            if rel == "SKILL.md" or name.endswith(".pyc"):
                continue
            top = rel_dir.parts[0] if rel_dir.parts else ""
            groups[top if top in groups and top != "other" else "other"].append(rel)
    return Resources(**{k: tuple(v) for k, v in groups.items()})
