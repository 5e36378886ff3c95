"""conjure_nb: run Agent Skills with Claude (or any Messages-API model) from Jupyter.

Public names are re-exported here and resolved lazily, so `import conjure_nb` stays fast: pandas,
anthropic, docker and matplotlib are imported only by the code that uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (relative to this package)
_EXPORTS: dict[str, str] = {
    # errors
    "ConjureError": "errors",
    "UsageError": "errors",
    "SkillError": "errors",
    "ModelError": "errors",
    "ExecutorError": "errors",
    "MaxIterationsError": "errors",
    "ToolError": "errors",
    "SkillWarning": "errors",
    # skills
    "Skill": "skills.model",
    "Resources": "skills.model",
    "load": "skills.loader",
    "load_skill": "skills.loader",
    "validate": "skills.validate",
    "ValidationReport": "skills.validate",
    "package": "skills.package",
    "Registry": "skills.registry",
    # tools and prompt
    "tool_definitions": "tools.definitions",
    "ToolCall": "tools.data",
    "ToolResult": "tools.data",
    "CreatedFile": "tools.data",
    "ToolCallRecord": "tools.data",
    "system_prompt": "prompt",
    "estimate_tokens": "prompt",
    # models
    "Model": "models.base",
    "ModelRequest": "models.base",
    "AnthropicModel": "models.anthropic",
    "FunctionModel": "models.function",
    "ScriptedModel": "models.scripted",
    # executors
    "Executor": "executors.base",
    "ExecutorSetup": "executors.base",
    "LocalExecutor": "executors.local",
    "DockerExecutor": "executors.docker",
    "NativeExecutor": "executors.native",
    "NativeSkill": "executors.native",
    "Context": "executors.native",
    "native_skill": "executors.native",
    "ApprovalExecutor": "executors.approval",
    "ApprovalPolicy": "executors.approval",
    "ApprovalRecord": "executors.approval",
    "ApprovalRequest": "executors.approval",
    "require_approval": "executors.approval",
    # session
    "Session": "session.core",
    "Response": "tools.response",
    # notebook
    "show": "notebook.render",
    # widget panels
    "ChatPanel": "notebook.panels.chat",
    "SkillBrowser": "notebook.panels.skills",
    "FilesPanel": "notebook.panels.files",
    "dashboard": "notebook.panels.dashboard",
    # monitoring (and the demo log API, a fake in conjure_nb.testing)
    "MonitoringAgent": "monitoring.agent",
    "LogFetcher": "monitoring.fetcher",
    "DemoLogServer": "testing.demo_server",
}
# public submodules: attribute name -> module (relative to this package)
_MODULES: dict[str, str] = {"telemetry": "telemetry", "events": "tools.events"}

# literal, so type checkers see the re-exports; a test keeps it equal to _EXPORTS + _MODULES
__all__ = [
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
    "FilesPanel",
    "FunctionModel",
    "LocalExecutor",
    "LogFetcher",
    "MaxIterationsError",
    "Model",
    "ModelError",
    "ModelRequest",
    "MonitoringAgent",
    "NativeExecutor",
    "NativeSkill",
    "Registry",
    "Resources",
    "Response",
    "ScriptedModel",
    "Session",
    "Skill",
    "SkillBrowser",
    "SkillError",
    "SkillWarning",
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
        globals()[name] = value
        if name == "MonitoringAgent":  # in a notebook, fleet runs show a progress bar
            from .notebook.progress import follow_fleets

            follow_fleets()
        return value
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    raise AttributeError(f"module 'conjure_nb' has no attribute {name!r}")


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
    from .errors import (
        ConjureError,
        ExecutorError,
        MaxIterationsError,
        ModelError,
        SkillError,
        SkillWarning,
        ToolError,
        UsageError,
    )
    from .executors.approval import (
        ApprovalExecutor,
        ApprovalPolicy,
        ApprovalRecord,
        ApprovalRequest,
        require_approval,
    )
    from .executors.base import Executor, ExecutorSetup
    from .executors.docker import DockerExecutor
    from .executors.local import LocalExecutor
    from .executors.native import Context, NativeExecutor, NativeSkill, native_skill
    from .models.anthropic import AnthropicModel
    from .models.base import Model, ModelRequest
    from .models.function import FunctionModel
    from .models.scripted import ScriptedModel
    from .monitoring.agent import MonitoringAgent
    from .monitoring.fetcher import LogFetcher
    from .notebook.panels.chat import ChatPanel
    from .notebook.panels.dashboard import dashboard
    from .notebook.panels.files import FilesPanel
    from .notebook.panels.skills import SkillBrowser
    from .notebook.render import show
    from .prompt import estimate_tokens, system_prompt
    from .session.core import Session
    from .skills.loader import load, load_skill
    from .skills.model import Resources, Skill
    from .skills.package import package
    from .skills.registry import Registry
    from .skills.validate import ValidationReport, validate
    from .testing.demo_server import DemoLogServer
    from .tools import events
    from .tools.data import CreatedFile, ToolCall, ToolCallRecord, ToolResult
    from .tools.definitions import tool_definitions
    from .tools.response import Response
