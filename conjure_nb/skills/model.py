"""`Skill`: one loaded skill, with its body read lazily from disk."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SkillError
from .rules import unsafe_name_problem

__all__ = ["Resources", "Skill"]

_SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv"}


@dataclass(frozen=True)
class Resources:
    """Files bundled with a skill, relative to its folder, grouped by kind."""

    scripts: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return self.scripts + self.references + self.assets + self.other


@dataclass(eq=False)
class Skill:
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

    def _repr_markdown_(self) -> str:
        res = self.resources
        counts = ", ".join(
            f"{len(getattr(res, k))} {k}" for k in ("scripts", "references", "assets", "other")
        )
        return f"**{self.name}** — {self.description}\n\n`{self.path}` · {counts}"


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
