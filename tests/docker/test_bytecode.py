"""The skills' bytecode: copied into a sandbox (a warm pool's, a remote engine's), a skill's modules
come with checked-hash `.pyc` files, so the sandbox's Python, which cannot write to its skills,
does not compile them on every run; an edited module is still compiled from its source."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.executors.docker._remote import pack_skills
from conjure_nb.executors.docker._slot import copy_tree

TAG = sys.implementation.cache_tag


def _skill(root: Path) -> Path:
    """A skill with a package, a module that warns when compiled, one that does not compile, a stale
    cache and a data file."""
    folder = root / "coded"
    package = folder / "scripts" / "pkg"
    package.mkdir(parents=True)
    (folder / "SKILL.md").write_text("---\nname: coded\ndescription: a skill with modules\n---\nbody\n")
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text("VALUE = 1\n")
    (folder / "scripts" / "warns.py").write_text('PATTERN = "\\d+"\n')  # an invalid escape: SyntaxWarning
    (folder / "scripts" / "broken.py").write_text("def (:\n")
    (folder / "scripts" / "__pycache__").mkdir()
    (folder / "scripts" / "__pycache__" / f"stale.{TAG}.pyc").write_bytes(b"not bytecode")
    (folder / "references").mkdir()
    (folder / "references" / "notes.txt").write_text("notes\n")
    return folder


def _caches(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.pyc"))


def _imported_from(scripts: Path) -> tuple[str, str]:
    """(what `pkg.mod.VALUE` is, where Python took its code from), in a Python that writes no bytecode."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    code = f"import sys; sys.path.insert(0, {str(scripts)!r}); import pkg.mod; print(pkg.mod.VALUE)"
    done = subprocess.run(
        [sys.executable, "-v", "-c", code], capture_output=True, text=True, env=env, check=True
    )
    origin = [
        line for line in done.stderr.splitlines() if line.startswith("# code object from") and "mod." in line
    ]
    return done.stdout.strip(), origin[-1].removeprefix("# code object from ").strip("'")


def _check_copy(scripts: Path) -> None:
    pyc = scripts / "pkg" / "__pycache__" / f"mod.{TAG}.pyc"
    assert pyc.read_bytes()[4:8] == (0b11).to_bytes(4, "little")  # PEP 552: hash-based, checked
    for source in scripts.rglob("*.py"):
        os.utime(source, (1_000_000_000, 1_000_000_000))  # a copy's times say nothing
    assert _imported_from(scripts) == ("1", str(pyc))
    (scripts / "pkg" / "mod.py").write_text("VALUE = 2\n")
    assert _imported_from(scripts) == ("2", str(scripts / "pkg" / "mod.py"))  # edited: compiled again


def test_a_copied_skill_brings_bytecode_that_python_uses_whatever_the_copys_times(tmp_path: Path) -> None:
    src = _skill(tmp_path / "src")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the host shows none of the skill's compile warnings
        copy_tree(src, tmp_path / "copy")
    copy = tmp_path / "copy"
    assert _caches(copy) == [
        f"scripts/__pycache__/warns.{TAG}.pyc",  # compiled (its warning is the sandbox's to show)
        f"scripts/pkg/__pycache__/__init__.{TAG}.pyc",
        f"scripts/pkg/__pycache__/mod.{TAG}.pyc",
    ]  # none for broken.py, and the stale cache stays behind
    assert (copy / "references" / "notes.txt").read_text() == "notes\n"
    assert (
        oct((copy / "scripts" / "pkg" / "__pycache__" / f"mod.{TAG}.pyc").stat().st_mode & 0o777) == "0o444"
    )
    _check_copy(copy / "scripts")


def test_a_skill_packed_for_a_remote_engine_brings_the_same_bytecode(tmp_path: Path) -> None:
    src = _skill(tmp_path / "src")
    packed = pack_skills([cj.load_skill(src)])
    with tarfile.open(fileobj=io.BytesIO(packed)) as tar:
        tar.extractall(tmp_path / "volume", filter="data")
    volume = tmp_path / "volume" / "coded"
    assert _caches(volume) == _caches_of_copy(src, tmp_path / "copy")
    _check_copy(volume / "scripts")


def _caches_of_copy(src: Path, dst: Path) -> list[str]:
    copy_tree(src, dst)
    return _caches(dst)


def test_a_file_in_the_way_of_the_cache_leaves_the_module_to_the_sandbox(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "scripts").mkdir(parents=True)
    (src / "scripts" / "mod.py").write_text("VALUE = 1\n")
    (src / "scripts" / "__pycache__").write_text("a file, not a folder\n")  # odd, but a skill's own
    copy_tree(src, tmp_path / "copy")
    assert (tmp_path / "copy" / "scripts" / "__pycache__").read_text() == "a file, not a folder\n"
    assert (tmp_path / "copy" / "scripts" / "mod.py").read_text() == "VALUE = 1\n"


@pytest.mark.docker
def test_a_pooled_sandbox_runs_a_skills_modules_from_their_bytecode(
    docker_image: str, docker_client: Any, tmp_path: Path
) -> None:
    from conjure_nb.executors.docker import warm_pool

    pool = warm_pool()
    pool.drain()
    try:
        skill = cj.load_skill(_skill(tmp_path))
        ex = cj.DockerExecutor(image=docker_image)
        assert ex.warm(wait=120), "the pool did not fill"
        ready = pool.containers()
        with cj.Session.new_docker([skill], image=docker_image) as s:
            assert s.container_id in ready  # a pooled sandbox: its skills are a copy
            tag = s.run_tool(
                "bash_tool",
                command="python3 -c 'import sys; print(sys.implementation.cache_tag)'",
                description="tag",
            )
            probe = (
                'python3 -v -c \'import sys; sys.path.insert(0, "/mnt/skills/coded/scripts"); '
                "import pkg.mod; print(pkg.mod.VALUE)' 2>&1 | grep -e '^1$' -e 'code object from.*mod\\.'"
            )
            result = s.run_tool("bash_tool", command=probe, description="probe")
        lines = result.stdout.splitlines()
        assert lines[-1] == "1", result.content
        if tag.stdout.strip() == TAG:  # the same Python version as the host: its bytecode is used
            assert lines[0] == f"# code object from '/mnt/skills/coded/scripts/pkg/__pycache__/mod.{TAG}.pyc'"
        else:  # another version looks for another name, and compiles as before
            assert lines[0] == "# code object from /mnt/skills/coded/scripts/pkg/mod.py"
    finally:
        pool.drain()
