"""Creating and starting the sandbox container for a `DockerExecutor`.

Local engine: the working dir is bind-mounted read-write at /workspace, each skill read-only at
/mnt/skills/<name>, each allowed path at its own path. Remote engine: the same paths are named
volumes (labelled like the container) filled with `put_archive` before the start.

Everything made is recorded in the executor's `SandboxState` the moment it exists, so a start
that fails half-way (the engine refuses, the runner never greets) leaves nothing behind once
the state is released.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import uuid
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..._errors import ExecutorError
from .._base import ExecutorSetup
from ._bytecode import bytecode
from ._channel import Channel, RunnerGone
from ._client import is_remote, labels
from ._fallback import IDLE_COMMAND, ExecFallback
from ._fs import RunnerFilesystem
from ._paths import HOME, SKILLS_ROOT, TMPDIR, WORKSPACE, skill_dir
from ._remote import Mirror, pack_skills
from ._spec import SandboxSpec
from ._state import Handback, SandboxState

if TYPE_CHECKING:  # pragma: no cover
    from ._executor import DockerExecutor

__all__ = [
    "BOOT",
    "check_image",
    "create",
    "describe_exit",
    "host_config",
    "launch",
    "own_volumes",
    "payload",
    "runner_command",
    "runner_payload",
    "runner_source",
    "start_container",
]

_LOG_CONFIG = {"Type": "none", "Config": {}}
"""No json-file log: the runner's replies (and anything else on the container's stdout) would
otherwise grow a file on the host without bound. The attach socket still carries them."""


@lru_cache(maxsize=1)
def runner_source() -> str:
    """The in-container runner's source (`_runner.py`, shipped as package data)."""
    return importlib.resources.files(__package__).joinpath("_runner.py").read_text(encoding="utf-8")


RUNNER_NAME = "<conjure-runner>"
BOOT = (
    "import sys, marshal\n"
    "b = sys.stdin.buffer\n"
    "n, m = map(int, b.readline().split())\n"
    "pyc, source = b.read(n), b.read(m)\n"
    "run = None\n"
    "if pyc[:4] == getattr(sys.modules.get('_frozen_importlib_external'), 'MAGIC_NUMBER', None):\n"
    "    try:\n"
    "        run = marshal.loads(pyc[16:])\n"
    "    except Exception:\n"
    "        run = None\n"
    f"run = run or compile(source, {RUNNER_NAME!r}, 'exec')\n"
    "del b, n, m, pyc, source\n"
    "exec(run)\n"
)
"""The container's program: it reads the runner from its stdin (`runner_payload`), as bytecode
where its Python has this interpreter's bytecode magic (the sandbox image's 3.11 does), else as
source. A command line this short keeps the engine's create and start ~5 ms quicker than one
holding the runner's 20 KB of source (the engine stores and copies the config more than once),
and the runner is not compiled in each new sandbox (~4 ms)."""


def payload(pyc: bytes, source: bytes) -> bytes:
    """What BOOT reads: a line with the two lengths, then a `.pyc`'s bytes (magic first; empty
    for none), then the source."""
    return f"{len(pyc)} {len(source)}\n".encode() + pyc + source


@lru_cache(maxsize=1)
def runner_payload() -> bytes:
    """The runner as BOOT reads it: its `.pyc` as this interpreter makes it, and its source."""
    source = runner_source().encode("utf-8")
    return payload(bytecode(source, RUNNER_NAME) or b"", source)


def runner_command(spec: SandboxSpec) -> list[str]:
    """The container's command: BOOT, by the image's own interpreter (`launch` feeds it)."""
    return [spec.python, "-I", "-S", "-c", BOOT]


def check_image(client: Any, image: str) -> str:
    """The image's id.

    Raises:
        ExecutorError: the engine does not have it; the message names the build command.
    """
    import docker.errors

    try:
        return str(client.api.inspect_image(image)["Id"])
    except docker.errors.ImageNotFound:
        raise ExecutorError(
            f"the sandbox image {image!r} is not on the Docker engine; build it with "
            "`conjure-nb sandbox build --offline` (or `conjure-nb sandbox build` where a registry is "
            "reachable), or pass image= / set CONJURE_SANDBOX_IMAGE"
        ) from None


def _hand_over(path: Path, uid: int, gid: int, state: SandboxState) -> None:
    """As root, make `path` (and what is in it) writable by the sandbox user; undone on close."""
    if os.geteuid() != 0 or uid == 0:
        return
    handback = Handback(path)
    state.handbacks.append(handback)  # recorded first: a failure half-way is still given back
    handback.hand_over(uid, gid)


