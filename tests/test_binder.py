"""Binder: the README's badge is made from the one place the repository's location is set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_binder_badge_is_made_from_the_repository_url() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "binder_badge.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "OWNER" not in readme and "mybinder.org/v2/gh/" in readme
