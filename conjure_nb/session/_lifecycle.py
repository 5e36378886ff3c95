"""Sessions end with their process, however it is told to stop.

Each session's cleanup (its container, processes and private working dir) is a `weakref.finalize`
that runs at `close()`, when the session is collected, or at interpreter exit. Two ways a process
stops skip interpreter exit's handlers, and a Jupyter kernel meets both:

- **SIGTERM.** Python's default is to die at once: no atexit, no finalizer. Jupyter sends it when a
  kernel does not exit within a few seconds of a shutdown or restart request (a Dask LocalCluster's
  own shutdown easily takes that long). `install()` puts a handler in front of SIGTERM that closes
  every open session and then does what was there before: a previous handler is called; in place
  of the default, the exit handlers run (as at a normal exit) and the signal is raised again, so
  the process still dies of SIGTERM.
- **The kernel's shutdown request.** `install()` also wraps the running ipykernel's `do_shutdown`,
  so sessions are closed first, before anything else the kernel's shutdown waits for.

`install()` runs when a session is made (and is idempotent); `close_all()` is public for anyone who
needs the same at another moment.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
import weakref
from types import FrameType
from typing import Any

__all__ = ["close_all", "install", "track"]

_FINALIZERS: list[weakref.finalize[Any, Any]] = []
_installed: dict[str, Any] = {}


def track(finalizer: weakref.finalize[Any, Any]) -> None:
    """Remember a session's cleanup so `close_all` can run it; installs the hooks."""
    _FINALIZERS[:] = [f for f in _FINALIZERS if f.alive]
    _FINALIZERS.append(finalizer)
    install()


def close_all() -> int:
    """Close every session of this process that is still open; returns how many were."""
    live = [f for f in list(_FINALIZERS) if f.alive]
    for finalizer in live:
        with contextlib.suppress(Exception):  # one failing cleanup must not stop the others
            finalizer()
    return len(live)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    close_all()
    previous = _installed.get("previous")
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:  # the default: what a normal exit runs (pools drain, clusters stop), then die of SIGTERM
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def install() -> None:
    """Close sessions on SIGTERM and on a Jupyter kernel's shutdown (once; chained with what was there)."""
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current is not _on_sigterm:  # first time, or someone (a Dask cluster) replaced ours: chain it
            _installed["previous"] = current
            signal.signal(signal.SIGTERM, _on_sigterm)
    _hook_kernel()


def _hook_kernel() -> None:
    if "ipykernel" not in sys.modules:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel brings IPython
        return
    kernel = getattr(get_ipython(), "kernel", None)
    if kernel is None or getattr(kernel, "_conjure_shutdown_hooked", False):
        return
    original = kernel.do_shutdown

    def do_shutdown(restart: bool, *args: Any, **kwargs: Any) -> Any:
        close_all()
        return original(restart, *args, **kwargs)

    kernel.do_shutdown = do_shutdown
    kernel._conjure_shutdown_hooked = True
