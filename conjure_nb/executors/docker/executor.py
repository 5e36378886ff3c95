"""`DockerExecutor`: every tool call inside a locked-down sandbox container, one per session.

The container starts on the first call with a small runner (see `runner.py`) as its main process;
tool calls are requests over the attached stdin/stdout, not one `docker exec` each, which makes
a warm `bash -c true` about a millisecond instead of tens. The container carries the label
`conjure-nb=<session id>` and is removed on `close()`, when the executor is garbage collected, and
at interpreter exit; the runner also exits when its attach connection drops (`stdin_once`), so a
killed Python process leaves only a stopped container for `conjure-nb sandbox prune`.
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

from ...errors import ExecutorError
from ...tools import ToolCall, ToolResult
from ..base import ExecutorSetup, ShellExecutor, build_env, process_result
from ..files import FileTools, PathPolicy
from .channel import Channel, RunnerGone
from .client import connect
from .fallback import ExecFallback
from .fs import RunnerFilesystem
from .image import default_image
from .remote import Mirror

__all__ = ["CONTAINER_PATH", "DockerExecutor"]

WORKSPACE = "/workspace"
SKILLS_ROOT = "/mnt/skills"
CONTAINER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
_GRACE = 30.0  # seconds past a call's timeout before the host gives up on the runner
_NOBODY = "65534:65534"


def _cleanup(client: Any, state: dict[str, Any]) -> None:
    """Remove the container and volumes in `state`; restore chowned dirs. Never raises."""
    channel = state.pop("channel", None)
    if channel is not None:
        channel.close()
    for cid in [state.pop("cid", None), *state.pop("stale", [])]:
        if cid:
            with contextlib.suppress(Exception):
                client.api.remove_container(cid, force=True, v=True)
    for name in state.pop("volumes", []):
        with contextlib.suppress(Exception):
            client.api.remove_volume(name, force=True)
    for path, uid, gid in state.pop("chowned", []):
        with contextlib.suppress(OSError):
            os.lchown(path, uid, gid)
    with contextlib.suppress(Exception):
        client.close()


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
        init: run docker's tiny init as PID 1 so orphaned processes are reaped.
        extra_mounts: more host paths to mount read-only, {host_path: container_path}.
        start_timeout: seconds to wait for the container and runner to come up.
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
        self._lock = threading.RLock()
        self._client: Any = None
        self._state: dict[str, Any] = {}
        self._finalizer: weakref.finalize[Any, DockerExecutor] | None = None
        self._channel: Channel | None = None
        self._fallback: ExecFallback | None = None
        self._files: FileTools | None = None
        self._mirrors: list[Mirror] = []
        self._env: dict[str, str] = {}
        self._closed = False
        self._starting: Future[None] | None = None
        self._cancels = 0  # bumped by cancel(): calls that had not reached the runner give up

    # -- the seam ---------------------------------------------------------------------------

    def setup(self, setup: ExecutorSetup) -> None:
        super().setup(setup)
        env = build_env(setup.env, home="/tmp/home", tmpdir="/tmp", python_bin=False)
        if "PATH" not in setup.env:
            env["PATH"] = CONTAINER_PATH
        env.setdefault("MPLBACKEND", "Agg")
        self._env = env

    def skill_location(self, skill: Any) -> str:
        return f"{SKILLS_ROOT}/{skill.name}/SKILL.md"

    def working_dir_display(self) -> str:
        return WORKSPACE

    @property
    def container_id(self) -> str | None:
        cid = self._state.get("cid")
        return str(cid) if cid else None

    @property
    def is_remote(self) -> bool:
        """Whether files travel by put/get_archive (decided when the container starts)."""
        return bool(self._state.get("remote", self.remote))

    def run_command(self, command: str, timeout: float | None = None) -> ToolResult:
        """Run one shell command in the sandbox with the session's timeout, env and output cap."""
        cfg = self.config
        timeout = cfg.timeout if timeout is None else timeout
        t0 = time.perf_counter()
        epoch = self._cancels
        channel = self._ensure_started()
        if channel is None:
            assert self._fallback is not None
            return self._fallback.exec(command, self._env, timeout, cfg.max_output)
        self._push()
        if self._cancels != epoch:
            return _cancelled(t0)
        fields = {"cmd": command, "env": self._env, "cwd": WORKSPACE, "timeout": timeout}
        try:
            reply = channel.request("exec", timeout + _GRACE, limit=cfg.max_output, **fields)
        except (RunnerGone, TimeoutError) as exc:
            return self._died(exc, t0)
        ms = (time.perf_counter() - t0) * 1000
        if "error" in reply:
            msg = f"the sandbox could not start the command: {reply['error']}"
            return ToolResult(msg, True, None, "", msg, ms, error_code="spawn_failed")
        note = None
        if reply.get("oom"):
            note = f"killed: out of memory (limit {self.memory})"
        elif reply.get("cancelled"):
            note = "cancelled"
        return process_result(
            reply.get("exit"),
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
        self._push()
        files = self._files
        assert files is not None
        if self._cancels != epoch:
            return _cancelled(t0)
        try:
            return files.run(call)
        except (RunnerGone, TimeoutError) as exc:
            return self._died(exc, t0)
        finally:
            del channel

    def sync_out(self) -> None:
        """Remote mode: copy new/changed regular files of /workspace into the host working dir."""
        channel = self._channel
        if not self._mirrors or channel is None or not channel.alive or self._closed:
            return
        fs = RunnerFilesystem(self._request)
        try:
            for mirror in self._mirrors:
                mirror.pull(self._client, self._state["cid"], fs.scan(mirror.container_dir))
        except (RunnerGone, TimeoutError, OSError):
            return  # the next call reports the dead container

    def cancel(self) -> None:
        self._cancels += 1
        channel = self._channel
        if channel is not None and channel.alive:
            with contextlib.suppress(RunnerGone):
                channel.send({"id": -1, "op": "cancel"})
        if self._fallback is not None:
            self._fallback.cancel()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            if self._finalizer is not None:
                self._finalizer()

    # -- container lifecycle -----------------------------------------------------------------

    def _request(self, op: str, **fields: Any) -> dict[str, Any]:
        channel = self._channel
        if channel is None:
            raise RunnerGone("the sandbox is not running")
        return channel.request(op, self.config.timeout + _GRACE, **fields)

    def _ensure_started(self) -> Channel | None:
        """The live channel (None in exec_run fallback mode); starts the container if needed.

        The start runs in a worker thread that holds the lock: a KeyboardInterrupt in the caller
        only abandons the wait, never a half-made container, volume or HTTP request.
        """
        channel = self._channel
        if channel is not None and channel.alive:
            return channel
        with self._lock:
            if self._closed:
                raise ExecutorError("this DockerExecutor is closed; start a new session")
            if self._channel is not None and self._channel.alive:
                return self._channel
            if self._fallback is not None:
                return None
            starting = self._starting
            if starting is None or starting.done():
                starting = self._starting = Future()
                threading.Thread(target=self._start, args=(starting,), name="conjure-docker-start").start()
        starting.result()
        return self._channel

    def _start(self, done: Future[None]) -> None:
        try:
            with self._lock:
                if self._closed:
                    raise ExecutorError("this DockerExecutor was closed while its sandbox was starting")
                if self._client is None:
                    self._client = connect(self.base_url)
                    self._finalizer = weakref.finalize(self, _cleanup, self._client, self._state)
                from .container import start_container

                start_container(self)
        except BaseException as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)

    def _push(self) -> None:
        if self._mirrors and self._channel is not None and not self._closed:
            fs = RunnerFilesystem(self._request)
            for mirror in self._mirrors:
                mirror.push(self._client, self._state["cid"], fs)

    def _died(self, exc: BaseException, t0: float) -> ToolResult:
        """The runner or container went away mid-call: an is_error result; next call restarts."""
        if self._closed:
            msg = "The session was closed while this call ran; it was stopped."
            return ToolResult(
                msg, True, None, "", msg, (time.perf_counter() - t0) * 1000, error_code="closed"
            )
        with self._lock:
            cid = self._state.get("cid")
            detail = describe_exit(self._client, cid) if cid else ""
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            if cid:
                self._state.setdefault("stale", []).append(cid)
                self._state["cid"] = None
                with contextlib.suppress(Exception):
                    self._client.api.remove_container(cid, force=True)
        msg = (
            f"The sandbox container died while running this call ({exc}{detail}). "
            "The next call starts a fresh container; files in /workspace are kept."
        )
        ms = (time.perf_counter() - t0) * 1000
        return ToolResult(msg, True, None, "", msg, ms, error_code="container_died")

    def _attach_runner(self, channel: Channel, hello: dict[str, Any]) -> None:
        """Called by `start_container` once the runner greeted us."""
        self._channel = channel
        self._state["channel"] = channel
        fs = RunnerFilesystem(self._request)
        cfg = self.config
        policy = PathPolicy(
            WORKSPACE,
            writable=[WORKSPACE, *(str(p) for p in cfg.allowed_paths)],
            readonly=[f"{SKILLS_ROOT}/{s.name}" for s in cfg.skills],
            fs=fs,
        )
        self._files = FileTools(fs, policy, cfg.max_output)

    def _use_fallback(self, fallback: ExecFallback) -> None:
        warnings.warn(
            f"image {self.image} has no {self.python!r}: the docker executor falls back to one "
            "`docker exec` per call (tens of ms each); install python3 in the image for speed",
            RuntimeWarning,
            stacklevel=4,
        )
        self._fallback = fallback
        self._files = fallback.file_tools(self.config)


def _cancelled(t0: float) -> ToolResult:
    msg = "Cancelled before it started."
    return ToolResult(msg, True, None, "", msg, (time.perf_counter() - t0) * 1000, error_code="cancelled")


def describe_exit(client: Any, cid: str) -> str:
    """'; container exited with code 137, OOMKilled' or '' when it cannot be inspected."""
    for _ in range(20):
        try:
            state = client.api.inspect_container(cid)["State"]
        except Exception:
            return ""
        if not state.get("Running"):
            oom = ", killed by the out-of-memory killer" if state.get("OOMKilled") else ""
            return f"; the container exited with code {state.get('ExitCode')}{oom}"
        time.sleep(0.05)
    return "; the container is still running but its runner does not answer"
