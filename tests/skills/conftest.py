"""Fixtures for writing skills on disk (the helpers live in skillfiles.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from skillfiles import MakeSkill, write_skill


@pytest.fixture
def make_skill(tmp_path: Path) -> MakeSkill:
    def make(name: str, description: str = "Does a thing. Use when a thing is needed.", **kw: object) -> Path:
        return write_skill(tmp_path / "skills", name, description, **kw)  # type: ignore[arg-type]

    return make


@pytest.fixture
def write_raw(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write an arbitrary SKILL.md (text or bytes) into `skills/<folder>/` and return the folder."""

    def write(folder: str, content: str | bytes) -> Path:
        path = tmp_path / "skills" / folder
        path.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        (path / "SKILL.md").write_bytes(data)
        return path

    return write
