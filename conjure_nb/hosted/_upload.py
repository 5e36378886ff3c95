"""A custom skill as the multipart upload the Skills API takes, after strict validation.

Every file's name is prefixed with a top folder equal to the skill's `name` (`log-analyzer/SKILL.md`,
`log-analyzer/scripts/analyze.py`), as the API requires. Strict validation with the hosted limits runs
first, so a name with "claude" or a folder over the size limit fails here, naming every problem,
before anything is sent.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._errors import SkillError
from ..skills._archive import skill_files
from ..skills._loader import load_skill
from ..skills._model import Skill
from ..skills._validate import validate
from ..tools._workspace import media_type

__all__ = ["UploadFile", "upload_files"]

UploadFile = tuple[str, bytes, str]


def upload_files(
    skill: Skill | str | os.PathLike[str], max_bytes: int | None = None
) -> tuple[str, list[UploadFile]]:
    """The skill's name and its files as `(name/rel, content, mime)` tuples for `skills.create`.

    Raises:
        SkillError: the skill fails strict validation (every problem listed in `problems`).
    """
    loaded = skill if isinstance(skill, Skill) else load_skill(skill)
    report = validate(loaded.path, strict=True, max_bytes=max_bytes)
    if not report.ok:
        raise SkillError(
            f"skill {loaded.name!r} cannot be uploaded: " + "; ".join(report.errors),
            skill=loaded.name,
            problems=list(report.errors),
        )
    files = [
        (f"{loaded.name}/{f.rel}", Path(f.path).read_bytes(), media_type(f.rel))
        for f in skill_files(loaded.path)
    ]
    return loaded.name, files
