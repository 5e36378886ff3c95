"""Fixtures for the hosted backend: the loopback fake of Anthropic's API and skill folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conjure_nb.testing import FakeAnthropicServer


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer() as srv:
        yield srv


def make_skill(root: Path, name: str, description: str = "Writes a small report.", extra: str = "") -> Path:
    folder = root / name
    (folder / "scripts").mkdir(parents=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n{extra}---\nUse it.\n")
    (folder / "scripts" / "run.py").write_text("print('report')\n")
    return folder
