"""Serving a fake in a background thread, stoppable at once.

`socketserver` checks for shutdown every `poll_interval` seconds (0.5 by default), so every stop of a
fake server cost up to half a second: with dozens of servers started per test run, that was most of
the suite's teardown time. A short poll costs nothing measurable while serving.
"""

from __future__ import annotations

import socketserver
import threading

__all__ = ["POLL_INTERVAL", "serve_in_thread"]

POLL_INTERVAL = 0.02  # seconds between shutdown checks


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Start `server.serve_forever` in a daemon thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name=name, daemon=True)
    thread.start()
    return thread
