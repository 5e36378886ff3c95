"""`conjure-nb dashboard [URL ...] [--port N]`: the monitoring dashboard as a Voilà app.

Voilà runs the notebook shipped in the package (`conjure_nb/notebook/panels/dashboard/app.ipynb`)
on 127.0.0.1 with a random token, and this command prints the address to open. Without a URL it
starts the embedded demo log API first (the same data as `conjure-nb demo serve`) and watches that.
Ctrl-C stops Voilà, its kernel and the demo API.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from .._errors import UsageError

__all__ = ["register", "voila_command"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the monitoring dashboard with Voila",
        description="Serve the monitoring dashboard (health, errors over time, incidents, report, chat) "
        "as a Voila app on 127.0.0.1. Without a URL, the embedded demo log API is started and watched.",
    )
    parser.add_argument("urls", nargs="*", metavar="URL", help="log API URLs or files (several: a fleet)")
    parser.add_argument("--port", type=int, default=8866, help="port to serve on (0: any free port)")
    parser.add_argument("--interval", type=int, default=60, help="auto-refresh seconds (0 off, 30, 60, 300)")
    parser.add_argument("--limit", type=int, default=2000, help="records fetched per source")
    parser.add_argument("--seed", type=int, default=42, help="demo data seed (without a URL)")
    parser.set_defaults(func=_run)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def voila_command(port: int, token: str) -> list[str]:
    """The Voilà command line serving the dashboard notebook on 127.0.0.1:`port`."""
    from ..notebook.panels.dashboard._app import NOTEBOOK

    return [
        sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}",
        "--Voila.ip=127.0.0.1", f"--token={token}", "--theme=light", "--Voila.port_retries=0",
    ]  # fmt: skip


def _wait_ready(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UsageError(f"voila exited with code {proc.returncode} before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means Voila is serving (this path need not exist)
        except OSError:
            time.sleep(0.2)
    raise UsageError(f"voila did not answer on {url} within {deadline_s:g} s")


def _run(ns: argparse.Namespace) -> int:
    try:
        import voila  # noqa: F401
    except ImportError:
        raise UsageError("the dashboard app needs Voila: pip install 'conjure-nb[dashboard]'") from None
    server = None
    urls = list(ns.urls)
    if not urls:
        from ..testing._demo_server import DemoLogServer

        server = DemoLogServer(0, seed=ns.seed).start()
        urls = [server.logs_url]
        print(f"no URL given: watching the embedded demo log API at {server.logs_url}", flush=True)
    port = ns.port or _free_port()
    token = secrets.token_hex(16)
    env = {
        **os.environ,
        "CONJURE_DASHBOARD_SOURCES": "\n".join(urls),
        "CONJURE_DASHBOARD_INTERVAL": str(ns.interval),
        "CONJURE_DASHBOARD_LIMIT": str(ns.limit),
    }
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops Voila and its kernel too
    proc = subprocess.Popen(voila_command(port, token), env=env, start_new_session=True)
    try:
        address = f"http://127.0.0.1:{port}/?token={token}"
        _wait_ready(f"http://127.0.0.1:{port}/voila/static/ready", proc)
        print(f"dashboard on {address}  (Ctrl-C to stop)", flush=True)
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(proc)
        if server is not None:
            server.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop Voilà and the kernels it started (its whole process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # kernels left in the group
