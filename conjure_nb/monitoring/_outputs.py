"""Where a monitoring run's files go: copied out of the run's working dir into `out_dir`.

The working dir is the sandbox's, so each file is read beneath it without following links; in
`out_dir` a rerun replaces the agent's own files and removes those it did not write again, and
never touches a user's files there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from ..display._beneath import read_in, write_new
from ._steps import AgentError

__all__ = ["MANIFEST", "copy_out", "drop_stale", "remove_dirs"]

MANIFEST = ".conjure-agent-files.json"
"""In `out_dir`: the names the agent's last run copied there, so the next run can drop stale ones."""


def copy_out(workdir: Path, paths: list[Path], out_dir: Path) -> list[Path]:
    """Copy files of a run's working dir into `out_dir` by name, replacing earlier copies.

    The working dir is the sandbox's: each file is read beneath it without following links, and
    written into `out_dir` as a new file (a link planted at the name there is replaced, not followed).

    Raises:
        AgentError: a file is a planted link (named), or cannot be copied.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = []
    for src in paths:
        try:
            write_new(out_dir, src.name, read_in(workdir, src))
        except OSError as exc:
            raise AgentError(f"{src.name} was not copied to {out_dir}: {exc}") from None
        kept.append(out_dir / src.name)
    return kept


def drop_stale(out_dir: Path, kept: list[Path]) -> None:
    """Remove what an earlier run copied to `out_dir` and this run did not: an older report must
    not sit beside a new analysis.json (`generate_report=False`, or fewer formats) as if current.

    Only names the agent recorded in `MANIFEST` are removed, each a plain file name unlinked in
    `out_dir` itself (a link is removed, never followed); a user's own files there stay.
    """
    names = {p.name for p in kept}
    try:
        old = json.loads(read_in(out_dir, out_dir / MANIFEST)[:1_000_000])
    except (OSError, ValueError):
        old = []
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in old if isinstance(old, list) else []:
            if (
                isinstance(name, str)
                and name not in names
                and "/" not in name
                and name not in ("", ".", "..")
            ):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                    os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)
    write_new(out_dir, MANIFEST, json.dumps(sorted(names)).encode())


def remove_dirs(dirs: list[Path]) -> None:
    """Remove the agent's temp dirs (on close, or when the agent is collected or Python exits)."""
    while dirs:
        shutil.rmtree(dirs.pop(), ignore_errors=True)
