"""Building the sandbox image, with or without a container registry.

Two paths lead to the same image (`conjure-nb/sandbox:latest` by default):

- `offline=True` (what CI uses): `debootstrap` a Debian minbase root filesystem, install Debian's
  `python3` in it with `chroot ... apt-get`, add the Python packages the bundled skills need as
  binary wheels with the host's pip (`--target` into the rootfs), then `docker import` the tree.
  It needs root, `debootstrap`, a Debian mirror and PyPI, but no container registry.
- `offline=False`: `docker build` of the Dockerfile next to this module (python:3.11-slim + pip).

The offline build is cache-aware: the image carries a `conjure-nb.recipe` label (a hash of the
recipe), an image with the same hash is not rebuilt, and the finished root filesystem is kept as a
tarball under `~/.cache/conjure-nb` so a removed image is re-imported in seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..._errors import ExecutorError
from ._paths import CONTAINER_PATH, WORKSPACE

__all__ = [
    "DEBIAN_PACKAGES",
    "DEFAULT_IMAGE",
    "WHEELS",
    "build_image",
    "cache_dir",
    "default_image",
    "import_minbase",
    "recipe_hash",
]

DEFAULT_IMAGE = "conjure-nb/sandbox:latest"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
DEBIAN_PACKAGES = ("python3", "bash", "coreutils")
"""From Debian: the interpreter only. The scientific stack comes as wheels, which are far smaller
than Debian's packages (python3-pandas alone pulls in a compiler and boost headers)."""
WHEELS = (
    "pandas>=2.0",
    "openpyxl>=3.1",
    "matplotlib>=3.8",
    "reportlab>=4.0",
    "pypdfium2>=4.30",
    "httpx>=0.27",
    "orjson>=3.9",
    "msgspec>=0.18",
    "polars>=1.0",
    "pyyaml>=6.0",
)
PYTHON_VERSION = "3.11"  # bookworm's python3
RECIPE_VERSION = "2"  # bump when the build steps change in a way the lists above do not show
SITE_DIR = "usr/local/lib/python3.11/dist-packages"
_PRUNE = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info")
_CHANGES = (
    f"ENV PATH={CONTAINER_PATH}",
    "ENV LANG=C.UTF-8",
    "ENV MPLBACKEND=Agg",
    f"WORKDIR {WORKSPACE}",
    'CMD ["python3"]',
)

Log = Callable[[str], None]


def default_image() -> str:
    """The image a DockerExecutor uses without `image=`: $CONJURE_SANDBOX_IMAGE or the default."""
    return os.environ.get("CONJURE_SANDBOX_IMAGE") or DEFAULT_IMAGE


def cache_dir() -> Path:
    """Where reusable build artefacts live ($XDG_CACHE_HOME/conjure-nb or ~/.cache/conjure-nb)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conjure-nb"


def recipe_hash() -> str:
    """A short hash of everything that decides the offline image's content."""
    recipe = "\n".join([RECIPE_VERSION, SUITE, MIRROR, *DEBIAN_PACKAGES, *WHEELS, PYTHON_VERSION, *_CHANGES])
    return hashlib.sha256(f"{recipe}\n{platform.machine()}".encode()).hexdigest()[:16]


def build_image(
    tag: str = DEFAULT_IMAGE,
    *,
    offline: bool = True,
    force: bool = False,
    client: Any = None,
    log: Log | None = None,
) -> str:
    """Build the sandbox image and return its tag; skip the work when it is already there.

    Args:
        tag: repository:tag of the image.
        offline: debootstrap + wheels + `docker import` (no registry); else `docker build`.
        force: rebuild even when an image with the same recipe exists.
        client: a `docker.DockerClient` (default: `docker.from_env()`).
        log: where progress lines go (default: stderr).

    Raises:
        ExecutorError: a build step failed (the message names the step and its output).
    """
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    from ._client import connect

    own = client is None
    client = client or connect(None)
    t0 = time.perf_counter()
    try:
        if offline:
            _offline(client, tag, force, say)
        else:
            _dockerfile(client, tag, say)
    finally:
        if own:
            client.close()
    say(f"image {tag} ready in {time.perf_counter() - t0:.1f} s")
    return tag


