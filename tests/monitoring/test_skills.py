"""The bundled skills: strictly valid, every script answers --help, documented commands exist."""

from __future__ import annotations

import json
import re

import pytest

import conjure_nb as cj

from .conftest import SKILLS, run_script

BUNDLED = ("echo", "incident-report", "log-analyzer")
SCRIPTS = sorted(p for name in BUNDLED for p in (SKILLS / name / "scripts").glob("*.py"))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_skill_is_strictly_valid(name: str) -> None:
    report = cj.validate(SKILLS / name, strict=True)
    assert report.ok, report.errors
    assert report.errors == [] and report.warnings == []


@pytest.mark.parametrize("name", BUNDLED)
def test_commands_in_skill_md_point_at_real_scripts(name: str) -> None:
    skill = cj.load_skill(SKILLS / name)
    assert skill.name == name
    mentioned = set(re.findall(r"<skill dir>/(scripts/[\w.]+\.py)", skill.body))
    assert mentioned, "SKILL.md shows how to run the scripts"
    for relative in mentioned:
        assert (SKILLS / name / relative).is_file(), relative


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_script_has_help(script: object) -> None:
    done = run_script(script, "--help")  # type: ignore[arg-type]
    assert done.returncode == 0 and done.stdout.startswith("usage:") and done.stderr == ""


def test_log_analyzer_reference_is_linked() -> None:
    body = cj.load_skill(SKILLS / "log-analyzer").body
    assert (
        "references/log-formats.md" in body
        and (SKILLS / "log-analyzer" / "references" / "log-formats.md").is_file()
    )


def test_echo_script() -> None:
    done = run_script(SKILLS / "echo" / "scripts" / "echo.py", "hello", "world", "--upper")
    assert done.returncode == 0
    out = json.loads(done.stdout)
    assert out["echo"] == "HELLO WORLD" and out["words"] == 2 and out["time"].endswith("Z")
    piped = run_script(SKILLS / "echo" / "scripts" / "echo.py", stdin="from stdin\n")
    assert json.loads(piped.stdout)["echo"] == "from stdin"


def test_scripts_run_without_third_party_packages(tmp_path: object) -> None:
    """The log-analyzer scripts need only the standard library: run one with -I -S (no site-packages)."""
    import subprocess
    import sys

    sample = SKILLS.parent / "tests" / "monitoring" / "samples" / "access.log"
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(SKILLS / "log-analyzer" / "scripts" / "analyze.py"), str(sample)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["total"] == 3
