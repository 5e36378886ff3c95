"""The public names of DESIGN.md resolve, and `__all__` stays in sync with them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import conjure_nb as cj

CORE = [
    "load", "load_skill", "validate", "system_prompt", "tool_definitions", "Session", "Response",
    "AnthropicModel", "FunctionModel", "ScriptedModel", "NativeSkill", "Context", "native_skill",
    "ToolResult", "CreatedFile", "ToolCallRecord", "Registry", "telemetry", "ConjureError", "SkillError",
    "ModelError", "ExecutorError", "MaxIterationsError", "UsageError", "ToolError", "Skill",
    "ValidationReport", "package", "LocalExecutor", "NativeExecutor", "SkillWarning",
]  # fmt: skip


def test_core_names_resolve() -> None:
    for name in CORE:
        assert name in cj.__all__, name
        assert getattr(cj, name) is not None


def test_every_exported_module_exists() -> None:
    for module in set(cj._EXPORTS.values()):
        importlib.import_module(f"conjure_nb.{module}")


def test_error_tree() -> None:
    for err in (cj.SkillError, cj.ModelError, cj.ExecutorError, cj.MaxIterationsError, cj.UsageError):
        assert issubclass(err, cj.ConjureError)
    assert not issubclass(cj.ToolError, cj.ConjureError)
    assert issubclass(cj.SkillWarning, UserWarning)


def test_import_is_light() -> None:
    code = "import sys, conjure_nb; print(','.join(m for m in ('pandas','anthropic','docker','matplotlib','httpx') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_star_import_exports_everything() -> None:
    namespace: dict[str, object] = {}
    exec("from conjure_nb import *", namespace)
    assert set(cj.__all__) <= set(namespace)


def test_all_matches_the_export_table() -> None:
    assert cj.__all__ == sorted([*cj._EXPORTS, *cj._MODULES, "__version__"])
