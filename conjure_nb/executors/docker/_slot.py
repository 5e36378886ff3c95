"""One warm sandbox: a runner container started before any session, and how a session receives it.

A slot is started exactly like a session's sandbox (same image, limits, user, no network,
read-only root, no capabilities) but with nothing of any session in it:

- **Local engine:** a fresh host directory is bind-mounted read-write at `/workspace` and another,
  read-only, at `/mnt/skills`. The session's skills are copied into the second (regular files and
  directories only: a symlink in a skill is never followed to the host), and the first is renamed
  onto the session's own freshly made (still empty) working dir. The pool copies the skills the
  last session of this spec had while the slot waits; at hand-out a signature of the session's
  skill folders (every entry's name, mode, size and mtime) is compared with the one taken before
  that copy, and on any difference the folder is emptied and copied again. A bind mount follows the
  directory, not its name, so from then on the host working dir *is* the container's `/workspace`,
  exactly as when it was mounted at start.
- **Remote engine:** named volumes for `/mnt/skills` (root-owned, so read-only to the sandbox user)
  and `/workspace` (handed to the sandbox user), as a session's own remote sandbox has. At hand-out
  the skills go in with `put_archive` and the working dir is mirrored as usual.

Pooled containers are created with AutoRemove: the runner exits when its attach connection drops
(a killed or terminated Python process), and the engine then removes the container itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..._errors import ExecutorError
from .._base import ExecutorSetup
from ._bytecode import PYCACHE, bytecode, pyc_name
from ._channel import RunnerGone
from ._client import labels
from ._container import check_image, create, host_config, launch, own_volumes, runner_command
from ._paths import CONTAINER_PATH, HOME, SKILLS_ROOT, TMPDIR, WORKSPACE
from ._remote import Mirror, pack_skills
from ._spec import SandboxSpec
from ._state import SandboxState, release

__all__ = ["POOL_LABEL", "Slot", "start_slot"]

POOL_LABEL = "pool"
"""The `conjure-nb` label value of a warm pool's containers and volumes (no session owns them yet)."""
_CHECK_WAIT = 5.0  # seconds the runner has to answer the hand-out check


@dataclass
class Slot:
    """A started, never used sandbox waiting in the pool.

    Attributes:
        spec: what it was made from (its pool key).
        state: the container, its runner channel, its volumes or host dirs; becomes the executor's.
        image_id: the image it runs; a slot whose tag now names another image is not handed out.
        root: local engine: the host dir holding `workspace/` and `skills/` (None on a remote engine).
    """

    spec: SandboxSpec
    state: SandboxState
    image_id: str
    root: Path | None = None
    skills_signature: tuple[Any, ...] | None = None

    def prepare(self, skills: list[Any]) -> None:
        """Local engine: copy `skills` in ahead of the hand-out that will probably want them."""
        if self.root is None or self.skills_signature is not None:
            return
        signature = skills_signature(skills)  # taken first: a change during the copy shows later
        self._copy_skills(skills)
        self.skills_signature = signature

    @property
    def container(self) -> str:
        assert self.state.container is not None
        return self.state.container

    def healthy(self) -> bool:
        """Running, answering, untouched, and still on the image its tag names."""
        channel = self.state.channel
        if channel is None or not channel.alive:
            return False
        try:
            if self.root is not None and os.listdir(self.root / "workspace"):
                return False  # someone has been here (any entry, links and dot files too)
            scanned = channel.ask("scan", path=WORKSPACE)  # the runner answers while the engine does
            same_image = check_image(self.state.client, self.spec.image) == self.image_id
            if scanned(_CHECK_WAIT).get("files") != {}:
                return False  # the same, seen from inside (the only view of a remote volume)
            return same_image
        except (RunnerGone, TimeoutError, ExecutorError, OSError):
            return False
        except Exception:  # a docker API error: the engine no longer knows the container or image
            return False

    def hand_out(self, cfg: ExecutorSetup) -> SandboxState:
        """Give this sandbox the session's skills and working dir; return its state for the executor.

        Raises:
            OSError, docker errors: the hand-out failed; the caller destroys the slot.
        """
        state = self.state
        if self.spec.remote:
            state.client.api.put_archive(self.container, SKILLS_ROOT, pack_skills(list(cfg.skills)))
            uid, gid = self.spec.ids
            state.mirrors = [Mirror(Path(cfg.working_dir), WORKSPACE, uid, gid)]
            return state
        assert self.root is not None
        signature = skills_signature(cfg.skills)
        if signature != self.skills_signature:
            self.skills_signature = None
            self._copy_skills(cfg.skills)
            self.skills_signature = signature
        # the commit point: an empty dir is atomically replaced by the container's workspace
        os.rename(self.root / "workspace", cfg.working_dir)
        return state

    def _copy_skills(self, skills: list[Any]) -> None:
        assert self.root is not None
        folder = self.root / "skills"
        for child in folder.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        for skill in skills:
            copy_tree(Path(skill.path), folder / skill.name)

    def destroy(self) -> None:
        """Remove the container, its volumes and host dirs. Never raises."""
        release(self.state)


