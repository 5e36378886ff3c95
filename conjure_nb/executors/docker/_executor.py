"""`DockerExecutor`: every tool call inside a locked-down sandbox container, one per session.

The container starts on the first call with a small runner (see `_runner.py`) as its main process;
tool calls are requests over the attached stdin/stdout, not one `docker exec` each, which makes
a warm `bash -c true` a few milliseconds instead of tens. What it made lives in one
`SandboxState` (see `_state.py`), container paths in `_paths.py`. The container carries the label
`conjure-nb=<session id>` and is removed on `close()`, when the executor is garbage collected, and
at interpreter exit; the runner also exits when its attach connection drops (`stdin_once`), so a
killed Python process leaves only a stopped container for `conjure-nb sandbox prune`.

With the warm pool (`_pool.py`, on by default) a session whose sandbox can be given its parts at
hand-out takes a ready container in `setup` instead, and a miss starts one as above.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from ..._errors import ExecutorError
from ...tools import ToolCall, ToolResult
from ...tools._data import ErrorCode
from .._base import ExecutorSetup, ShellExecutor, build_env, process_result
from .._file_tools import FileTools, PathPolicy
from ._channel import Channel, RunnerGone
from ._client import connect, engine_url, is_remote_url
from ._container import describe_exit, runner_filesystem, start_container
from ._image import default_image
from ._paths import CONTAINER_PATH, HOME, TMPDIR, WORKSPACE, skill_dir
from ._pool import pool_enabled, warm_pool
from ._spec import SandboxSpec
from ._state import SandboxState, release

__all__ = ["CONTAINER_PATH", "DockerExecutor"]

_GRACE = 30.0  # seconds past a command's timeout before the host gives up on the runner
_FILE_GRACE = 5.0  # the same for a file tool: the runner refuses what could block
_NOBODY = "65534:65534"


class DockerExecutor(ShellExecutor):
    """Runs tool calls in a sandbox container (no network, read-only root, non-root, limits).

    Args:
        image: the sandbox image (default: $CONJURE_SANDBOX_IMAGE, else `conjure-nb/sandbox:latest`,
            built by `conjure-nb sandbox build --offline`).
        base_url: the engine (`unix://...`, `tcp://host:2376`, `ssh://...`); default: what
            `docker.from_env()` finds (DOCKER_HOST and friends).
        remote: copy skills and files in and out with put/get_archive instead of bind mounts.
            None detects it: any engine not reached over a unix socket or loopback is remote.
        network: the container's network mode; "none" cuts it off entirely.
        memory: memory limit (swap included), e.g. "512m"; OOM kills are reported per call.
        cpus: CPU quota in cores.
        pids_limit: most processes/threads at once (contains fork bombs).
        read_only: mount the image's root filesystem read-only (/tmp is a tmpfs).
        tmpfs_size: size of the /tmp tmpfs (it counts against `memory`).
        user: "uid:gid" inside the container; default: the caller's uid:gid, or 65534 (nobody)
            when the caller is root.
        python: the interpreter that runs the runner; an image without it falls back to
            `exec_run` per call (slower, with a warning).
        init: run docker's tiny init as PID 1 in the exec fallback (images without Python). With
            the runner there is no init: the runner is PID 1 itself and reaps every orphan.
        extra_mounts: more host paths to mount read-only, {host_path: container_path}.
        start_timeout: seconds to wait for the container and runner to come up.
        pool: take a ready container from the warm pool when the session allows it (see
            docs/docker.md, "Warm pool"); False never does. None: on unless CONJURE_DOCKER_POOL=0.
    """

    backend = "docker"

    def __init__(
        self,
        *,
        image: str | None = None,
        base_url: str | None = None,
        remote: bool | None = None,
        network: str = "none",
        memory: str = "512m",
        cpus: float = 1.0,
        pids_limit: int = 256,
        read_only: bool = True,
        tmpfs_size: str = "256m",
        user: str | None = None,
        python: str = "python3",
        init: bool = True,
        extra_mounts: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
        pool: bool | None = None,
    ):
        self.image = image or default_image()
        self.base_url = base_url
        self.remote = remote
        self.network = network
        self.memory = memory
        self.cpus = cpus
        self.pids_limit = pids_limit
        self.read_only = read_only
        self.tmpfs_size = tmpfs_size
        self.user = user or (_NOBODY if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}")
        self.python = python
        self.init = init
        self.extra_mounts = dict(extra_mounts or {})
        self.start_timeout = start_timeout
        self.pool = pool
        self._refill: SandboxSpec | None = None  # a pool miss: fill the pool once our start is done
        self._lock = threading.RLock()
        self._state = SandboxState()
        self._finalizer: weakref.finalize[Any, DockerExecutor] | None = None
        self._env: dict[str, str] = {}
        self._closed = False
        self._starting: Future[None] | None = None
        self._cancels = 0  # bumped by cancel(): calls that had not reached the runner give up
        # a command is sent, or cancel() bumps and tells the runner, one at a time: a cancel is either
        # seen before the command goes out or reaches the runner after it
        self._cancel_lock = threading.RLock()

    # -- the seam ---------------------------------------------------------------------------

    def setup(self, setup: ExecutorSetup) -> None:
        """Take the session's setup: the sandbox's environment is built from it (never inherited), and
        a ready sandbox is taken from the warm pool when the session may use one (else its own
        container starts on first use)."""
        super().setup(setup)
        env = build_env(setup.env, home=HOME, tmpdir=TMPDIR, python_bin=False)
        if "PATH" not in setup.env:
            env["PATH"] = CONTAINER_PATH
        env.setdefault("MPLBACKEND", "Agg")
        self._env = env
        if self._poolable():
            self._take_from_pool()

    def spec(self) -> SandboxSpec:
        """This executor's container settings: what the warm pool keys its sandboxes by."""
        remote = self.remote if self.remote is not None else is_remote_url(engine_url(self.base_url))
        return SandboxSpec(
            image=self.image,
            engine=engine_url(self.base_url),
            base_url=self.base_url,
            remote=remote,
            network=self.network,
            memory=self.memory,
            cpus=self.cpus,
            pids_limit=self.pids_limit,
            read_only=self.read_only,
            tmpfs_size=self.tmpfs_size,
            user=self.user,
            python=self.python,
            extra_mounts=tuple(sorted(self.extra_mounts.items())),
            start_timeout=self.start_timeout,
        )

    def warm(self, *, wait: float = 0.0) -> bool:
        """Start filling the warm pool for this executor's settings now, before any session needs it.

        Args:
            wait: seconds to wait until the pool is full (0: return at once).

        Returns:
            Whether the pool is full for these settings.
        """
        spec = self.spec()
        pool = warm_pool()
        pool.fill(spec)
        return pool.wait_ready(spec, wait) if wait > 0 else pool.ready(spec) >= pool.size

    def skill_location(self, skill: Any) -> str:
        return f"{skill_dir(skill.name)}/SKILL.md"

    def working_dir_display(self) -> str:
        return WORKSPACE

    @property
    def container_id(self) -> str | None:
        return self._state.container

    @property
    def is_remote(self) -> bool:
        """Whether files travel by put/get_archive (decided when the container starts)."""
        return bool(self._state.remote if self._state.remote is not None else self.remote)

    def run_command(self, command: str, timeout: float | None = None) -> ToolResult:
        """Run one shell command in the sandbox with the session's timeout, env and output cap."""
        cfg = self.config
        timeout = cfg.timeout if timeout is None else timeout
        t0 = time.perf_counter()
        epoch = self._cancels
        channel = self._ensure_started()
        if channel is None:
            fallback = self._state.fallback
            assert fallback is not None
            return fallback.exec(command, self._env, timeout, cfg.max_output)
        self._push(channel)
        fields = {"cmd": command, "env": self._env, "cwd": WORKSPACE, "timeout": timeout}
        try:
            with self._cancel_lock:
                if self._cancels != epoch:
                    return _cancelled(t0)
                answer = channel.ask("exec", limit=cfg.max_output, **fields)
            reply = answer(timeout + _GRACE)
        except (RunnerGone, TimeoutError) as exc:
            return self._died(exc, t0)
        ms = (time.perf_counter() - t0) * 1000
        if "error" in reply:
            return _failed(f"the sandbox could not start the command: {reply['error']}", t0, "spawn_failed")
        note = None
        if reply.get("oom"):
            note = f"killed: out of memory (limit {self.memory})"
        elif reply.get("cancelled"):
            note = "cancelled"
        return process_result(
            reply.get("exit") if isinstance(reply.get("exit"), int) else None,
            str(reply.get("stdout", "")),
            str(reply.get("stderr", "")),
            duration_ms=ms,
            max_output=cfg.max_output,
            timed_out=timeout if reply.get("timed_out") else None,
            note=note,
        )

    def run_file_tool(self, call: ToolCall) -> ToolResult:
        t0 = time.perf_counter()
        epoch = self._cancels
        channel = self._ensure_started()
        if channel is not None:
            self._push(channel)
        files = self._state.files
        assert files is not None
        if self._cancels != epoch:
            return _cancelled(t0)
        try:
            return files.run(call)
        except (RunnerGone, TimeoutError) as exc:
            return self._died(exc, t0)

    def sync_out(self) -> None:
        """Remote mode: copy new/changed regular files of /workspace into the host working dir."""
        state = self._state
        channel = state.channel
        cid = state.container
        if not state.mirrors or channel is None or not channel.alive or self._closed or cid is None:
            return
        fs = runner_filesystem(channel, self.config, _FILE_GRACE)
        try:
            for mirror in state.mirrors:
                mirror.pull(state.client, cid, fs.scan(mirror.container_dir))
        except (RunnerGone, TimeoutError, OSError):
            return  # the next call reports the dead container

    def cancel(self) -> None:
        with self._cancel_lock:
            self._cancels += 1
            channel = self._state.channel
            if channel is not None and channel.alive:
                with contextlib.suppress(RunnerGone):
                    channel.send({"id": -1, "op": "cancel"})
        if self._state.fallback is not None:
            self._state.fallback.cancel()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._state.channel is not None:
                self._state.channel.close()
            if self._finalizer is not None:
                self._finalizer()

    # -- container lifecycle -----------------------------------------------------------------

    def _poolable(self) -> bool:
        """Whether a pooled sandbox can be given this session's parts at hand-out.

        Allowed paths are mounted at their own paths, which a started container cannot gain, and
        the working dir must be one the session just made for itself (on a local engine a pooled
        workspace takes its place; a dir of yours is never replaced).
        """
        cfg = self.config
        if not pool_enabled(self.pool) or cfg.allowed_paths or self._state.container is not None:
            return False
        return cfg.fresh_working_dir

    def _take_from_pool(self) -> None:
        """Take a ready sandbox and give it this session's parts; on a miss, note what to refill."""
        spec = self.spec()
        pool = warm_pool()
        try:
            slot = pool.take(spec, self.config.skills)
        except Exception:  # the pool is an optimisation: any failure is a miss
            slot = None
        if slot is None:
            self._refill = spec
            return
        try:
            state = slot.hand_out(self.config)
        except BaseException as exc:  # an interrupt too: a taken slot is never left running
            slot.destroy()
            if not isinstance(exc, Exception):
                raise
            self._refill = spec
            return
        with self._lock:
            self._state = state
            self._finalizer = weakref.finalize(self, release, state)
            self._attach()

    def _ensure_started(self) -> Channel | None:
        """The live channel (None in exec_run fallback mode); starts the container if needed.

        The start runs in a worker thread that holds the lock: a KeyboardInterrupt in the caller
        only abandons the wait, never a half-made container, volume or HTTP request.
        """
        channel = self._state.channel
        if channel is not None and channel.alive:
            return channel
        with self._lock:
            if self._closed:
                raise ExecutorError("this DockerExecutor is closed; start a new session")
            channel = self._state.channel
            if channel is not None and channel.alive:
                return channel
            if self._state.fallback is not None:
                return None
            starting = self._starting
            if starting is None or starting.done():
                starting = self._starting = Future()
                threading.Thread(target=self._start, args=(starting,), name="conjure-docker-start").start()
        starting.result()
        return self._state.channel

    def _start(self, done: Future[None]) -> None:
        state = self._state
        try:
            with self._lock:
                if self._closed:
                    raise ExecutorError("this DockerExecutor was closed while its sandbox was starting")
                if state.client is None:
                    state.client = connect(self.base_url)
                    self._finalizer = weakref.finalize(self, release, state)
                try:
                    start_container(self, state)
                except BaseException:
                    state.discard(state.container)  # a failed attempt leaves no container
                    raise
                self._attach()
        except BaseException as exc:
            done.set_exception(exc)
            return  # no refill: an engine that could not start our sandbox cannot start the pool's
        done.set_result(None)
        refill, self._refill = self._refill, None
        if refill is not None:  # after our own start: filling never slows the miss itself
            with contextlib.suppress(Exception):
                warm_pool().fill(refill, self.config.skills)

    def _attach(self) -> None:
        """Build the file tools over what `start_container` started (runner or fallback)."""
        state, cfg = self._state, self.config
        if state.fallback is not None:
            warnings.warn(
                f"image {self.image} has no {self.python!r}: the docker executor falls back to one "
                "`docker exec` per call (tens of ms each); install python3 in the image for speed",
                RuntimeWarning,
                stacklevel=6,
            )
            state.files = state.fallback.file_tools(cfg)
            return
        assert state.channel is not None
        fs = runner_filesystem(state.channel, cfg, _FILE_GRACE)
        policy = PathPolicy(
            WORKSPACE,
            writable=[WORKSPACE, *(str(p) for p in cfg.allowed_paths)],
            readonly=[skill_dir(s.name) for s in cfg.skills],
            fs=fs,
        )
        state.files = FileTools(fs, policy, cfg.max_output)

    def _push(self, channel: Channel) -> None:
        state = self._state
        if state.mirrors and state.container is not None and not self._closed:
            fs = runner_filesystem(channel, self.config, _FILE_GRACE)
            for mirror in state.mirrors:
                mirror.push(state.client, state.container, fs)

    def _died(self, exc: BaseException, t0: float) -> ToolResult:
        """The runner or container went away mid-call: an is_error result; next call restarts."""
        if self._closed:
            return _failed("The session was closed while this call ran; it was stopped.", t0, "closed")
        with self._lock:
            state = self._state
            cid = state.container
            detail = describe_exit(state.client, cid) if cid else ""
            if state.channel is not None:
                state.channel.close()
                state.channel = None
            state.discard(cid)
        msg = (
            f"The sandbox container died while running this call ({exc}{detail}). "
            "The next call starts a fresh container; files in /workspace are kept."
        )
        return _failed(msg, t0, "container_died")


def _cancelled(t0: float) -> ToolResult:
    return _failed("Cancelled before it started.", t0, "cancelled")


def _failed(msg: str, t0: float, code: ErrorCode) -> ToolResult:
    """A call the sandbox could not run (infrastructure, not the command): an is_error result."""
    return ToolResult(
        msg,
        is_error=True,
        exit_code=None,
        stdout="",
        stderr=msg,
        duration_ms=(time.perf_counter() - t0) * 1000,
        error_code=code,
    )
