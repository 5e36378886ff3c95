"""Finding and loading skills: folders with SKILL.md, folders of those, and `.skill` zips.

Loading reads only the head of each SKILL.md (bodies are read on first access), so it scales to
thousands of skills. A skill that cannot be loaded never hides the others: it becomes one
`SkillWarning` naming it and the problem (or, with `errors="raise"`, part of one `SkillError`).

`.skill` zips are unpacked into a private temporary folder per archive. The folder lives as long
as the `Skill` loaded from it: it is removed when that object is garbage-collected, and at the
latest when the interpreter exits. Keep the `Skill` (not just its `path`) while you use the files.
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._errors import SkillError, SkillWarning, UsageError
from ._frontmatter import parse, read_head
from ._limits import limits
from ._model import Skill
from ._rules import check_fields, skill_fields

__all__ = ["PathArg", "ScanResult", "load", "load_skill", "scan"]

PathArg = str | os.PathLike[str]
Errors = Literal["warn", "raise", "ignore"]
_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "__MACOSX"})
_ARCHIVE_SUFFIXES = (".skill", ".zip")


@dataclass
class ScanResult:
    """What a scan found: skills by name (later roots win), and every problem met on the way."""

    skills: dict[str, Skill] = field(default_factory=dict)
    problems: list[SkillError] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    attempts: int = 0
    """How many skills were met (loaded or not): a root that adds none gets a 'no skills' problem."""

    def add(self, skill: Skill) -> None:
        previous = self.skills.get(skill.name)
        if previous is not None and previous.path != skill.path:
            self.overrides.append(
                f"skill {skill.name!r} at {str(skill.path)!r} overrides the one at {str(previous.path)!r}"
            )
        self.skills[skill.name] = skill

    def sorted(self) -> list[Skill]:
        return [self.skills[name] for name in sorted(self.skills)]


def load(
    paths: PathArg | Iterable[PathArg],
    *,
    errors: Errors = "warn",
    max_depth: int | None = None,
) -> list[Skill]:
    """Load every skill under one path or a list of paths, sorted by name.

    Args:
        paths: skill folders, folders of skill folders (searched `max_depth` levels deep, skipping
            hidden folders, `node_modules` and `__pycache__`), SKILL.md files or `.skill` zips.
        errors: what to do with a skill that cannot be loaded: `"warn"` (one `SkillWarning`
            each), `"raise"` (a `SkillError` listing all of them, after the scan) or `"ignore"`.
        max_depth: how deep to look below each folder; `limits.max_depth` (4) by default.

    A skill whose name was already loaded from an earlier path replaces it, with a warning.
    Spec problems that do not stop a skill from loading (a long description, unknown keys, a
    name that does not match its folder) are not warned about here: `cj.validate` reports them.
    """
    if errors not in ("warn", "raise", "ignore"):
        raise UsageError(f"errors must be 'warn', 'raise' or 'ignore', not {errors!r}")
    result = scan(paths, max_depth=max_depth)
    if errors == "raise" and result.problems:
        raise _combined(result.problems)
    if errors != "ignore":
        for message in [*(str(p) for p in result.problems), *result.overrides]:
            warnings.warn(message, SkillWarning, stacklevel=2)
    return result.sorted()


def _combined(problems: list[SkillError]) -> SkillError:
    if len(problems) == 1:
        return problems[0]
    lines = "\n".join(f"  - {p}" for p in problems)
    return SkillError(
        f"{len(problems)} skills could not be loaded:\n{lines}",
        problems=[str(p) for p in problems],
    )


def load_skill(path: PathArg) -> Skill:
    """Load one skill from its folder, its SKILL.md or a `.skill` zip.

    Raises:
        SkillError: the path holds no loadable skill; the message says why.
    """
    target = Path(os.path.abspath(path))
    if target.name == "SKILL.md" and target.is_file():
        target = target.parent
    if target.suffix in _ARCHIVE_SUFFIXES and target.is_file():
        return _load_archive(target)
    if not target.exists():
        raise SkillError(f"{str(path)!r} does not exist", skill=target.name)
    if not target.is_dir():
        raise SkillError(f"{str(path)!r} is not a skill folder or a .skill file", skill=target.name)
    if not os.path.lexists(target / "SKILL.md"):
        raise SkillError(f"{str(path)!r} has no SKILL.md", skill=target.name)
    return _load_dir(target)


def scan(paths: PathArg | Iterable[PathArg], *, max_depth: int | None = None) -> ScanResult:
    """Find and load skills without reporting anything: `load` and `Registry` decide how to."""
    depth = limits.max_depth if max_depth is None else max_depth
    result = ScanResult()
    for root in _as_list(paths):
        before = (result.attempts, len(result.problems))
        _scan_root(Path(os.path.abspath(root)), depth, result)
        if (result.attempts, len(result.problems)) == before:
            result.problems.append(SkillError(f"no skills found under {str(root)!r}", skill=str(root)))
    return result


def _as_list(paths: PathArg | Iterable[PathArg]) -> list[PathArg]:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def _scan_root(root: Path, max_depth: int, result: ScanResult) -> None:
    try:
        mode = os.stat(root).st_mode
    except OSError as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc})"
        result.problems.append(SkillError(f"{str(root)!r} {reason}", skill=root.name))
        return
    if stat.S_ISDIR(mode):
        _visit(root, 0, max_depth, result)
    elif root.name == "SKILL.md":
        _visit(root.parent, max_depth, max_depth, result)
    elif root.suffix in _ARCHIVE_SUFFIXES:
        _attempt(result, _load_archive, root)
    else:
        result.problems.append(
            SkillError(
                f"{str(root)!r} is a file, not a skill folder or a .skill package",
                skill=root.name,
            )
        )


def _visit(folder: Path, depth: int, max_depth: int, result: ScanResult) -> None:
    """Load `folder` as a skill if it holds a SKILL.md, else look inside it."""
    if os.path.lexists(folder / "SKILL.md"):
        _attempt(result, _load_dir, folder)
        return
    if depth >= max_depth:
        return
    # os.listdir and os.stat, not os.scandir: a Ctrl-C can land between scandir() returning its
    # iterator and any `with` taking hold of it, and the iterator then warns when it is collected
    # (ResourceWarning); a list has nothing to close.
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        result.problems.append(SkillError(f"cannot list {str(folder)!r}: {exc.strerror}", skill=folder.name))
        return
    for name in names:
        if name.startswith(".") or name in _SKIP_DIRS:
            continue
        path = os.path.join(folder, name)
        try:
            mode = os.stat(path).st_mode  # through symlinks; a dangling one is skipped
        except OSError:
            continue
        if stat.S_ISDIR(mode) and not (os.path.islink(path) and _loops(path, folder)):
            _visit(Path(path), depth + 1, max_depth, result)
        elif stat.S_ISREG(mode) and name.endswith(".skill"):
            _attempt(result, _load_archive, Path(path))


def _loops(link: str, folder: Path) -> bool:
    """Whether a symlinked folder leads back to `folder` or one of its parents."""
    target = os.path.realpath(link)
    here = os.path.realpath(folder)
    return here == target or here.startswith(target.rstrip(os.sep) + os.sep)


def _attempt(result: ScanResult, loader: Callable[[Path], Skill], path: Path) -> None:
    result.attempts += 1
    try:
        skill = loader(path)
    except SkillError as exc:
        result.problems.append(exc)
        return
    result.add(skill)


def _load_dir(folder: Path) -> Skill:
    """Load the skill in `folder` from the head of its SKILL.md."""
    try:
        meta, offset = parse(read_head(folder / "SKILL.md"))
    except SkillError as exc:
        raise SkillError(f"skill {folder.name!r}: {exc}", skill=folder.name) from None
    found = check_fields(meta, folder.name, strict=False)
    if found.errors:
        raise SkillError("; ".join(found.errors), skill=found.label, problems=found.errors)
    return Skill(path=folder, _body_offset=offset, **skill_fields(meta))


def _load_archive(archive: Path) -> Skill:
    """Unpack a `.skill` zip into a private folder that lives as long as the returned Skill."""
    from ._archive import extract, remove_tree  # zipfile and friends only when there are zips

    tmp = tempfile.mkdtemp(prefix="conjure-skill-")
    try:
        skill = _load_dir(extract(archive, tmp))
    except SkillError as exc:
        remove_tree(tmp)
        message = str(exc) if str(exc).startswith("skill ") else f"skill {archive.name!r}: {exc}"
        problems = exc.problems if len(exc.problems) > 1 else [message]
        raise SkillError(message, skill=exc.skill or archive.name, problems=problems) from None
    except BaseException:
        remove_tree(tmp)
        raise
    weakref.finalize(skill, remove_tree, tmp)
    return skill
