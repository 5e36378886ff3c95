"""Listing skill folders: a Ctrl-C during a listing leaves no directory handle to close.

A KeyboardInterrupt can land as the call that opens a folder's listing returns, before any `with`
takes hold of what it returned; an unclosed `os.scandir` iterator then warns when it is collected
(ResourceWarning, an error in this suite). The loader and the packager list folders into lists.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest
from skillfiles import MakeSkill, write_skill

import conjure_nb as cj
from conjure_nb.skills._archive import skill_files


def test_a_ctrl_c_as_a_folder_of_skills_is_listed_leaves_nothing_to_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt_listings: Callable[[], type[Exception]]
) -> None:
    for name in ("one", "two", "three"):
        write_skill(tmp_path / "skills", name)
    with pytest.raises(interrupt_listings()):
        cj.load(tmp_path / "skills")
    monkeypatch.undo()
    gc.collect()
    assert sorted(s.name for s in cj.load(tmp_path / "skills")) == ["one", "three", "two"]


def test_a_ctrl_c_as_a_skill_is_listed_for_packaging_leaves_nothing_to_close(
    make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch, interrupt_listings: Callable[[], type[Exception]]
) -> None:
    folder = make_skill("packed")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "run.py").write_text("print(1)\n")
    with pytest.raises(interrupt_listings()):
        skill_files(folder)
    monkeypatch.undo()
    gc.collect()
    assert [f.rel for f in skill_files(folder)] == ["SKILL.md", "scripts/run.py"]


def test_folders_of_skills_are_walked_through_links_that_stay_inside(
    tmp_path: Path, make_skill: MakeSkill
) -> None:
    """What the listing sees: symlinked skill folders and packages load, a loop and a dangling link do
    not stop the scan; a package follows a link inside the skill and refuses one that leaves it."""
    root = tmp_path / "skills"
    folder = make_skill("real")
    other = write_skill(tmp_path / "elsewhere", "other")
    cj.package(write_skill(tmp_path / "elsewhere", "zipped"), tmp_path / "zipped.skill")
    (root / "nested").mkdir()
    (root / "nested" / "alias").symlink_to(other)
    (root / "nested" / "loop").symlink_to(root)
    (root / "dangling").symlink_to(tmp_path / "nowhere")
    (root / "zips").mkdir()
    (root / "zips" / "zipped.skill").symlink_to(tmp_path / "zipped.skill")
    write_skill(root / "__pycache__", "hidden")
    write_skill(root / ".hidden", "hidden")
    assert [s.name for s in cj.load(root)] == ["other", "real", "zipped"]  # and no warning

    (folder / "data").mkdir()
    (folder / "data" / "table.csv").write_text("a,b\n")
    (folder / "same").symlink_to(folder / "data")
    (folder / "gone").symlink_to(folder / "missing.txt")
    assert [f.rel for f in skill_files(folder)] == ["SKILL.md", "data/table.csv"]
    (folder / "leak").symlink_to(tmp_path / "zipped.skill")
    with pytest.raises(cj.SkillError, match="outside the skill"):
        skill_files(folder)
