"""Import a bundled skill's script as a module, so the package and the skill share one implementation.

The skills' scripts must run alone (stdlib only, inside the sandbox), so the code lives in the
skill and the package imports it from there: the copy shipped inside the wheel
(`conjure_nb/_bundled_skills`) or, in a source checkout, `skills/`.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

from ..errors import UsageError

__all__ = ["bundled_skills_dir", "skill_module"]

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


def skill_module(skill: str, name: str) -> ModuleType:
    """`<bundled skills>/<skill>/scripts/<name>.py`, imported once per process."""
    module_name = f"conjure_nb._skill_{skill.replace('-', '_')}_{name}"
    with _LOCK:
        loaded = sys.modules.get(module_name)
        if loaded is not None:
            return loaded
        path = bundled_skills_dir() / skill / "scripts" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"cannot import {path}: the bundled skill {skill!r} is incomplete")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # dataclasses look their module up while the class is made
        sys.path.insert(0, str(path.parent))  # the script imports its siblings by plain name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        finally:
            sys.path.remove(str(path.parent))
        return module
