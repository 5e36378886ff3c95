"""A real JupyterLab on 127.0.0.1 (token auth, private config dirs) and a real Debian chromium.

Without chromium, JupyterLab or playwright these tests skip, unless CONJURE_REQUIRE_BROWSER=1 (CI),
where they fail instead. `playwright install` cannot download browsers here, so the system's
chromium is driven through `executable_path`. Screenshots go to test-artifacts/browser/ (ignored
by git) so a person can look at what the test saw.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CONJURE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _unavailable(reason: str) -> None:
    if os.environ.get("CONJURE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CONJURE_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class Lab:
    url: str
    token: str
    root: Path

    def open_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 90) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not answer within {deadline_s:g} s:\n{log.read_text()[-3000:]}")


def _lab_settings(settings: Path) -> None:
    """No news or update pop-ups over the notebook the test looks at."""
    notify = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notify.parent.mkdir(parents=True)
    notify.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def require_browser() -> None:
    """Skip (or, with CONJURE_REQUIRE_BROWSER=1, fail) unless chromium, JupyterLab and playwright are here."""
    if shutil.which(CHROMIUM) is None:
        _unavailable(f"no chromium at {CHROMIUM}")
    try:
        import jupyterlab  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:
        _unavailable(f"{exc.name} is not installed (pip install -e '.[dev]')")


@contextlib.contextmanager
def serve_lab(base: Path, args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Iterator[Lab]:
    """JupyterLab serving `base`/root, on a free loopback port, with a random token; `args` and
    `env` are added to its command line and environment. Stopped (with its kernels) at the end."""
    root, home = base / "root", base / "home"
    root.mkdir()
    _lab_settings(home / "settings")
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        **(env or {}),
    }
    log = base / "lab.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0", "--allow-root", "--ServerApp.terminals_enabled=False",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", *args,
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{url}/api/status?token={token}", proc, log)
        yield Lab(url, token, root)
    finally:
        _stop(proc, f"{url}/api/shutdown?token={token}")


PERSONA_ID = "jupyter-ai-personas::conjure_nb::ConjurePersona"


def _persona_setup(base: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The @Conjure persona (the jupyter-ai extra) as the chats' default persona, answering with the
    fake model in _persona_model.py on the local backend: no key, no docker. The model notes its
    session's working dir in `base`/persona-session.txt."""
    here = str(Path(__file__).resolve().parent)
    env = {
        "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p),
        "CONJURE_PERSONA_MODEL": "_persona_model:MODEL",
        "CONJURE_PERSONA_BACKEND": "local",
        "CONJURE_TEST_SESSION_NOTE": str(base / "persona-session.txt"),
    }
    return (f"--PersonaManager.default_persona_id={PERSONA_ID}",), env


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab serving a temp dir, on a free loopback port, with a random token: one server per
    test module, so one module's open documents, workspace and settings never reach another's."""
    require_browser()
    base = tmp_path_factory.mktemp("lab")
    args, env = _persona_setup(base)
    with serve_lab(base, args, env) as served:
        yield served


def _stop(proc: subprocess.Popen[bytes], shutdown_url: str) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure its process group is gone."""
    try:
        urllib.request.urlopen(urllib.request.Request(shutdown_url, method="POST"), timeout=5).close()
        proc.wait(timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # kernels the server started share its group
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, for one test module: playwright's sync API keeps an event loop running in this
    thread until it exits, which would break every later test that calls asyncio.run()."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
