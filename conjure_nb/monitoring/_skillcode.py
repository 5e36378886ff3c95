"""The bundled skills' code, imported by the host under one namespaced name.

The skills' scripts must run alone inside any sandbox (standard library only, no conjure_nb), so the
code lives in the skill as a package (`skills/log-analyzer/scripts/loganalyzer/`,
`skills/incident-report/scripts/incident_report/`) with thin entry scripts beside it. The host
imports the same package as `conjure_nb._skills.<package>`: no `sys.path` edit, and no generic
top-level module (`analysis`, `partial`, `timestamps`, ...) appears in the user's kernel.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from .._errors import UsageError

__all__ = ["NAMESPACE", "bundled_skills_dir", "skill_code"]

NAMESPACE = "conjure_nb._skills"
# skill name -> the package in its scripts/ folder
_PACKAGES = {"log-analyzer": "loganalyzer", "incident-report": "incident_report"}
_LOCK = threading.Lock()


def bundled_skills_dir() -> Path:
    """The skills that ship with conjure_nb: inside the installed wheel, or a checkout's `skills/`."""
    here = Path(__file__).resolve()
    packaged = here.parent.parent / "_bundled_skills"
    if (packaged / "log-analyzer" / "SKILL.md").is_file():
        return packaged
    for parent in here.parents:
        if (parent / "skills" / "log-analyzer" / "SKILL.md").is_file():
            return parent / "skills"
    raise UsageError("cannot find the bundled skills (conjure_nb/_bundled_skills); reinstall conjure-nb")


def skill_code(skill: str, module: str | None = None, *, skill_dir: str | Path | None = None) -> ModuleType:
    """A skill's code package, or one module of it, imported once per process.

    Args:
        skill: the skill's name, e.g. `"log-analyzer"`.
        module: a module of its package, e.g. `"analyze"`; None for the package itself.
        skill_dir: the skill's folder when it is not the bundled copy (a user's own checkout of it);
            its package gets a name of its own, so two copies never mix.

    Returns:
        `conjure_nb._skills.loganalyzer` (or `conjure_nb._skills.loganalyzer.analyze`).

    Raises:
        UsageError: the skill has no code package, or its files are missing.
    """
    package = _PACKAGES.get(skill)
    if package is None:
        raise UsageError(f"the skill {skill!r} has no code package; known: {', '.join(_PACKAGES)}")
    folder = (Path(skill_dir) if skill_dir is not None else bundled_skills_dir() / skill).resolve()
    folder = folder / "scripts" / package
    name = f"{NAMESPACE}.{package}"
    if folder != (bundled_skills_dir() / skill / "scripts" / package).resolve():
        name += "_" + hashlib.sha256(str(folder).encode()).hexdigest()[:10]
    with _LOCK:
        if name not in sys.modules:
            _load_package(name, folder)
    return importlib.import_module(f"{name}.{module}") if module else sys.modules[name]


def _load_package(name: str, folder: Path) -> None:
    if NAMESPACE not in sys.modules:
        namespace = ModuleType(NAMESPACE, "The bundled skills' code packages (see monitoring.skillcode).")
        namespace.__path__ = []
        sys.modules[NAMESPACE] = namespace
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None or not (folder / "__init__.py").is_file():
        raise UsageError(f"cannot import {folder}: the bundled skill is incomplete; reinstall conjure-nb")
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[name]
        raise
