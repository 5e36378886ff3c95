"""Snapshots of a working dir: a Ctrl-C during a scan leaves no directory handle to close."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.tools import _workspace


class Interrupted(Exception):
    pass


def _twenty_files(root: Path) -> None:
    for i in range(20):
        (root / f"f{i}.txt").write_text("x")


def test_a_listing_cut_short_leaves_no_open_directory_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _twenty_files(tmp_path)
    seen = []
    real_lstat = os.lstat

    def interrupted_on_the_fifth(path: Any) -> os.stat_result:
        seen.append(path)
        if len(seen) == 5:
            raise Interrupted  # what a KeyboardInterrupt does in the middle of the listing
        return real_lstat(path)

    monkeypatch.setattr(os, "lstat", interrupted_on_the_fifth)
    with pytest.raises(Interrupted):
        _workspace._scan(str(tmp_path), "", {}, ())
    monkeypatch.undo()
    gc.collect()  # an unclosed scandir iterator warns here (an error under filterwarnings=error)
    out: dict[str, Any] = {}
    _workspace._scan(str(tmp_path), "", out, ())
    assert len(out) == 20


def test_a_ctrl_c_right_after_the_directory_is_opened_leaves_nothing_to_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt_listings: Callable[[], type[Exception]]
) -> None:
    """The window no `with` covers: the interrupt lands as the listing call returns (the CI failure
    of test_keyboard_interrupt_keeps_history_consistent[docker-remote], twice)."""
    _twenty_files(tmp_path)
    with pytest.raises(interrupt_listings()):
        _workspace._scan(str(tmp_path), "", {}, ())
    monkeypatch.undo()
    gc.collect()


def test_a_snapshot_sees_files_in_folders_but_not_through_links(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.pdf").write_bytes(b"%PDF")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "out")
    (tmp_path / "file-link").symlink_to(tmp_path / "out" / "report.pdf")
    assert set(_workspace.snapshot(tmp_path)) == {"out/report.pdf"}
