"""Snapshots of a working dir: a listing cut short (a Ctrl-C mid-scan) leaves no directory handle open."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.tools import _workspace


class Interrupted(Exception):
    pass


def test_a_listing_cut_short_leaves_no_open_directory_handle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(20):
        (tmp_path / f"f{i}.txt").write_text("x")

    def cut_short(entries: Iterable[Any]) -> list[Any]:
        next(iter(entries))
        raise Interrupted  # what a KeyboardInterrupt does in the middle of the listing

    monkeypatch.setattr(_workspace, "list", cut_short, raising=False)
    with pytest.raises(Interrupted):
        _workspace._scan(str(tmp_path), "", {}, ())
    monkeypatch.undo()
    gc.collect()  # an unclosed scandir iterator warns here (an error under filterwarnings=error)
    out: dict[str, Any] = {}
    _workspace._scan(str(tmp_path), "", out, ())
    assert len(out) == 20
