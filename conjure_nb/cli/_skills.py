"""Skill subcommands: `validate`, `init`, `package`, `prompt` and `list`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ..skills._limits import limits
from ..skills._model import Skill

__all__ = ["register"]

_SKIP = frozenset({"node_modules", "__pycache__", "__MACOSX"})

SKILL_TEMPLATE = """\
---
{frontmatter}---

# {title}

## When to use this skill
Say which requests this skill is for, and which it is not for.

## How to use it
1. Step one: what to read or run first (scripts in `scripts/` run with `bash_tool`).
2. Step two: how to check the result.

## Files
- `scripts/`: programs the model runs instead of writing the code itself.
- `references/`: longer documents to read only when a step needs them.
- `assets/`: templates and files to copy into outputs.
"""


def register(subparsers: Any) -> None:
    """Add the skill subcommands to the `conjure-nb` parser."""
    p = subparsers.add_parser("validate", help="check skills against the spec")
    p.add_argument("paths", nargs="+", metavar="PATH", help="skill folders, folders of them, .skill files")
    p.add_argument("--strict", action="store_true", help="the upload profile: every rule is an error")
    p.add_argument("--json", action="store_true", help="print the reports as JSON")
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser("init", help="create a new skill skeleton")
    p.add_argument("name", metavar="NAME", help="lowercase letters, digits and hyphens")
    p.add_argument("--description", default=None, help="what the skill does and when to use it")
    p.add_argument("--dir", default=".", help="the folder to create the skill in (default: .)")
    p.set_defaults(func=cmd_init)

    p = subparsers.add_parser("package", help="validate a skill strictly and zip it into a .skill file")
    p.add_argument("dir", metavar="DIR", help="the skill folder")
    p.add_argument("-o", "--out", default=None, help="the .skill file or a folder to write it into")
    p.set_defaults(func=cmd_package)

    p = subparsers.add_parser("prompt", help="print the system prompt for some skills")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--location-root",
        default=None,
        metavar="DIR",
        help="show locations as DIR/<name>/SKILL.md (e.g. /mnt/skills, as docker sees them)",
    )
    p.set_defaults(func=cmd_prompt)

    p = subparsers.add_parser("list", help="list skills as a table")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate every skill named or found below the given paths; exit 1 if any has errors."""
    from ..skills._validate import ValidationReport, validate

    reports: list[ValidationReport] = []
    for path in args.paths:
        targets = _expand(Path(path))
        if not targets:
            reports.append(
                ValidationReport(
                    path=Path(path), strict=args.strict, errors=[f"no skills found under {path!r}"]
                )
            )
        reports.extend(validate(t, strict=args.strict) for t in targets)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for report in reports:
            mark = "ok     " if report.ok else "INVALID"
            print(f"{mark} {report.skill or report.path.name}  ({report.path})")
            for line in report.errors:
                print(f"  error: {line}")
            for line in report.warnings:
                print(f"  warning: {line}")
        bad = sum(not r.ok for r in reports)
        print(f"{len(reports)} checked, {len(reports) - bad} ok, {bad} invalid")
    return 0 if all(r.ok for r in reports) else 1


def _expand(path: Path) -> list[Path]:
    """The skills at `path`: itself when it is one, else the skill folders and zips below it."""
    if not path.is_dir() or (path / "SKILL.md").exists() or os.path.islink(path / "SKILL.md"):
        return [path] if path.exists() or path.is_symlink() else []
    found: list[Path] = []
    root_depth = len(path.parts)
    for dirpath, dirnames, filenames in os.walk(path):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP)
        if here != path and "SKILL.md" in (*filenames, *dirnames):
            found.append(here)
            dirnames[:] = []
            continue
        found.extend(here / f for f in sorted(filenames) if f.endswith(".skill"))
        if len(here.parts) - root_depth >= limits.max_depth:
            dirnames[:] = []
    return sorted(found)


def cmd_init(args: argparse.Namespace) -> int:
    """Create `DIR/NAME/SKILL.md` (plus scripts/, references/, assets/) that passes --strict."""
    import yaml

    from ..skills._rules import check_fields

    description = args.description or f"Describe what {args.name} does and when to use it."
    found = check_fields({"name": args.name, "description": description}, args.name, strict=True)
    if found.errors:
        for line in found.errors:
            print(f"error: {line}", file=sys.stderr)
        return 1
    folder = Path(args.dir) / args.name
    if folder.exists() and any(folder.iterdir()):
        print(
            f"error: {str(folder)!r} already exists and is not empty; pick another name or --dir",
            file=sys.stderr,
        )
        return 1
    for sub in ("scripts", "references", "assets"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    frontmatter = yaml.safe_dump(
        {"name": args.name, "description": description},
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
    )
    title = args.name.replace("-", " ").capitalize()
    (folder / "SKILL.md").write_text(
        SKILL_TEMPLATE.format(frontmatter=frontmatter, title=title), encoding="utf-8"
    )
    print(f"created {folder / 'SKILL.md'}")
    return 0


def cmd_package(args: argparse.Namespace) -> int:
    """Validate strictly and write the .skill file; errors come back as SkillError (exit 1)."""
    from ..skills._package import package

    print(package(args.dir, args.out))
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    """Print the system prompt a session would give the model for these skills."""
    from .._prompt import system_prompt

    skills = _load(args.paths)
    root = args.location_root
    location = (lambda s: f"{root.rstrip('/')}/{s.name}/SKILL.md") if root else None
    print(system_prompt(skills, location=location))
    return 0 if skills else 1


def cmd_list(args: argparse.Namespace) -> int:
    """Print the skills found under the paths, one row each."""
    skills = _load(args.paths)
    if args.json:
        rows = [
            {"name": s.name, "description": s.description, "path": str(s.path), "license": s.license}
            for s in skills
        ]
        print(json.dumps(rows, indent=2))
    else:
        print(_table(skills))
    return 0 if skills else 1


def _load(paths: list[str]) -> list[Skill]:
    """`cj.load`, with each skill warning printed to stderr as one line."""
    from .._errors import SkillWarning
    from ..skills._loader import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkillWarning)
        skills = load(paths)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return skills


def _table(skills: list[Skill], width: int = 60) -> str:
    if not skills:
        return "no skills found"
    rows = [("NAME", "DESCRIPTION", "PATH")]
    for s in skills:
        text = " ".join(s.description.split())
        rows.append((s.name, text if len(text) <= width else text[: width - 3] + "...", str(s.path)))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}" for r in rows)
