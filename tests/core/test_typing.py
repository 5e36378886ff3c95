"""The public surface is typed: mypy --strict passes a correct client and catches a wrong one.

The client files live in tests/typing/ (httpx and pydantic check theirs the same way). Each line
of client_bad.py marked `# E: <text>` must get a mypy error containing <text>, and no other line
may get one, so the test fails both when a mistake slips through and when good code is flagged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "typing"


def _mypy(path: Path) -> dict[int, list[str]]:
    out, err, _ = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), "--no-error-summary", str(path)]
    )
    assert not err, err
    errors: dict[int, list[str]] = {}
    for line in out.splitlines():
        found = re.match(rf"(?:.*/)?{re.escape(path.name)}:(\d+): error: (.*)", line)
        if found:
            errors.setdefault(int(found.group(1)), []).append(found.group(2))
    return errors


def test_a_correct_client_type_checks() -> None:
    assert _mypy(CLIENTS / "client_ok.py") == {}


def test_a_wrong_keyword_or_model_type_is_caught() -> None:
    path = CLIENTS / "client_bad.py"
    expected = {
        n: line.split("# E: ", 1)[1].strip()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "# E: " in line and not line.startswith('"""')
    }
    got = _mypy(path)
    assert set(got) == set(expected), got
    for n, text in expected.items():
        assert any(text in message for message in got[n]), (n, got[n])


def test_the_typed_docker_keywords_are_the_executors_own() -> None:
    import inspect

    from conjure_nb.executors.docker import DockerExecutor
    from conjure_nb.session._options import DockerOptions, SessionOptions

    docker_keys = set(DockerOptions.__annotations__) - set(SessionOptions.__annotations__)
    assert docker_keys == set(inspect.signature(DockerExecutor.__init__).parameters) - {"self"}
