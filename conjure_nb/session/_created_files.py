"""The files a session's tools created, copied out: `SessionFiles`, a collaborator of `Session`.

Local files are read beneath the working dir without following links (`tools.workspace.download`);
hosted files come through the executor's Files API download. Either way a file is written under
its basename, never over an existing one.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .._errors import UsageError
from ..executors._base import Executor
from ..tools._data import CreatedFile
from ..tools._workspace import download
from ._state import SessionState

__all__ = ["SessionFiles"]


class SessionFiles:
    """Downloads a session's created files.

    Args:
        session_id: named in errors.
        state: where the created files are listed.
        executor: the session's executor (hosted files are fetched through it).
        working_dir: where local created files are.
        private: the working dir is the session's own temp dir, removed on close.
    """

    def __init__(
        self, session_id: str, state: SessionState, executor: Executor, working_dir: Path, *, private: bool
    ):
        self.session_id = session_id
        self.state = state
        self.executor = executor
        self.working_dir = working_dir
        self.private = private

    def download(
        self, directory: str | os.PathLike[str], files: list[CreatedFile] | None, *, closed: bool
    ) -> list[Path]:
        """Copy `files` (default: all created files) into `directory`; see `Session.download_files`."""
        chosen = list(self.state.created_files if files is None else files)
        if closed and self.private and any(f.path is not None for f in chosen):
            raise UsageError(
                f"session {self.session_id} is closed and its private working dir went with it, so its "
                f"{len(chosen)} created file(s) are gone; call download_files() before close() (inside "
                "the `with` block), or pass working_dir=... when you make the session to keep them"
            )
        hosted = [f for f in chosen if f.path is None and f.file_id]
        fetched = self.executor.download(hosted, directory) if hosted else []
        written, problems = download([f for f in chosen if f not in hosted], directory, self.working_dir)
        if problems:
            warnings.warn(
                f"download_files: {len(problems)} created file(s) not copied: " + "; ".join(problems),
                stacklevel=3,
            )
        return written + fetched