def _local_binds(ex: DockerExecutor, state: SandboxState, uid: int, gid: int) -> dict[str, dict[str, str]]:
    cfg = ex.config
    binds = {str(Path(cfg.working_dir).resolve()): {"bind": WORKSPACE, "mode": "rw"}}
    _hand_over(Path(cfg.working_dir).resolve(), uid, gid, state)
    for skill in cfg.skills:
        binds[str(Path(skill.path).resolve())] = {"bind": skill_dir(skill.name), "mode": "ro"}
    for allowed in cfg.allowed_paths:
        real = Path(allowed).resolve()
        binds[str(real)] = {"bind": str(allowed), "mode": "rw"}
        _hand_over(real, uid, gid, state)
    for host, inside in ex.extra_mounts.items():
        binds[str(Path(host).resolve())] = {"bind": inside, "mode": "ro"}
    return binds


def _remote_binds(ex: DockerExecutor, state: SandboxState, uid: int, gid: int) -> dict[str, dict[str, str]]:
    """Named volumes for /workspace, /mnt/skills and each allowed path (created once)."""
    cfg = ex.config
    api = state.client.api
    targets = [(WORKSPACE, cfg.working_dir), *((str(p), p) for p in cfg.allowed_paths)]
    if not state.mirrors:  # first start, or an earlier start failed half-way
        for stale in state.volumes:
            with contextlib.suppress(Exception):
                api.remove_volume(stale, force=True)
        names = [f"conjure-nb-{cfg.session_id}-{i}-{uuid.uuid4().hex[:6]}" for i in range(len(targets) + 1)]
        state.volumes = names  # recorded first: cleanup removes whatever was made
        for name in names:
            api.create_volume(name, labels=labels(cfg.session_id))
        own_volumes(ex.spec(), state, names[1:], [inside for inside, _ in targets], cfg.session_id)
        state.mirrors = [Mirror(Path(host), inside, uid, gid) for inside, host in targets]
        state.fresh_skills = True
    binds = {state.volumes[0]: {"bind": SKILLS_ROOT, "mode": "rw,nocopy"}}
    for name, (inside, _host) in zip(state.volumes[1:], targets):
        binds[name] = {"bind": inside, "mode": "rw,nocopy"}
    return binds


def own_volumes(
    spec: SandboxSpec, state: SandboxState, names: list[str], paths: list[str], label: str
) -> None:
    """A new volume's root belongs to root; a one-shot helper hands it to the sandbox user."""
    api = state.client.api
    binds = {name: {"bind": path, "mode": "rw,nocopy"} for name, path in zip(names, paths)}
    config = api.create_host_config(
        binds=binds, network_mode="none", cap_drop=["ALL"], cap_add=["CHOWN"], log_config=_LOG_CONFIG
    )
    uid, gid = spec.ids
    helper = state.record(
        api.create_container(
            spec.image,
            command=["chown", f"{uid}:{gid}", *paths],
            user="0:0",
            labels=labels(label),
            host_config=config,
        )["Id"]
    )
    try:
        api.start(helper)
        code = api.wait(helper, timeout=spec.start_timeout).get("StatusCode")
        if code != 0:
            raise ExecutorError(f"could not hand the sandbox volumes to user {uid}:{gid} (chown exit {code})")
    finally:
        state.discard(helper)


def host_config(
    spec: SandboxSpec,
    state: SandboxState,
    binds: dict[str, Any],
    *,
    init: bool = False,
    auto_remove: bool = False,
) -> Any:
    """The locked-down host config: no network, limits, read-only root, no capabilities."""
    return state.client.api.create_host_config(
        binds=binds,
        network_mode=spec.network,
        mem_limit=spec.memory,
        memswap_limit=spec.memory,
        nano_cpus=int(spec.cpus * 1e9),
        pids_limit=spec.pids_limit,
        read_only=spec.read_only,
        tmpfs={TMPDIR: f"rw,exec,nosuid,nodev,size={spec.tmpfs_size},mode=1777"},
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        init=init,
        auto_remove=auto_remove,
        log_config=_LOG_CONFIG,
    )


def create(spec: SandboxSpec, state: SandboxState, command: list[str], config: Any, label: str) -> str:
    """Create (not start) a sandbox container, recorded in `state` at once."""
    interactive = command[0] == spec.python
    cid: str = state.client.api.create_container(
        spec.image,
        command=command,
        user=spec.user,
        working_dir=WORKSPACE,
        environment={"HOME": HOME, "TMPDIR": TMPDIR, "LANG": "C.UTF-8"},
        labels=labels(label),
        stdin_open=interactive,  # docker-py sets StdinOnce with it: a dropped attach is EOF
        tty=False,
        host_config=config,
    )["Id"]
    return state.record(cid)


