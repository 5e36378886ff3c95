"""Creating and starting the sandbox container for a `DockerExecutor`.

Local engine: the working dir is bind-mounted read-write at /workspace, each skill read-only at
/mnt/skills/<name>, each allowed path at its own path. Remote engine: the same paths are named
volumes (labelled like the container) filled with `put_archive` before the start.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ExecutorError
from .channel import Channel, RunnerGone
from .client import LABEL, is_remote
from .fallback import IDLE_COMMAND, ExecFallback
from .remote import Mirror, pack_skills
from .runner import SOURCE

if TYPE_CHECKING:  # pragma: no cover
    from .executor import DockerExecutor

__all__ = ["start_container"]

_WORKSPACE = "/workspace"
_SKILLS = "/mnt/skills"


def _ids(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise ExecutorError(f"user={user!r}: give numeric 'uid:gid' (e.g. '1000:1000')") from None


def _check_image(client: Any, image: str) -> None:
    import docker.errors

    try:
        client.api.inspect_image(image)
    except docker.errors.ImageNotFound:
        raise ExecutorError(
            f"the sandbox image {image!r} is not on the Docker engine; build it with "
            "`conjure-nb sandbox build --offline` (or `conjure-nb sandbox build` where a registry is "
            "reachable), or pass image= / set CONJURE_SANDBOX_IMAGE"
        ) from None


def _hand_over(path: Path, uid: int, gid: int, state: dict[str, Any]) -> None:
    """As root, make `path` (and what is in it) writable by the sandbox user; undone on close."""
    if os.geteuid() != 0 or uid == 0:
        return
    chowned = state.setdefault("chowned", [])
    for dirpath, _dirnames, filenames in os.walk(path):
        for full in [dirpath, *(os.path.join(dirpath, name) for name in filenames)]:
            st = os.lstat(full)
            if st.st_uid == uid or stat.S_ISLNK(st.st_mode):
                continue
            os.lchown(full, uid, gid)
            chowned.append((full, st.st_uid, st.st_gid))


def _local_binds(ex: DockerExecutor, uid: int, gid: int) -> dict[str, dict[str, str]]:
    cfg = ex.config
    binds = {str(Path(cfg.working_dir).resolve()): {"bind": _WORKSPACE, "mode": "rw"}}
    _hand_over(Path(cfg.working_dir).resolve(), uid, gid, ex._state)
    for skill in cfg.skills:
        binds[str(Path(skill.path).resolve())] = {"bind": f"{_SKILLS}/{skill.name}", "mode": "ro"}
    for allowed in cfg.allowed_paths:
        real = Path(allowed).resolve()
        binds[str(real)] = {"bind": str(allowed), "mode": "rw"}
        _hand_over(real, uid, gid, ex._state)
    for host, inside in ex.extra_mounts.items():
        binds[str(Path(host).resolve())] = {"bind": inside, "mode": "ro"}
    return binds


def _remote_binds(ex: DockerExecutor, uid: int, gid: int) -> dict[str, dict[str, str]]:
    """Named volumes for /workspace, /mnt/skills and each allowed path (created once)."""
    cfg = ex.config
    api = ex._client.api
    labels = {LABEL: cfg.session_id}
    targets = [(_WORKSPACE, cfg.working_dir), *((str(p), p) for p in cfg.allowed_paths)]
    if not ex._mirrors:  # first start, or an earlier start failed half-way
        for stale in ex._state.pop("volumes", []):
            with contextlib.suppress(Exception):
                api.remove_volume(stale, force=True)
        names = [f"conjure-nb-{cfg.session_id}-{i}-{uuid.uuid4().hex[:6]}" for i in range(len(targets) + 1)]
        ex._state["volumes"] = names  # recorded first: cleanup removes whatever was made
        for name in names:
            api.create_volume(name, labels=labels)
        _own_volumes(ex, names[1:], [inside for inside, _ in targets], uid, gid)
        ex._mirrors = [Mirror(Path(host), inside, uid, gid) for inside, host in targets]
        ex._state["fresh_skills"] = True
    names = ex._state["volumes"]
    binds = {names[0]: {"bind": _SKILLS, "mode": "rw,nocopy"}}
    for name, (inside, _host) in zip(names[1:], targets):
        binds[name] = {"bind": inside, "mode": "rw,nocopy"}
    return binds


def _own_volumes(ex: DockerExecutor, names: list[str], paths: list[str], uid: int, gid: int) -> None:
    """A new volume's root belongs to root; a one-shot helper hands it to the sandbox user."""
    client = ex._client
    binds = {name: {"bind": path, "mode": "rw,nocopy"} for name, path in zip(names, paths)}
    host_config = client.api.create_host_config(
        binds=binds, network_mode="none", cap_drop=["ALL"], cap_add=["CHOWN"]
    )
    helper = client.api.create_container(
        ex.image,
        command=["chown", f"{uid}:{gid}", *paths],
        user="0:0",
        labels={LABEL: ex.config.session_id},
        host_config=host_config,
    )["Id"]
    try:
        client.api.start(helper)
        code = client.api.wait(helper, timeout=ex.start_timeout).get("StatusCode")
        if code != 0:
            raise ExecutorError(f"could not hand the sandbox volumes to user {uid}:{gid} (chown exit {code})")
    finally:
        with contextlib.suppress(Exception):
            client.api.remove_container(helper, force=True)


