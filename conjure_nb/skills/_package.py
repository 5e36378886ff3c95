"""`package`: build a `.skill` zip from a skill folder, after strict validation.

The zip holds one top-level folder named like the skill (what the hosted API expects), leaves
out `__pycache__`, `*.pyc`, `.DS_Store`, `node_modules` and `.git`, keeps file modes (so scripts
stay executable) and uses fixed timestamps, so packaging the same folder twice gives the same bytes.
Extraction (with its zip-slip and zip-bomb checks) lives in `_archive.py`.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from .._errors import SkillError
from ._archive import extract, skill_files
from ._validate import validate

__all__ = ["extract", "package"]

_EPOCH = (1980, 1, 1, 0, 0, 0)


def package(skill_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Validate `skill_dir` strictly and zip it into a `.skill` file.

    Args:
        skill_dir: the skill folder.
        out: the file to write (ending in `.skill`), or a folder to write `<name>.skill` into
            (an existing folder, or a path without a suffix, which is created); by default
            `<name>.skill` in the current directory.

    Returns:
        The path of the written file (replaced atomically if it existed).

    Raises:
        SkillError: the skill fails strict validation (every problem is listed) or a symlink
            in it points outside the folder.
    """
    folder = Path(skill_dir)
    report = validate(folder, strict=True)
    report.raise_for_errors()
    name = report.skill or folder.name
    target = _target(out, name)
    files = skill_files(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".skill.tmp", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for file in files:
                _add(zf, file.path, f"{name}/{file.rel}")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _target(out: str | os.PathLike[str] | None, name: str) -> Path:
    if out is None:
        return Path.cwd() / f"{name}.skill"
    path = Path(out)
    if path.is_dir() or not path.suffix:
        return path / f"{name}.skill"
    if path.suffix not in (".skill", ".zip"):
        raise SkillError(f"the package name {str(path)!r} should end in .skill", skill=name)
    return path


def _add(zf: zipfile.ZipFile, path: str, arcname: str) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = (0o100000 | (os.stat(path).st_mode & 0o777)) << 16
    with open(path, "rb") as src, zf.open(info, "w") as dst:
        while chunk := src.read(1024 * 1024):
            dst.write(chunk)
