"""Binder: the environment binder/postBuild makes runs every tutorial, and the README's badge is made
from the one place the repository's location is set.

The environment is built the way repo2docker builds it, without Docker: a copy of the repository, a
fresh Python environment that has the Jupyter machinery (Binder's base environment; here only nbclient,
which runs the notebooks), and `./binder/postBuild` run from the repository root with that environment
first on PATH. Then all six tutorials run in it, as a Binder user's Run All would: no API key, a HOME
of their own, and no Docker engine (DOCKER_HOST names a socket nobody listens on), so notebook 05 must
say so and skip its cells rather than fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Run inside the Binder environment: execute each tutorial from notebooks/ (as JupyterLab does), three
# at a time (each in its own kernel, as a user with three tabs would; they share no files), the longest
# (06) first, and report, as one JSON line per notebook, the first error (if any) and every text output.
_RUN_TUTORIALS = r"""
import asyncio, json, sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

async def run(path, slots):
    async with slots:
        nb = nbformat.read(path, as_version=4)
        error = None
        try:
            client = NotebookClient(nb, timeout=300, resources={"metadata": {"path": "notebooks"}})
            await client.async_execute()
        except CellExecutionError as exc:
            error = str(exc)[-4000:]
    texts = []
    for cell in nb.cells:
        last = None
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and last == out.get("name"):
                texts[-1] += out.get("text", "")  # one print can arrive in two messages (a busy kernel)
                continue
            last = out.get("name") if out.get("output_type") == "stream" else None
            texts.append(out.get("text") or out.get("data", {}).get("text/plain", ""))
    return {"notebook": path, "error": error, "texts": texts}

async def main(paths):
    slots = asyncio.Semaphore(3)
    for result in await asyncio.gather(*(run(path, slots) for path in sorted(paths, reverse=True))):
        print(json.dumps(result), flush=True)

asyncio.run(main(sys.argv[1:]))
"""


def _copy_repository(dest: Path) -> None:
    """The files git tracks (what repo2docker copies from a clone), or the tree without build output."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, timeout=60, check=False
    )  # fmt: skip
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            src = ROOT / name
            if name and src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
        return
    skip = shutil.ignore_patterns(".git", ".venv", "_build", "__pycache__", ".*_cache", "out")
    shutil.copytree(ROOT, dest, ignore=skip, dirs_exist_ok=True)


def _uv_cache_dir() -> str:
    """The uv cache `make install` filled: postBuild reuses it, so the test downloads next to nothing."""
    found = subprocess.run(
        [sys.executable, "-m", "uv", "cache", "dir"], capture_output=True, text=True, timeout=60, check=True
    )  # fmt: skip
    return found.stdout.strip()


def _binder_env(venv: Path, home: Path, no_engine: Path) -> dict[str, str]:
    """What a Binder user's processes see: the environment's bin first, a HOME of their own, no key, no
    Docker engine. The network settings of this machine pass through (postBuild downloads from PyPI)."""
    keep = ("LANG", "LC_ALL", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k.upper() in keep or k.startswith("PIP_")}
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=str(home),
        DOCKER_HOST=f"unix://{no_engine}",
        CONJURE_FORBID_REAL_MODELS="1",  # no key is set; this makes sure no tutorial reaches a real model
    )
    return env


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_binder_environment_runs_every_tutorial(tmp_path: Path) -> None:
    # the checkout's path holds a space, as a user's may ("My Projects/..."): every command a tutorial
    # builds from a path must quote it (Binder's own /home/jovyan would not show that)
    repo, venv, home = tmp_path / "my checkout", tmp_path / "env", tmp_path / "home"
    home.mkdir()
    _copy_repository(repo)
    env = _binder_env(venv, home, tmp_path / "no-docker-engine.sock")
    env["UV_CACHE_DIR"] = _uv_cache_dir()

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # Binder's base environment has the Jupyter stack; of it, the notebooks need nbclient to run here
    subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "-q", "--python", str(python), "nbclient"],
        env=env, check=True, timeout=300,
    )  # fmt: skip
    built = subprocess.run(
        ["./binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr

    tutorials = sorted(p.relative_to(repo).as_posix() for p in (repo / "notebooks").glob("0*.ipynb"))
    assert len(tutorials) == 6, tutorials
    env.pop("UV_CACHE_DIR")
    ran = subprocess.run(
        [str(python), "-c", _RUN_TUTORIALS, *tutorials],
        cwd=repo, env=env, capture_output=True, text=True, timeout=840,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    results = {r["notebook"]: r for r in map(json.loads, ran.stdout.splitlines())}
    assert sorted(results) == tutorials
    failed = {name: r["error"] for name, r in results.items() if r["error"]}
    assert not failed, "\n\n".join(f"{name}:\n{error}" for name, error in failed.items())

    docker_cells = results["notebooks/05_docker_sandbox.ipynb"]["texts"]
    said = "".join(docker_cells)
    assert "docker sandbox: not available here, the cells below are skipped" in said
    assert "is not reachable" in said  # and why, in the engine's own words
    assert all(
        "skipped (no docker)" in text or "model:" in text or "docker sandbox:" in text
        for text in docker_cells
    ), docker_cells


def test_binder_badge_is_made_from_the_repository_url() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "binder_badge.py"), "--check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "OWNER" not in readme and "mybinder.org/v2/gh/" in readme