def _host_config(ex: DockerExecutor, binds: dict[str, dict[str, str]]) -> Any:
    return ex._client.api.create_host_config(
        binds=binds,
        network_mode=ex.network,
        mem_limit=ex.memory,
        memswap_limit=ex.memory,
        nano_cpus=int(ex.cpus * 1e9),
        pids_limit=ex.pids_limit,
        read_only=ex.read_only,
        tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={ex.tmpfs_size},mode=1777"},
        security_opt=["no-new-privileges"],
        cap_drop=["ALL"],
        init=ex.init,
    )


def _create(ex: DockerExecutor, command: list[str], host_config: Any, interactive: bool) -> str:
    cid: str = ex._client.api.create_container(
        ex.image,
        command=command,
        user=ex.user,
        working_dir=_WORKSPACE,
        environment={"HOME": "/tmp/home", "TMPDIR": "/tmp", "LANG": "C.UTF-8"},
        labels={LABEL: ex.config.session_id},
        stdin_open=interactive,
        tty=False,
        host_config=host_config,
    )["Id"]
    ex._state["cid"] = cid
    return cid


def start_container(ex: DockerExecutor) -> None:
    """Create, fill (remote), attach and start the sandbox; wait for the runner's greeting.

    Raises:
        ExecutorError: the image is missing, the engine refused, or the runner never came up.
    """
    import docker.errors

    client = ex._client
    _check_image(client, ex.image)
    remote = ex.remote if ex.remote is not None else is_remote(client)
    ex._state["remote"] = remote
    uid, gid = _ids(ex.user)
    try:
        binds = _remote_binds(ex, uid, gid) if remote else _local_binds(ex, uid, gid)
        host_config = _host_config(ex, binds)
        cid = _create(ex, [ex.python, "-I", "-S", "-c", SOURCE], host_config, interactive=True)
        if remote and ex._state.pop("fresh_skills", False):
            client.api.put_archive(cid, _SKILLS, pack_skills(list(ex.config.skills)))
        sock = client.api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    except docker.errors.APIError as exc:
        raise ExecutorError(f"the Docker engine refused to create the sandbox: {exc}") from exc
    channel = Channel(sock)
    try:
        client.api.start(cid)
    except docker.errors.APIError as exc:
        channel.close()
        if "executable file not found" in str(exc) or "no such file" in str(exc).lower():
            _start_fallback(ex, host_config)
            return
        raise ExecutorError(f"the sandbox container did not start: {exc}") from exc
    hello = _greet(ex, channel, cid)
    if hello is None:
        _start_fallback(ex, host_config)
        return
    ex._attach_runner(channel, hello)
    for mirror in ex._mirrors:
        mirror.push(client, cid, _scanner(ex))


def _greet(ex: DockerExecutor, channel: Channel, cid: str) -> dict[str, Any] | None:
    """The runner's greeting; None when the image has no `ex.python` (exit code 127)."""
    try:
        return channel.hello(ex.start_timeout)
    except (RunnerGone, TimeoutError) as exc:
        logs = "".join(channel.stderr)[-2000:]
        channel.close()
        with contextlib.suppress(Exception):
            if ex._client.api.wait(cid, timeout=5).get("StatusCode") == 127:
                return None  # the init could not exec the interpreter
        from .executor import describe_exit

        detail = describe_exit(ex._client, cid)
        raise ExecutorError(
            f"the sandbox runner did not come up ({exc}{detail}){': ' + logs if logs else ''}"
        ) from exc


def _scanner(ex: DockerExecutor) -> Any:
    from .fs import RunnerFilesystem

    return RunnerFilesystem(ex._request)


def _start_fallback(ex: DockerExecutor, host_config: Any) -> None:
    client = ex._client
    with contextlib.suppress(Exception):
        client.api.remove_container(ex._state["cid"], force=True)
    cid = _create(ex, IDLE_COMMAND, host_config, interactive=False)
    try:
        client.api.start(cid)
    except Exception as exc:
        raise ExecutorError(
            f"the sandbox image {ex.image!r} has neither {ex.python!r} nor a POSIX shell: {exc}"
        ) from exc
    ex._use_fallback(ExecFallback(client, cid, ex.user, _WORKSPACE))
