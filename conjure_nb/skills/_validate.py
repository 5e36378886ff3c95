"""`validate`: check a skill against the spec, leniently (for loading) or strictly (for upload).

The rules live in `_rules.py` (shared with the loader); this module adds what needs the whole
folder: reading the body, the folder's total size, symlinks that escape it, and `.skill` zips.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .._errors import SkillError
from ..display._mime import Formats, Rendered
from ..display._text import escape
from ._archive import extract, skill_files
from ._frontmatter import parse, read_head
from ._limits import limits
from ._rules import Findings, check_fields

__all__ = ["MAX_BODY_LINES", "ValidationReport", "validate"]

MAX_BODY_LINES = 500
"""The spec's advice for SKILL.md bodies; longer bodies get a warning, never an error."""


@dataclass
class ValidationReport(Rendered):
    """The outcome of `validate`: every error and warning, each a sentence naming the skill.

    Attributes:
        path: the skill folder (or `.skill` file) that was checked.
        skill: the skill's name when the frontmatter has one, else None.
        strict: whether the strict (upload) profile was used.
        errors: problems that make the skill invalid under this profile.
        warnings: problems worth fixing that do not.
    """

    path: Path
    skill: str | None = None
    strict: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not count)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what `conjure-nb validate --json` prints)."""
        return {
            "path": str(self.path),
            "skill": self.skill,
            "strict": self.strict,
            "ok": self.ok,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    def raise_for_errors(self) -> None:
        """Raise a `SkillError` carrying every error, if there are any."""
        if self.errors:
            lines = "\n".join(f"  - {e}" for e in self.errors)
            raise SkillError(
                f"skill {self.skill or self.path.name!r} is invalid:\n{lines}",
                skill=self.skill or self.path.name,
                problems=list(self.errors),
            )

    def _html(self) -> str:
        # messages quote the skill's own (untrusted) text: escaped, never Markdown
        profile = "strict" if self.strict else "lenient"
        head = (
            f"<b>{escape(self.skill or self.path.name)}</b>: {'valid' if self.ok else 'invalid'} ({profile})"
        )
        items = [f"<li>error: {escape(e)}</li>" for e in self.errors]
        items += [f"<li>warning: {escape(w)}</li>" for w in self.warnings]
        return f"<div>{head}</div>" + (f"<ul>{''.join(items)}</ul>" if items else "")

    formats: ClassVar[Formats] = {"default": {"text/html": _html, "text/plain": repr}}

    def __repr__(self) -> str:
        profile = "strict" if self.strict else "lenient"
        return (
            f"<ValidationReport {self.skill or self.path.name!r} {'ok' if self.ok else 'invalid'} ({profile}): "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)>"
        )

    def __str__(self) -> str:
        status = "ok" if self.ok else f"{len(self.errors)} error(s)"
        lines = [f"{self.skill or self.path.name}: {status} ({self.path})"]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def validate(
    path: str | os.PathLike[str], strict: bool = False, *, max_bytes: int | None = None
) -> ValidationReport:
    """Check one skill: a folder, its SKILL.md, or a `.skill` zip.

    Args:
        path: the skill to check.
        strict: use the upload profile (every spec and hosted-API rule is an error) instead of the
            lenient loading profile (only an unparseable frontmatter or a missing name or
            description is an error).
        max_bytes: the folder's size limit; `limits.max_upload_bytes` (30 MB) by default.

    Never raises for a bad skill: everything found is in the report.
    """
    target = Path(os.path.abspath(path))
    if target.name == "SKILL.md" and not target.is_dir():
        target = target.parent
    limit = limits.max_upload_bytes if max_bytes is None else max_bytes
    if target.suffix in (".skill", ".zip") and target.is_file():
        return _validate_archive(target, strict, limit)
    report = ValidationReport(path=target, strict=strict)
    _check_folder(target, report, limit)
    return report


def _validate_archive(archive: Path, strict: bool, limit: int) -> ValidationReport:
    report = ValidationReport(path=archive, strict=strict)
    with tempfile.TemporaryDirectory(prefix="conjure-validate-") as tmp:
        try:
            folder = extract(archive, tmp)
        except SkillError as exc:
            report.errors.append(f"skill {archive.stem!r}: {exc}")
            return report
        _check_folder(folder, report, limit)
    return report


def _check_folder(folder: Path, report: ValidationReport, limit: int) -> None:
    label = folder.name
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is a file, not a skill folder"
        report.errors.append(f"skill {label!r}: {str(folder)!r} {what}")
        return
    skill_md = folder / "SKILL.md"
    if not os.path.lexists(skill_md):
        report.errors.append(f"skill {label!r}: {str(folder)!r} has no SKILL.md")
        return
    try:
        meta, offset = parse(read_head(skill_md))
    except SkillError as exc:
        report.errors.append(f"skill {label!r}: {exc}")
        return
    found = check_fields(meta, folder.name, strict=report.strict)
    if isinstance(meta.get("name"), str) and meta["name"].strip():
        report.skill = meta["name"]
    _check_body(skill_md, offset, found)
    _check_size(folder, limit, found)
    report.errors.extend(found.errors)
    report.warnings.extend(found.warnings)


def _check_body(skill_md: Path, offset: int, found: Findings) -> None:
    lines = 0
    has_text = False
    last = b""
    try:
        with open(skill_md, "rb") as f:
            f.seek(offset)
            while chunk := f.read(1024 * 1024):
                lines += chunk.count(b"\n")
                has_text = has_text or bool(chunk.strip())
                last = chunk
    except OSError as exc:
        found.fatal(f"cannot read {str(skill_md)!r}: {exc.strerror}")
        return
    if has_text and not last.endswith(b"\n"):
        lines += 1
    if not has_text:
        found.advice("SKILL.md has no body; add the instructions the model should follow")
    elif lines > MAX_BODY_LINES:
        found.advice(
            f"SKILL.md body is {lines:,} lines; keep it under {MAX_BODY_LINES}"
            " and move detail into references/"
        )


def _check_size(folder: Path, limit: int, found: Findings) -> None:
    try:
        files = skill_files(folder)
    except SkillError as exc:
        found.rule(str(exc))
        return
    total = sum(f.size for f in files)
    if total > limit:
        found.rule(
            f"the skill folder holds {total:,} bytes; the limit is {limit:,}"
            f" ({limit / 1024 / 1024:g} MB, limits.max_upload_bytes)"
        )
