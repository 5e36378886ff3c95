"""Helpers for writing skills on disk, shared by the skills tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

MakeSkill = Callable[..., Path]


def write_skill(
    root: Path,
    name: str,
    description: str = "Does a thing. Use when a thing is needed.",
    *,
    body: str = "# Instructions\n\nDo the thing.\n",
    extra: str = "",
    folder: str | None = None,
) -> Path:
    """Write `root/<folder or name>/SKILL.md` with a plain frontmatter and return the folder."""
    path = root / (folder or name)
    path.mkdir(parents=True, exist_ok=True)
    (path / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n{extra}---\n{body}")
    return path
