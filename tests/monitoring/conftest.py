"""Fixtures for the demo layer and the bundled skills: script runners, samples, a live demo API."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conjure_nb.testing._demo_server import DemoLogServer

ROOT = Path(__file__).resolve().parents[2]
SKILLS = ROOT / "skills"
ANALYZER = SKILLS / "log-analyzer" / "scripts"
REPORTER = SKILLS / "incident-report" / "scripts"
SAMPLES = Path(__file__).resolve().parent / "samples"
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=timezone.utc)
"""The demo API's `now` in these tests: its hour of data is 09:00-10:00 on 14 March 2026."""


def run_script(
    script: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a skill script as a real process with this interpreter; never raises on a bad exit."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[DemoLogServer]:
    """A demo log API with 1,500 records (seed 42, 09:00-10:00) on a free port, shared by a module."""
    with DemoLogServer(records=1500, seed=42, now=NOW) as live:
        yield live


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: bound once to get a free number, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_script(name: str, folder: Path = ANALYZER) -> object:
    """A module of a skill's code package, imported the way the host imports it (no sys.path edits)."""
    from conjure_nb.monitoring._skillcode import skill_code

    return skill_code(folder.parent.name, name, skill_dir=folder.parent)