def start_container(ex: DockerExecutor, state: SandboxState) -> None:
    """Create, fill (remote), attach and start the sandbox; wait for the runner's greeting.

    On return `state.channel` is the live runner, or `state.fallback` the exec-per-call path for
    an image without `ex.python`.

    Raises:
        ExecutorError: the image is missing, the engine refused, or the runner never came up.
    """
    import docker.errors

    spec = ex.spec()
    api = state.client.api
    check_image(state.client, spec.image)
    if state.remote is None:
        state.remote = ex.remote if ex.remote is not None else is_remote(state.client)
    uid, gid = spec.ids
    try:
        binds = (_remote_binds if state.remote else _local_binds)(ex, state, uid, gid)
        # no docker init: the runner is PID 1 itself, so it alone holds the attach pipes
        cid = create(spec, state, runner_command(spec), host_config(spec, state, binds), ex.config.session_id)
        if state.remote and state.fresh_skills:
            api.put_archive(cid, SKILLS_ROOT, pack_skills(list(ex.config.skills)))
            state.fresh_skills = False
    except docker.errors.APIError as exc:
        raise ExecutorError(f"the Docker engine refused to create the sandbox: {exc}") from exc
    channel = launch(spec, state, cid)
    if channel is None:
        _start_fallback(ex, state, binds)
        return
    state.channel = channel
    scanner = runner_filesystem(channel, ex.config)
    for mirror in state.mirrors:
        mirror.push(state.client, cid, scanner)


def launch(spec: SandboxSpec, state: SandboxState, cid: str) -> Channel | None:
    """Attach to a created runner container, start it and wait for its greeting.

    Returns:
        The live channel, or None when the image has no `spec.python` (use the exec fallback).

    Raises:
        ExecutorError: the engine refused, or the runner never came up.
    """
    import docker.errors

    api = state.client.api
    try:
        sock = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    except docker.errors.APIError as exc:
        raise ExecutorError(f"the Docker engine refused to attach to the sandbox: {exc}") from exc
    channel = Channel(sock)
    try:
        api.start(cid)
    except docker.errors.APIError as exc:
        channel.close()
        if "executable file not found" in str(exc) or "no such file" in str(exc).lower():
            return None
        raise ExecutorError(f"the sandbox container did not start: {exc}") from exc
    with contextlib.suppress(RunnerGone):  # (gone already: the greeting's wait says why)
        channel.feed(runner_payload())
    if _greet(spec, state, channel, cid) is None:
        return None
    return channel


def runner_filesystem(channel: Channel, cfg: ExecutorSetup, grace: float = 5.0) -> RunnerFilesystem:
    """A `Filesystem` whose operations are requests to `channel`, each waiting `timeout + grace`."""
    return RunnerFilesystem(lambda op, **fields: channel.request(op, cfg.timeout + grace, **fields))


def _greet(spec: SandboxSpec, state: SandboxState, channel: Channel, cid: str) -> dict[str, Any] | None:
    """The runner's greeting; None when the image has no `spec.python` (exit code 127)."""
    try:
        return channel.hello(spec.start_timeout)
    except (RunnerGone, TimeoutError) as exc:
        logs = "".join(channel.stderr)[-2000:]
        channel.close()
        with contextlib.suppress(Exception):
            if state.client.api.wait(cid, timeout=5).get("StatusCode") == 127:
                return None  # the interpreter is not in the image
        detail = describe_exit(state.client, cid)
        raise ExecutorError(
            f"the sandbox runner did not come up ({exc}{detail}){': ' + logs if logs else ''}"
        ) from exc


def _start_fallback(ex: DockerExecutor, state: SandboxState, binds: dict[str, Any]) -> None:
    state.discard(state.container)
    spec = ex.spec()
    cid = create(
        spec, state, IDLE_COMMAND, host_config(spec, state, binds, init=ex.init), ex.config.session_id
    )
    try:
        state.client.api.start(cid)
    except Exception as exc:
        raise ExecutorError(
            f"the sandbox image {ex.image!r} has neither {ex.python!r} nor a POSIX shell: {exc}"
        ) from exc
    state.fallback = ExecFallback(state.client, cid, ex.user, WORKSPACE)


def describe_exit(client: Any, cid: str) -> str:
    """'; container exited with code 137, OOMKilled' or '' when it cannot be inspected."""
    import time

    for _ in range(20):
        try:
            info = client.api.inspect_container(cid)["State"]
        except Exception:
            return ""
        if not info.get("Running"):
            oom = ", killed by the out-of-memory killer" if info.get("OOMKilled") else ""
            return f"; the container exited with code {info.get('ExitCode')}{oom}"
        time.sleep(0.05)
    return "; the container is still running but its runner does not answer"
