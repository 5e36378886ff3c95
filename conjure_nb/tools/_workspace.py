"""The working directory as the session sees it: snapshots, created files, downloads."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import stat
from collections.abc import Collection, Iterable
from pathlib import Path

from ..display._beneath import open_in
from ._data import CreatedFile, ToolCall

__all__ = ["Snapshot", "created_since", "download", "snapshot"]

Snapshot = dict[str, tuple[int, int]]
_SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", ".conjure"}  # .conjure: spilled tool output
_EXTRA_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".md": "text/markdown",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".log": "text/plain",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}


def snapshot(root: str | os.PathLike[str], skip: Collection[str] = _SKIP_DIRS) -> Snapshot:
    """Regular files under `root` (never through symlinks) -> (size, mtime_ns).

    Folders named in `skip` are not entered (by default caches that are never outputs).
    """
    out: Snapshot = {}
    _scan(os.fspath(root), "", out, skip)
    return out


def _scan(directory: str, prefix: str, out: Snapshot, skip: Collection[str]) -> None:
    # os.listdir and os.lstat, not os.scandir: a Ctrl-C can land between scandir() returning its
    # iterator and any `with` or `try` taking hold of it, and the iterator then warns when it is
    # collected (ResourceWarning); a list has nothing to close.
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        try:
            st = os.lstat(os.path.join(directory, name))
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            if name not in skip:
                _scan(os.path.join(directory, name), f"{prefix}{name}/", out, skip)
        elif stat.S_ISREG(st.st_mode):
            out[prefix + name] = (st.st_size, st.st_mtime_ns)


def media_type(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _sha256(root: Path, rel: str) -> str:
    h = hashlib.sha256()
    with os.fdopen(open_in(root, rel), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _owner(rel: str, calls: list[ToolCall]) -> str | None:
    if len(calls) == 1:
        return calls[0].id
    base = os.path.basename(rel)
    for call in calls:
        text = " ".join(str(v) for v in call.input.values())
        if rel in text or base in text:
            return call.id
    return calls[0].id if calls else None


def created_since(root: Path, before: Snapshot, calls: list[ToolCall]) -> list[CreatedFile]:
    """Files that are new or changed since `before`, attributed to the call that made them."""
    after = snapshot(root)
    out = []
    for rel, meta in sorted(after.items()):
        if before.get(rel) == meta:
            continue
        path = root / rel
        try:
            digest = _sha256(root, rel)
        except OSError:
            continue
        out.append(CreatedFile(str(path), rel, meta[0], digest, media_type(rel), _owner(rel, calls)))
    return out


def _free_name(directory: Path, name: str) -> Path:
    target = directory / name
    stem, ext = os.path.splitext(name)
    n = 1
    while target.exists() or target.is_symlink():
        target = directory / f"{stem} ({n}){ext}"
        n += 1
    return target


def download(
    files: Iterable[CreatedFile], directory: str | os.PathLike[str], root: Path
) -> tuple[list[Path], list[str]]:
    """Copy created files from `root` into `directory` by basename, never overwriting.

    Each file is opened beneath `root` one path component at a time, never following a link, at
    copy time: a tool that swapped a parent folder for a symlink after the file was recorded
    (`rm -rf d && ln -s /etc d`) cannot make this copy a file from outside. A recorded `path`
    is not trusted (a saved session may be crafted); the file's place under `root` is its
    `filename`.

    Returns:
        The paths written, and one line per file that could not be copied, saying why.
    """
    dest = Path(directory)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    problems: list[str] = []
    for f in files:
        try:
            fd = open_in(root, f.filename)
        except OSError as exc:
            problems.append(f"{f.filename}: {exc.strerror or exc}")
            continue
        with os.fdopen(fd, "rb") as src:
            target = _free_name(dest, os.path.basename(f.filename))
            with open(target, "xb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        written.append(target)
    return written, problems
