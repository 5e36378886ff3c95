"""Suite-wide setup: no real model requests, and no temp dirs or processes left behind.

The suite runs with its own TMPDIR, so the check for leftovers sees only what this run created
(other runs on the same machine cannot disturb it), and the whole dir goes at the end. It lives in
memory (/dev/shm) where that is a usable tmpfs with room to spare.
"""

from __future__ import annotations

import atexit
import fcntl
import gc
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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

# Started as a background job (`make test &`, nohup, a CI wrapper), pytest begins with SIGINT or SIGHUP
# ignored, and every process it starts inherits that: the tests that press Ctrl-C, or hang up on a host
# process, would see nothing happen (whether they pass depended on which test reset SIGINT first). The
# suite runs as it does in a terminal.
for _sig, _default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGHUP, signal.SIG_DFL)):
    if signal.getsignal(_sig) == signal.SIG_IGN:
        signal.signal(_sig, _default)

ROOT = Path(__file__).resolve().parents[1]


def _memory_tmp(need: int = 6 << 30) -> str | None:
    """/dev/shm when it is a tmpfs this run may write and run programs from, with `need` bytes free.

    The suite writes a Binder environment, 2 GB test files and thousands of working dirs; on a disk
    mounted with `discard`, removing what was already flushed took 10 s per 100 MB. In memory it is
    instant. CONJURE_SUITE_TMP=disk keeps the system's temp dir.
    """
    if os.environ.get("CONJURE_SUITE_TMP") == "disk":
        return None
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            opts = next(
                f[3].split(",") for f in map(str.split, mounts) if f[1] == "/dev/shm" and f[2] == "tmpfs"
            )
        free = os.statvfs("/dev/shm")
    except (OSError, StopIteration):
        return None
    usable = "noexec" not in opts and os.access("/dev/shm", os.W_OK | os.X_OK)
    return "/dev/shm" if usable and free.f_bavail * free.f_frsize >= need else None


_BASE = tempfile.mkdtemp(prefix="conjure-suite-", dir=_memory_tmp())
atexit.register(shutil.rmtree, _BASE, True)  # also when no test ran (collection only, -k with no match)
os.environ["TMPDIR"] = _BASE
tempfile.tempdir = _BASE


def _session_dirs() -> set[str]:
    return set(glob.glob(os.path.join(_BASE, "conjure-*")))


# The files that take longest (a fresh Binder environment, the tutorials, JupyterLab in chromium,
# docker sandboxes, a mypy run), in the order a pytest-xdist worker should start them.
_LONG_POLES = (
    "tests/test_binder.py",
    "notebooks/06_",
    "tests/browser/",
    "notebooks/",
    "tests/docker/",
    "tests/core/test_typing.py",
    "tests/monitoring/",
    "tests/agent/",
    "tests/notebook/",
)


def _pole(item: pytest.Item) -> int:
    where = item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else ""
    return next((i for i, prefix in enumerate(_LONG_POLES) if where.startswith(prefix)), len(_LONG_POLES))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test PYTEST_ARGS="-n 2"`), the long files go first: workers take whole
    files in collection order (`--dist loadfile --no-loadscope-reorder`), so a long file started last
    would leave one worker running it alone at the end. Within a file the order never changes, and a
    run without workers keeps the usual order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=_pole)  # stable: a file's tests stay together and in order
    """What collection imported lives to the end of the run: frozen, full garbage collections skip it.
    IPython's shell reset (the magics' fixture, once per test) and Python's own gen-2 passes then
    walk only what the tests made: about a third of the time they took on the whole heap."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_session_dirs() -> Iterator[None]:
    yield
    gc.unfreeze()  # what collection froze is checked too
    if "conjure_nb.executors.docker._pool" in sys.modules:  # ready sandboxes wait for the next session:
        from conjure_nb.executors.docker._pool import warm_pool  # they go at exit, which is after this check

        warm_pool().drain()
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


@pytest.fixture(scope="session")
def docs_site() -> Path:
    """The documentation site as `make docs` builds it (warnings are errors), brought up to date once
    per run: CI has just built it, so this is quick there; a fresh checkout builds it whole here."""
    site = ROOT / "docs" / "_build" / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]
    site.parent.mkdir(parents=True, exist_ok=True)
    with (site.parent / ".suite-lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time when pytest runs in workers (-n 2)
        proc = subprocess.run(
            [*cmd, str(ROOT / "docs"), str(site)], capture_output=True, text=True, timeout=600, check=False
        )
    assert proc.returncode == 0, f"the docs build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return site


class ListingInterrupted(Exception):
    """What `interrupt_listings` raises where a KeyboardInterrupt would land."""


@pytest.fixture
def interrupt_listings(monkeypatch: pytest.MonkeyPatch) -> Callable[[], type[Exception]]:
    """Call it to make os.scandir and os.listdir open a folder's listing and then raise (it returns
    what they raise): a Ctrl-C landing as the call returns, before any `with` holds what it returned.
    `monkeypatch.undo()` ends it."""

    def opened_then_interrupted(real: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(path: Any) -> Any:
            real(path)  # the listing exists; then the Ctrl-C lands, before anyone holds it
            raise ListingInterrupted

        return call

    def start() -> type[Exception]:
        monkeypatch.setattr(os, "scandir", opened_then_interrupted(os.scandir))
        monkeypatch.setattr(os, "listdir", opened_then_interrupted(os.listdir))
        return ListingInterrupted

    return start
