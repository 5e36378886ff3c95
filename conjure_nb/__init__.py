"""conjure_nb: run Agent Skills with Claude (or any Messages-API model) from Jupyter.

Public names are re-exported here and resolved lazily, so `import conjure_nb` stays fast: pandas,
anthropic, docker and matplotlib are imported only by the code that uses them. The modules that define
them are internal (`_`-prefixed, httpx style); a public class or function carries its public name,
so reprs and tracebacks say `conjure_nb.Session`, not where it happens to live.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # errors
    "ConjureError": "_errors",
    "UsageError": "_errors",
    "SkillError": "_errors",
    "ModelError": "_errors",
    "ExecutorError": "_errors",
    "MaxIterationsError": "_errors",
    "ToolError": "_errors",
    "SkillWarning": "_errors",
    # skills
    "Skill": "skills._model",
    "Resources": "skills._model",
    "load": "skills._loader",
    "load_skill": "skills._loader",
    "validate": "skills._validate",
    "ValidationReport": "skills._validate",
    "package": "skills._package",
    "Registry": "skills._registry",
    # tools and prompt
    "tool_definitions": "tools._definitions",
    "ToolCall": "tools._data",
    "ToolResult": "tools._data",
    "CreatedFile": "tools._data",
    "ToolCallRecord": "tools._data",
    "system_prompt": "_prompt",
    "estimate_tokens": "_prompt",
    # models
    "Model": "models._base",
    "ModelRequest": "models._base",
    "AnthropicModel": "models._anthropic",
    "FunctionModel": "models._function",
    "ScriptedModel": "models._scripted",
    # executors
    "Executor": "executors._base",
    "ExecutorSetup": "executors._base",
    "LocalExecutor": "executors._local",
    "DockerExecutor": "executors.docker",
    "NativeExecutor": "executors._native",
    "NativeSkill": "executors._native_skill",
    "Context": "executors._native_skill",
    "native_skill": "executors._native_skill",
    "ApprovalExecutor": "executors._approval",
    "ApprovalPolicy": "executors._approval_policy",
    "ApprovalRecord": "executors._approval",
    "ApprovalRequest": "executors._approval",
    "require_approval": "executors._approval",
    # session
    "Session": "session._core",
    "Response": "tools._response",
    # notebook
    "show": "notebook.render",
    # widget panels
    "ChatPanel": "notebook.panels._chat",
    "SkillBrowser": "notebook.panels._skills",
    "FilesPanel": "notebook.panels._files_panel",
    "dashboard": "notebook.panels.dashboard",
    # monitoring (and the demo log API, a fake in conjure_nb.testing)
    "MonitoringAgent": "monitoring._agent",
    "LogFetcher": "monitoring._fetcher",
    "MonitoringResult": "monitoring._result",
    "FleetResult": "monitoring._result",
    "FetchStep": "monitoring._steps",
    "AnalysisStep": "monitoring._steps",
    "ReportStep": "monitoring._steps",
    "StepRun": "monitoring._steps",
    "FetchRequest": "monitoring._steps",
    "DemoLogServer": "testing._demo_server",
}
# public submodules: attribute name -> module (relative to this package)
_MODULES: dict[str, str] = {"telemetry": "telemetry", "events": "tools.events"}

# literal, so type checkers see the re-exports; a test keeps it equal to _EXPORTS + _MODULES
__all__ = [
    "AnalysisStep",
    "AnthropicModel",
    "ApprovalExecutor",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ApprovalRequest",
    "ChatPanel",
    "ConjureError",
    "Context",
    "CreatedFile",
    "DemoLogServer",
    "DockerExecutor",
    "Executor",
    "ExecutorError",
    "ExecutorSetup",
    "FetchRequest",
    "FetchStep",
    "FilesPanel",
    "FleetResult",
    "FunctionModel",
    "LocalExecutor",
    "LogFetcher",
    "MaxIterationsError",
    "Model",
    "ModelError",
    "ModelRequest",
    "MonitoringAgent",
    "MonitoringResult",
    "NativeExecutor",
    "NativeSkill",
    "Registry",
    "ReportStep",
    "Resources",
    "Response",
    "ScriptedModel",
    "Session",
    "Skill",
    "SkillBrowser",
    "SkillError",
    "SkillWarning",
    "StepRun",
    "ToolCall",
    "ToolCallRecord",
    "ToolError",
    "ToolResult",
    "UsageError",
    "ValidationReport",
    "__version__",
    "dashboard",
    "estimate_tokens",
    "events",
    "load",
    "load_skill",
    "native_skill",
    "package",
    "require_approval",
    "show",
    "system_prompt",
    "telemetry",
    "tool_definitions",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        _publish(value)
        globals()[name] = value
        if name == "MonitoringAgent":  # in a notebook, fleet runs show a progress bar
            from .notebook._progress import follow_fleets

            follow_fleets()
        return value
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    raise AttributeError(f"module 'conjure_nb' has no attribute {name!r}")


def _publish(value: Any) -> None:
    """Give a public class or function its public module name (`conjure_nb.X`)."""
    if isinstance(value, type) or callable(value):
        module = getattr(value, "__module__", "") or ""
        if module.startswith(__name__ + "."):
            value.__module__ = __name__


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext conjure_nb`: the %%conjure magics and inline rendering (see conjure_nb.notebook)."""
    from .notebook import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext conjure_nb`: closes the sessions the magics opened."""
    from .notebook import unload_ipython_extension as unload

    unload(shell)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import telemetry
    from ._errors import (
        ConjureError,
        ExecutorError,
        MaxIterationsError,
        ModelError,
        SkillError,
        SkillWarning,
        ToolError,
        UsageError,
    )
    from ._prompt import estimate_tokens, system_prompt
    from .executors._approval import (
        ApprovalExecutor,
        ApprovalRecord,
        ApprovalRequest,
        require_approval,
    )
    from .executors._approval_policy import ApprovalPolicy
    from .executors._base import Executor, ExecutorSetup
    from .executors._local import LocalExecutor
    from .executors._native import NativeExecutor
    from .executors._native_skill import Context, NativeSkill, native_skill
    from .executors.docker import DockerExecutor
    from .models._anthropic import AnthropicModel
    from .models._base import Model, ModelRequest
    from .models._function import FunctionModel
    from .models._scripted import ScriptedModel
    from .monitoring._agent import MonitoringAgent
    from .monitoring._fetcher import LogFetcher
    from .monitoring._result import FleetResult, MonitoringResult
    from .monitoring._steps import AnalysisStep, FetchRequest, FetchStep, ReportStep, StepRun
    from .notebook.panels._chat import ChatPanel
    from .notebook.panels._files_panel import FilesPanel
    from .notebook.panels._skills import SkillBrowser
    from .notebook.panels.dashboard import dashboard
    from .notebook.render import show
    from .session._core import Session
    from .skills._loader import load, load_skill
    from .skills._model import Resources, Skill
    from .skills._package import package
    from .skills._registry import Registry
    from .skills._validate import ValidationReport, validate
    from .testing._demo_server import DemoLogServer
    from .tools import events
    from .tools._data import CreatedFile, ToolCall, ToolCallRecord, ToolResult
    from .tools._definitions import tool_definitions
    from .tools._response import Response
