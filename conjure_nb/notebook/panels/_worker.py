"""One chat turn in a background thread, so the kernel keeps serving the widgets while it runs.

The turn is `Session.achat` on a private event loop in its own thread. Stop cancels that task:
the session's async driver then cancels the executor (running processes killed, pending approvals
denied) and gives every open `tool_use` its `tool_result`, so the history stays consistent.
`asyncio.run` only returns once the tool threads have finished, so `join()` means "all settled".
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ...session import Session
    from ...tools._response import Response
    from ...tools.events import Event

__all__ = ["TurnWorker"]


class TurnWorker:
    """Run `session.achat(message)` in a daemon thread; `stop()` cancels it, `join()` waits.

    After the thread ends exactly one of `response`, `error` is set, or `stopped` is True.
    `on_done(worker)` runs in the worker thread as its last act.
    """

    def __init__(
        self,
        session: Session,
        message: str,
        on_event: Callable[[Event], None],
        on_done: Callable[[TurnWorker], None],
    ):
        self.session = session
        self.message = message
        self.response: Response | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self._on_event = on_event
        self._on_done = on_done
        self._lock = threading.Lock()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._thread = threading.Thread(target=self._main, name="conjure-chat-turn", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Cancel the turn (thread-safe, idempotent); `join()` to wait until it has settled."""
        with self._lock:
            self._stop_requested = True
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has finished."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        try:
            self.response = asyncio.run(self._turn())
        except asyncio.CancelledError:
            self.stopped = True
        except BaseException as exc:  # shown in the panel, kept in panel.errors
            self.error = exc
        finally:
            self._on_done(self)

    async def _turn(self) -> Response:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            if self._stop_requested:
                raise asyncio.CancelledError
        return await self.session.achat(self.message, on_event=self._on_event)