def skills_signature(skills: list[Any]) -> tuple[Any, ...]:
    """Every entry of every skill folder: (skill, relative path, mode, size, mtime_ns)."""
    entries: list[tuple[Any, ...]] = []
    for skill in sorted(skills, key=lambda s: str(s.name)):
        root = str(skill.path)
        entries.append((skill.name, root))
        for dirpath, dirnames, filenames in os.walk(root):
            for name in sorted([*dirnames, *filenames]):
                full = f"{dirpath}/{name}"
                st = os.lstat(full)
                entries.append((skill.name, full[len(root) :], st.st_mode, st.st_size, st.st_mtime_ns))
    return tuple(entries)


def copy_tree(src: Path, dst: Path) -> None:
    """Copy regular files and directories under `src` to `dst`; symlinks and specials are skipped.

    A copy, not a hard link: the sandbox's file tools refuse files with several links. The
    `__pycache__` folders are left out and each module gets fresh bytecode instead (`_bytecode`:
    valid in the copy, which the sandbox cannot write to).
    """
    dst.mkdir(mode=0o755)
    for dirpath, dirnames, filenames in os.walk(src):  # os.walk does not enter linked dirs
        rel = Path(dirpath).relative_to(src)
        dirnames[:] = [name for name in dirnames if name != PYCACHE]
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                (dst / rel / name).mkdir(mode=0o755)
        for name in filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                shutil.copyfile(full, dst / rel / name, follow_symlinks=False)
                os.chmod(dst / rel / name, stat.S_IMODE(st.st_mode) | 0o444)
                _add_bytecode(dst / rel, name)


def _add_bytecode(folder: Path, name: str) -> None:
    """Write the bytecode of the module `folder/name` (a copy) beside it, when it has some (none
    when a file of the skill is in the way: the sandbox then compiles the module, as before)."""
    cached = pyc_name(name)
    found = bytecode((folder / name).read_bytes(), name) if cached else None
    if cached is None or found is None:
        return
    with contextlib.suppress(FileExistsError, NotADirectoryError):
        (folder / PYCACHE).mkdir(mode=0o755, exist_ok=True)
        with open(folder / PYCACHE / cached, "xb") as out:
            out.write(found)
        os.chmod(folder / PYCACHE / cached, 0o444)


def _host_binds(spec: SandboxSpec, state: SandboxState) -> tuple[dict[str, dict[str, str]], Path]:
    root = Path(tempfile.mkdtemp(prefix="conjure-pool-"))
    state.host_dirs.append(root)  # recorded first: a failed start removes it
    workspace, skills = root / "workspace", root / "skills"
    workspace.mkdir(mode=0o700)
    skills.mkdir(mode=0o755)
    uid, gid = spec.ids
    if os.geteuid() == 0 and uid != 0:
        os.chown(workspace, uid, gid)  # root caller: the sandbox user (nobody) owns its workspace
    binds = {
        str(workspace): {"bind": WORKSPACE, "mode": "rw"},
        str(skills): {"bind": SKILLS_ROOT, "mode": "ro"},
    }
    for host, inside in spec.extra_mounts:
        binds[str(Path(host).resolve())] = {"bind": inside, "mode": "ro"}
    return binds, root


def _volume_binds(spec: SandboxSpec, state: SandboxState) -> dict[str, dict[str, str]]:
    stem = f"conjure-nb-{POOL_LABEL}-{uuid.uuid4().hex[:10]}"
    names = [f"{stem}-skills", f"{stem}-workspace"]  # the order a session's remote sandbox keeps
    state.volumes = names
    for name in names:
        state.client.api.create_volume(name, labels=labels(POOL_LABEL))
    own_volumes(spec, state, names[1:], [WORKSPACE], POOL_LABEL)
    # like a session's own remote sandbox: no host paths (extra_mounts do not reach another machine)
    return {
        names[0]: {"bind": SKILLS_ROOT, "mode": "rw,nocopy"},
        names[1]: {"bind": WORKSPACE, "mode": "rw,nocopy"},
    }


def start_slot(spec: SandboxSpec, client: Any) -> Slot:
    """Start one warm sandbox for `spec` on `client` (which stays the caller's to close).

    Raises:
        ExecutorError: the image is missing or has no `spec.python`, or the engine refused.
    """
    state = SandboxState(client=client, remote=spec.remote, own_client=False)
    try:
        image_id = check_image(client, spec.image)
        root = None
        if spec.remote:
            binds = _volume_binds(spec, state)
        else:
            binds, root = _host_binds(spec, state)
        config = host_config(spec, state, binds, auto_remove=True)
        cid = create(spec, state, runner_command(spec), config, POOL_LABEL)
        channel = launch(spec, state, cid)
        if channel is None:
            raise ExecutorError(f"image {spec.image!r} has no {spec.python!r}: it cannot be pooled")
        state.channel = channel
        # one throwaway command while nobody waits: the shell's first start in a new container
        # (its files through a fresh overlay mount) is paid here, not by the session's first call
        env = {"PATH": CONTAINER_PATH, "HOME": HOME, "TMPDIR": TMPDIR}
        channel.request("exec", spec.start_timeout, cmd="true", env=env, cwd=WORKSPACE, timeout=10, limit=100)
    except BaseException:
        with contextlib.suppress(Exception):
            release(state)
        raise
    return Slot(spec, state, image_id, root)
