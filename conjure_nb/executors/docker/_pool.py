"""The warm pool: sandbox containers started ahead of need, so a new docker session answers at once.

A cold docker session pays for creating and starting a container and its runner (a few hundred
ms). The pool keeps up to `size` started, never used sandboxes per `SandboxSpec` (image, engine,
limits, user: everything a container is made of). A session whose executor has an equal spec takes
one in `DockerExecutor.setup` and receives its skills and working dir there (see `_slot.py`); the
pool then starts a replacement on a background thread. Rules that hold throughout:

- **Handed out once.** A slot leaves the pool under its lock and is never put back; the session
  that took it removes the container on close. Nothing is ever reused across sessions.
- **Checked at hand-out.** A slot whose runner does not answer, whose `/workspace` is not empty,
  or whose image tag now names another image is destroyed and the next one tried.
- **Bounded and labelled.** At most `size` ready per spec (default 2; `CONJURE_DOCKER_POOL=N`),
  labelled `conjure-nb=pool` with the owner's pid and host, so `conjure-nb sandbox prune` sees them.
- **Drained** at interpreter exit (which is also how a Jupyter kernel stops), on SIGTERM (when no
  other handler is installed), and by `drain()`. A SIGKILL cannot be caught, but the runner exits
  when its connection drops and the engine removes the container (AutoRemove).
- **Off** with `DockerExecutor(pool=False)` / `Session.new_docker(..., pool=False)`, or for the whole
  process with `CONJURE_DOCKER_POOL=0`.

A miss (nothing ready) costs nothing extra: the session starts its own container as before, and
only once it is up does the pool begin filling for that spec.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque
from typing import Any

from ._client import connect
from ._slot import Slot, start_slot
from ._spec import SandboxSpec

__all__ = ["DEFAULT_SIZE", "WarmPool", "pool_enabled", "warm_pool"]

log = logging.getLogger("conjure_nb.docker")

DEFAULT_SIZE = 2
"""Ready sandboxes kept per spec when CONJURE_DOCKER_POOL does not say otherwise."""
_RETRY_AFTER = 30.0  # seconds before a spec whose start failed is tried again
_DRAIN_WAIT = 30.0  # seconds a drain waits for a start under way to finish (then removes it)
_REFILL_DELAY = 0.25  # seconds between a hand-out (or a miss's start) and the refill it asks for


def _env_size() -> int:
    raw = os.environ.get("CONJURE_DOCKER_POOL", "").strip().lower()
    if raw in ("", "1", "on", "true", "yes"):
        return DEFAULT_SIZE
    if raw in ("0", "off", "false", "no"):
        return 0
    try:
        return max(0, int(raw))
    except ValueError:
        return DEFAULT_SIZE


def pool_enabled(choice: bool | None) -> bool:
    """Whether an executor with `pool=choice` uses the pool (None: CONJURE_DOCKER_POOL decides)."""
    if choice is False:
        return False
    return _env_size() > 0 or choice is True


class WarmPool:
    """Ready sandboxes per spec, handed out once each, refilled by one background thread.

    Args:
        size: how many ready sandboxes to keep per spec (0 keeps none).
        delay: seconds a refill waits before it starts, so it never competes with the session
            that just took a sandbox (or just started its own) for its first calls.
    """

    def __init__(self, size: int = DEFAULT_SIZE, *, delay: float = _REFILL_DELAY):
        self.size = size
        self.delay = delay
        self._lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt a holder
        self._changed = threading.Condition(self._lock)
        self._ready: dict[SandboxSpec, deque[Slot]] = {}
        self._due: dict[SandboxSpec, float] = {}  # specs to fill, and from when
        self._failed: dict[SandboxSpec, float] = {}
        self._hints: dict[SandboxSpec, list[Any]] = {}  # the skills the last session of a spec had
        self._clients: dict[str, Any] = {}
        self._worker: threading.Thread | None = None
        self._busy = False  # the worker is starting a sandbox
        self._generation = 0  # bumped by drain(): a start of an older generation is thrown away
        self._closed = False
        self._pid = os.getpid()  # a forked child inherits this object but owns none of its sandboxes

    # -- hand-out ------------------------------------------------------------------------------

    def take(self, spec: SandboxSpec, skills: list[Any] | None = None) -> Slot | None:
        """A healthy, never used sandbox for `spec`, or None (a miss); a hit starts a replacement.

        Args:
            spec: the settings the sandbox must have been made with.
            skills: the taker's skills: the replacement gets a copy of them ahead of need.
        """
        while True:
            with self._lock:
                ready = self._ready.get(spec)
                slot = ready.popleft() if ready else None
                self._changed.notify_all()
            if slot is None:
                return None
            self.fill(spec, skills)
            try:
                ok = slot.healthy()
            except BaseException:  # an interrupt: the slot left the pool, so it goes now
                slot.destroy()
                raise
            if ok:
                return slot
            log.debug("warm pool: container %s failed its hand-out check; replaced", slot.container[:12])
            slot.destroy()

    def ready(self, spec: SandboxSpec) -> int:
        """How many sandboxes for `spec` are ready now."""
        with self._lock:
            return len(self._ready.get(spec, ()))

    def containers(self) -> list[str]:
        """The ids of every ready container (all specs)."""
        with self._lock:
            return [slot.container for slots in self._ready.values() for slot in slots]

    # -- filling ---------------------------------------------------------------------------------

    def fill(self, spec: SandboxSpec, skills: list[Any] | None = None, *, delay: float | None = None) -> None:
        """Have the background thread start sandboxes for `spec` until `size` are ready.

        Args:
            spec: what to start.
            skills: the skills the next session of this spec will probably want (copied in ahead).
            delay: seconds before it starts (default: the pool's `delay`).
        """
        with self._lock:
            if skills is not None:
                self._hints[spec] = list(skills)
            if self._closed or self.size <= 0:
                return
            due = time.monotonic() + (self.delay if delay is None else delay)
            self._due[spec] = min(due, self._due.get(spec, due))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="conjure-docker-pool", daemon=True)
                self._worker.start()
            self._changed.notify_all()

    def wait_ready(self, spec: SandboxSpec, timeout: float) -> bool:
        """Wait until `size` sandboxes for `spec` are ready; False if not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._ready.get(spec, ())) < self.size:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed or (spec not in self._due and not self._busy):
                    return False
                self._changed.wait(left)
            return True

    def _next(self) -> tuple[SandboxSpec, int] | None:
        """The spec to start a sandbox for now (marks the worker busy), or None after waiting a bit."""
        now = time.monotonic()
        for spec, due in sorted(self._due.items(), key=lambda item: item[1]):
            if len(self._ready.get(spec, ())) >= self.size:
                del self._due[spec]
            elif now - self._failed.get(spec, -_RETRY_AFTER) < _RETRY_AFTER:
                del self._due[spec]  # a start failed lately: the next fill() asks again later
            elif due <= now:
                self._busy = True
                return spec, self._generation
        waits = [due - now for due in self._due.values()]
        self._changed.notify_all()
        self._changed.wait(min(waits) if waits else None)
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                job = self._next()
                if job is None:
                    continue
                spec, generation = job
                hint = self._hints.get(spec, [])
            try:
                slot = self._start(spec, hint)
                with self._lock:
                    if slot is None:
                        self._failed[spec] = time.monotonic()
                    elif not (self._closed or generation != self._generation):
                        self._ready.setdefault(spec, deque()).append(slot)
                        slot = None
                if slot is not None:
                    slot.destroy()  # drained while it started
            finally:
                with self._lock:
                    self._busy = False  # only now: a drain waiting on it finds nothing left
                    self._changed.notify_all()

    def _start(self, spec: SandboxSpec, hint: list[Any]) -> Slot | None:
        try:
            client = self._clients.get(spec.engine)
            if client is None:  # one client per engine, shared by the slots and their sessions
                client = self._clients[spec.engine] = connect(spec.base_url)
            slot = start_slot(spec, client)
        except Exception as exc:
            log.warning("warm pool: could not start a sandbox for %s: %s", spec.image, exc)
            return None
        try:
            slot.prepare(hint)
        except Exception as exc:
            log.warning("warm pool: could not copy skills into a sandbox: %s", exc)
            slot.destroy()
            return None
        return slot

    # -- draining --------------------------------------------------------------------------------

    def drain(self, wait: float = _DRAIN_WAIT) -> int:
        """Remove every ready sandbox and cancel pending refills (a start under way is awaited
        up to `wait` seconds, then removed by the worker).

        The pool stays usable: the next session's miss starts filling again. Returns how many
        ready sandboxes were removed (none in a forked child: they are its parent's).
        """
        if os.getpid() != self._pid:
            return 0
        with self._lock:
            self._generation += 1
            slots = [slot for ready in self._ready.values() for slot in ready]
            self._ready.clear()
            self._due.clear()
            self._failed.clear()
            self._changed.notify_all()
        for slot in slots:
            slot.destroy()
        deadline = time.monotonic() + wait
        with self._changed:
            while self._busy and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
        return len(slots)

    def close(self, wait: float = _DRAIN_WAIT) -> None:
        """Drain for good (interpreter exit, SIGTERM): nothing is started afterwards."""
        if os.getpid() != self._pid:
            return  # a forked child: the sandboxes (and perhaps this lock's holder) are its parent's
        with self._lock:
            self._closed = True
            self._changed.notify_all()
        self.drain(wait)


_POOL: WarmPool | None = None
_POOL_LOCK = threading.Lock()


def warm_pool() -> WarmPool:
    """This process's pool (made on first use, with its exit and SIGTERM hooks)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._pid != os.getpid():  # a forked child starts its own
            _POOL = WarmPool(_env_size() or DEFAULT_SIZE)
            atexit.register(_POOL.close)
            _hook_sigterm(_POOL)
        return _POOL


def _hook_sigterm(pool: WarmPool) -> None:
    """Drain on SIGTERM, then die of it as before; only when nobody else handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            with contextlib.suppress(Exception):
                pool.close(wait=2.0)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