def import_minbase(client: Any, tag: str, log: Log | None = None) -> str:
    """The plain Debian minbase rootfs (bash, coreutils, no Python) as an image; for tests.

    It reuses the tarball the offline build caches (debootstrapping it first if needed).
    """
    import docker.errors

    try:
        client.api.inspect_image(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    base = cache_dir() / f"debian-{SUITE}-minbase-{platform.machine()}.tar"
    if not base.exists():
        _require_root_tools()
        with tempfile.TemporaryDirectory(prefix="conjure-rootfs-", dir=_mkcache()) as tmp:
            _minbase(Path(tmp) / "rootfs", base.parent, say)
    repo, _, version = tag.rpartition(":")
    client.api.import_image_from_file(str(base), repository=repo, tag=version, changes=list(_CHANGES))
    return tag


def _mkcache() -> Path:
    cache_dir().mkdir(parents=True, exist_ok=True)
    return cache_dir()


def _image_id(client: Any, tag: str) -> str | None:
    try:
        return str(client.api.inspect_image(tag)["Id"])
    except Exception:
        return None


def _existing_recipe(client: Any, tag: str) -> str | None:
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return str(labels.get("conjure-nb.recipe", ""))


def _offline(client: Any, tag: str, force: bool, say: Log) -> None:
    digest = recipe_hash()
    if not force and _existing_recipe(client, tag) == digest:
        say(f"image {tag} is up to date (recipe {digest}); nothing to do")
        return
    tarball = cache_dir() / f"sandbox-rootfs-{digest}.tar"
    if force or not tarball.exists():
        _build_rootfs_tarball(tarball, say)
        for stale in tarball.parent.glob("sandbox-rootfs-*.tar"):
            if stale != tarball:
                stale.unlink(missing_ok=True)  # an older recipe's rootfs: hundreds of MB
    else:
        say(f"reusing cached root filesystem {tarball}")
    say(f"importing {tarball.name} as {tag}")
    repo, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    changes = [*_CHANGES, f"LABEL conjure-nb.recipe={digest}"]
    old_id = _image_id(client, tag)
    try:
        client.api.import_image_from_file(str(tarball), repository=repo, tag=version, changes=changes)
    except Exception as exc:
        raise ExecutorError(f"docker import of {tarball} failed: {exc}") from exc
    if old_id and old_id != _image_id(client, tag):
        with contextlib.suppress(Exception):  # still used by a container: leave it
            client.api.remove_image(old_id)
    if _existing_recipe(client, tag) != digest:
        raise ExecutorError(f"docker import finished but image {tag} is missing or unlabelled")


def _build_rootfs_tarball(tarball: Path, say: Log) -> None:
    _require_root_tools()
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="conjure-rootfs-", dir=tarball.parent) as tmp:
        root = Path(tmp) / "rootfs"
        _minbase(root, tarball.parent, say)
        _step(say, "apt-get install " + " ".join(DEBIAN_PACKAGES), _apt_install, root)
        _step(say, "pip wheels " + " ".join(WHEELS), _install_wheels, root)
        _prune(root)
        partial = tarball.with_suffix(".partial")
        _step(say, f"tar {tarball.name}", _run, ["tar", "-C", str(root), "-cf", str(partial), "."])
        partial.replace(tarball)


def _require_root_tools() -> None:
    if os.geteuid() != 0:
        raise ExecutorError(
            "the offline sandbox build needs root (debootstrap and chroot); run "
            "`sudo conjure-nb sandbox build --offline`, or `conjure-nb sandbox build` on a machine "
            "that reaches a container registry"
        )
    for tool in ("debootstrap", "chroot", "tar"):
        if shutil.which(tool) is None:
            raise ExecutorError(f"`{tool}` is not installed; on Debian/Ubuntu: apt-get install debootstrap")


def _minbase(root: Path, cache: Path, say: Log) -> None:
    """Debootstrap once; later builds unpack the cached minbase tarball (seconds, not a minute)."""
    base = cache / f"debian-{SUITE}-minbase-{platform.machine()}.tar"
    if not base.exists():
        fresh = cache / f"tmp-minbase-{os.getpid()}"
        try:
            cmd = ["debootstrap", "--variant=minbase", SUITE, str(fresh), MIRROR]
            _step(say, f"debootstrap {SUITE} (once; cached as {base.name})", _run, cmd)
            _run(["tar", "-C", str(fresh), "-cf", str(base.with_suffix(".partial")), "."])
            base.with_suffix(".partial").replace(base)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    root.mkdir(parents=True)
    _run(["tar", "-C", str(root), "-xf", str(base)])


def _apt_install(root: Path) -> None:
    if Path("/etc/resolv.conf").exists():
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    _run(["chroot", str(root), "apt-get", "update", "-q"], env=env)
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *DEBIAN_PACKAGES]
    _run(["chroot", str(root), *install], env=env)
    _run(["chroot", str(root), "apt-get", "clean"], env=env)


def _pip() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise ExecutorError("the offline sandbox build needs pip on the host (python3 -m pip)")


def _install_wheels(root: Path) -> None:
    arch = platform.machine()
    platforms = [f"manylinux_2_{v}_{arch}" for v in (36, 34, 28, 27, 24, 17)] + [f"manylinux2014_{arch}"]
    cmd = [*_pip(), "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    cmd += ["--target", str(root / SITE_DIR), "--only-binary=:all:", "--implementation", "cp"]
    cmd += ["--python-version", PYTHON_VERSION, "--abi", f"cp{PYTHON_VERSION.replace('.', '')}"]
    for plat in platforms:
        cmd += ["--platform", plat]
    _run([*cmd, *WHEELS])
    # The root filesystem is read-only at run time, so Python could never cache bytecode there:
    # compile it now with the image's own interpreter, or every `import pandas` recompiles.
    _run(["chroot", str(root), "python3", "-m", "compileall", "-q", "-j", "0", f"/{SITE_DIR}"])


def _prune(root: Path) -> None:
    for rel in _PRUNE:
        target = root / rel
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
    (root / "workspace").mkdir(exist_ok=True)
    (root / "mnt/skills").mkdir(parents=True, exist_ok=True)
    (root / "etc/resolv.conf").write_text("")


def _dockerfile(client: Any, tag: str, say: Log) -> None:
    context = Path(__file__).parent
    say(f"docker build {context} -t {tag} (needs a registry for the base image)")
    try:
        _image, logs = client.images.build(path=str(context), tag=tag, rm=True, pull=True)
    except Exception as exc:
        raise ExecutorError(
            f"docker build failed: {exc}; without a registry use `conjure-nb sandbox build --offline`"
        ) from exc
    for chunk in logs:
        line = str(chunk.get("stream", "")).rstrip()
        if line:
            say(line)


def _step(say: Log, what: str, fn: Callable[..., None], *args: Any) -> None:
    t0 = time.perf_counter()
    say(f"{what} ...")
    fn(*args)
    say(f"{what}: done in {time.perf_counter() - t0:.1f} s")


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise ExecutorError(f"`{' '.join(cmd[:4])} ...` failed with exit code {proc.returncode}:\n{tail}")
