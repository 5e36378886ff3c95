"""The files of a skill folder, and safe extraction of `.skill` zips.

A `.skill` file comes from somewhere else, so extraction trusts nothing in it: absolute paths,
`..` components, symlinks that leave the extraction root, duplicate entries and archives that
unpack past `limits.max_extract_bytes` or hold more than `limits.max_extract_files` entries are
refused with a `SkillError` before (or, for sizes that lie, while) anything is written.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

from .._errors import SkillError
from ._limits import limits

__all__ = ["EXCLUDED_DIRS", "EXCLUDED_FILES", "SkillFile", "extract", "remove_tree", "skill_files"]

EXCLUDED_DIRS = frozenset({"__pycache__", "node_modules", ".git"})
"""Folders that never belong in a package (nor count towards a skill's size)."""
EXCLUDED_FILES = frozenset({".DS_Store"})
_EXCLUDED_SUFFIXES = (".pyc",)
_DRIVE = re.compile(r"[A-Za-z]:")
_CHUNK = 1024 * 1024


class SkillFile(NamedTuple):
    """One file of a skill folder: where it is, its posix path inside the skill, its size."""

    path: str
    rel: str
    size: int


def skill_files(root: str | os.PathLike[str]) -> list[SkillFile]:
    """Every file of a skill folder that a package would hold, sorted by path inside the skill.

    Symlinks are followed when they stay inside the folder; a folder reached twice (through a
    symlink) is walked once.

    Raises:
        SkillError: a symlink points outside the folder.
    """
    base = os.fspath(root)
    real_base = os.path.realpath(base)
    st = os.stat(base)
    found: list[SkillFile] = []
    _walk(base, "", real_base, {(st.st_dev, st.st_ino)}, found)
    return sorted(found, key=lambda item: item.rel)


def _walk(folder: str, rel: str, real_base: str, seen: set[tuple[int, int]], out: list[SkillFile]) -> None:
    # os.listdir and os.stat, not os.scandir: a Ctrl-C can land between scandir() returning its
    # iterator and any `with` taking hold of it, and the iterator then warns when it is collected
    # (ResourceWarning); a list has nothing to close. Sorted: a folder reached twice (through a
    # symlink) is always walked under the same name.
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        child_rel = f"{rel}{name}"
        if os.path.islink(path) and not _inside(os.path.realpath(path), real_base):
            raise SkillError(
                f"{child_rel!r} is a symlink to {os.readlink(path)!r}, outside the skill"
                " folder; copy the file in instead"
            )
        try:
            st = os.stat(path)
        except OSError:
            continue  # a dangling symlink inside the folder: nothing to package
        if stat.S_ISDIR(st.st_mode):
            if name not in EXCLUDED_DIRS and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                _walk(path, f"{child_rel}/", real_base, seen, out)
        elif stat.S_ISREG(st.st_mode) and not _excluded_file(name):
            out.append(SkillFile(path, child_rel, st.st_size))


def _excluded_file(name: str) -> bool:
    return name in EXCLUDED_FILES or name.endswith(_EXCLUDED_SUFFIXES)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def extract(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    max_files: int | None = None,
) -> Path:
    """Unpack a `.skill` zip into the empty folder `dest` and return the skill's folder in it.

    A zip whose root holds SKILL.md is unpacked into `dest/<archive stem>`; one with a single
    top-level folder holding SKILL.md keeps that folder. `__MACOSX/` entries are skipped.

    Raises:
        SkillError: the archive is not a zip, breaks a safety rule, or holds no SKILL.md.
    """
    archive = Path(archive)
    max_bytes = limits.max_extract_bytes if max_bytes is None else max_bytes
    max_files = limits.max_extract_files if max_files is None else max_files
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _plan(zf, archive.name, max_bytes, max_files)
            unpack_dir, skill_dir = _layout([parts for _, parts in members], archive)
            _unpack(zf, members, Path(dest) / unpack_dir, archive.name, max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise SkillError(f"{archive.name!r} is not a readable zip file: {exc}", skill=archive.name) from None
    except OSError as exc:
        raise SkillError(f"cannot unpack {archive.name!r}: {exc}", skill=archive.name) from None
    return Path(dest) / skill_dir


def _plan(
    zf: zipfile.ZipFile, label: str, max_bytes: int, max_files: int
) -> list[tuple[zipfile.ZipInfo, tuple[str, ...]]]:
    infos = zf.infolist()
    if len(infos) > max_files:
        raise SkillError(
            f"{label!r} holds {len(infos):,} entries; the limit is {max_files:,} (limits.max_extract_files)",
            skill=label,
        )
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise SkillError(
            f"{label!r} would unpack to {total:,} bytes; the limit is {max_bytes:,}"
            " (limits.max_extract_bytes)",
            skill=label,
        )
    members = []
    for info in infos:
        parts = _safe_parts(info.filename, label)
        if parts and parts[0] != "__MACOSX":
            members.append((info, parts))
    return members


def _safe_parts(name: str, label: str) -> tuple[str, ...]:
    normal = name.replace("\\", "/")
    if normal.startswith("/") or _DRIVE.match(normal) or "\x00" in normal:
        raise SkillError(f"{label!r} holds an entry with an absolute path: {name!r}", skill=label)
    parts = tuple(p for p in normal.split("/") if p not in ("", "."))
    if ".." in parts:
        raise SkillError(f"{label!r} holds an entry that climbs out with '..': {name!r}", skill=label)
    return parts


def _layout(all_parts: list[tuple[str, ...]], archive: Path) -> tuple[str, str]:
    """Where to unpack and where the skill folder lands, relative to the destination."""
    if ("SKILL.md",) in all_parts:
        stem = archive.stem if archive.stem not in ("", ".", "..") else "skill"
        return stem, stem
    tops = {parts[0] for parts in all_parts}
    if len(tops) == 1 and (next(iter(tops)), "SKILL.md") in all_parts:
        return "", next(iter(tops))
    raise SkillError(
        f"{archive.name!r} has no SKILL.md at its root or in a single top-level folder",
        skill=archive.name,
    )


def _unpack(
    zf: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
    root: Path,
    label: str,
    max_bytes: int,
) -> None:
    budget = [max_bytes]
    links = []
    for info, parts in members:
        target = root.joinpath(*parts)
        if _is_symlink(info):
            links.append((info, parts))
        elif info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(zf, info, target, budget, label)
    made = []
    for info, parts in links:  # last, so no file is ever written through a link
        made.append(_link(zf.read(info).decode("utf-8", "replace"), parts, root, label))
    _recheck_links(made, root, label)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _write(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: list[int], label: str) -> None:
    try:
        out = open(target, "xb")  # noqa: SIM115 - closed below
    except FileExistsError:
        raise SkillError(f"{label!r} holds {info.filename!r} twice", skill=label) from None
    with out, zf.open(info) as src:
        while chunk := src.read(_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise SkillError(f"{label!r} unpacks past its size limit; refusing it", skill=label)
            out.write(chunk)
    mode = (info.external_attr >> 16) & 0o777
    if info.create_system == 3 and mode:
        os.chmod(target, (mode & 0o755) | 0o600)
    try:
        stamp = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(target, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass  # a nonsense date in the archive is not worth refusing it


def _link(link_target: str, parts: tuple[str, ...], root: Path, label: str) -> Path:
    name = "/".join(parts)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), link_target))
    if posixpath.isabs(link_target) or resolved == ".." or resolved.startswith("../"):
        raise _outside(label, name, link_target)
    path = root.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(link_target, path)
    if not _inside(os.path.realpath(path), os.path.realpath(root)):
        path.unlink()
        raise _outside(label, name, link_target)
    return path


def _recheck_links(made: list[Path], root: Path, label: str) -> None:
    """Check every link again once all of them exist.

    A link checked when it was made can point through a link made after it (`SKILL.md ->
    a/l/../../x`, then `a/l -> ..`), so only the finished tree tells where each one leads.
    """
    real_root = os.path.realpath(root)
    for path in made:
        if not _inside(os.path.realpath(path), real_root):
            rel = path.relative_to(root).as_posix()
            raise _outside(label, rel, os.readlink(path))


def _outside(label: str, name: str, link_target: str) -> SkillError:
    return SkillError(
        f"{label!r} holds a symlink {name!r} -> {link_target!r} that points outside the skill",
        skill=label,
    )


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove an extraction folder; used from finalizers, so it never raises."""
    shutil.rmtree(path, ignore_errors=True)
