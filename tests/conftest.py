"""Suite-wide setup: no real model requests, and no temp dirs or processes left behind.

The suite runs with its own TMPDIR, so the check for leftovers sees only what this run created
(other runs on the same machine cannot disturb it), and the whole dir goes at the end.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings

from conjure_nb.models import allow_real_requests

allow_real_requests(False)

# No per-example deadline: a loaded 2-core machine must not turn a slow example into a failure.
# CI runs the "ci" profile, derandomized, so a landing never depends on the luck of the draw;
# developers keep random exploration.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_BASE = tempfile.mkdtemp(prefix="conjure-suite-")
atexit.register(shutil.rmtree, _BASE, True)  # also when no test ran (collection only, -k with no match)
os.environ["TMPDIR"] = _BASE
tempfile.tempdir = _BASE


def _session_dirs() -> set[str]:
    return set(glob.glob(os.path.join(_BASE, "conjure-*")))


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_session_dirs() -> Iterator[None]:
    yield
    import gc

    gc.collect()
    left = _session_dirs()
    shutil.rmtree(_BASE, ignore_errors=True)
    assert not left, f"sessions left their working dirs behind: {sorted(left)}"


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Secrets in the caller's environment, which no tool of any backend may see."""
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret-123",
        "MY_SERVICE_TOKEN": "tok-456",
        "DB_PASSWORD": "pw-789",
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    return secrets
