"""A session's files and saved state: downloads, `to_dict` and `save` (a mixin of `Session`)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._errors import UsageError
from ..executors._approval import ApprovalRecord
from ..executors._base import Executor
from ..tools._data import CreatedFile, ToolCallRecord
from ..tools._workspace import download
from ._persist import FORMAT_VERSION, as_dicts, record_dicts, write_state

__all__ = ["SessionFiles"]


class SessionFiles:
    """Downloads and saving for `Session` (which sets every attribute declared here)."""

    id: str
    executor: Executor
    working_dir: Path
    messages: list[dict[str, Any]]
    usage: dict[str, int]
    tool_log: list[ToolCallRecord]
    approvals: list[ApprovalRecord]
    created_files: list[CreatedFile]
    _private_dir: bool
    _hosted_container: Any

    @property
    def closed(self) -> bool:  # pragma: no cover - Session defines the real one
        raise NotImplementedError

    def download_files(
        self, directory: str | os.PathLike[str], files: Iterable[CreatedFile] | None = None
    ) -> list[Path]:
        """Copy created files into `directory` (created), by basename, never overwriting.

        A file that cannot be copied (gone, replaced by a link, moved outside the working dir)
        is named in a warning, never skipped silently.

        Raises:
            UsageError: the session is closed and its private working dir is gone with the files.
        """
        chosen = list(self.created_files if files is None else files)
        if self.closed and self._private_dir and any(f.path is not None for f in chosen):
            raise UsageError(
                f"session {self.id} is closed and its private working dir went with it, so its "
                f"{len(chosen)} created file(s) are gone; call download_files() before close() (inside "
                "the `with` block), or pass working_dir=... when you make the session to keep them"
            )
        hosted = [f for f in chosen if f.path is None and f.file_id]
        fetched: list[Path] = []
        if hosted:
            fetch = getattr(self.executor, "download", None)  # the anthropic backend's Files API
            if fetch is None:
                raise UsageError(f"{len(hosted)} hosted file(s) need the anthropic backend to download")
            fetched = list(fetch(hosted, directory))
        written, problems = download([f for f in chosen if f not in hosted], directory, self.working_dir)
        if problems:
            warnings.warn(
                f"download_files: {len(problems)} created file(s) not copied: " + "; ".join(problems),
                stacklevel=2,
            )
        return written + fetched

    def to_dict(self) -> dict[str, Any]:
        """What `save` writes: the history, tool log, created files, usage and container, as JSON data."""
        return {
            "version": FORMAT_VERSION,
            "id": self.id,
            "backend": self.executor.backend,
            "messages": self.messages,
            "created_files": as_dicts(self.created_files),
            "tool_log": record_dicts(self.tool_log),
            "approvals": as_dicts(self.approvals),
            "usage": self.usage,
            "container": self._hosted_container,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the history, tool log, files and usage as JSON."""
        return write_state(path, self.to_dict())
