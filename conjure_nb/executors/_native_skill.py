"""Native skills: Python objects in this process, offered to the model as tools.

A `NativeSkill` overrides any of `execute`, `read`, `write` and `modify`; each overridden method
becomes a tool named `<name_with_underscores>_<method>` whose inputs are the method's parameters.
A method returns its output as a `str` (a list of records, a DataFrame or bytes are rendered as
JSON/text too). A skill raises `cj.ToolError` to hand the model an `is_error` result; any other
exception also becomes an `is_error` result (with its type and message), never a crash of the
caller. Returning a tuple, a dict or None (the Elixir library's `{:ok, text}` / `{:error, why}`
habit) is an `is_error` result that says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, overload

from .._errors import UsageError

__all__ = [
    "METHODS",
    "Context",
    "NativeSkill",
    "as_native_skill",
    "bind_input",
    "native_skill",
    "tool_definition",
]

METHODS = ("execute", "read", "write", "modify")

SCHEMAS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "execute": (
        {"command": {"type": "string", "description": "The command for the skill, as its description says."}},
        ["command"],
        "Run a command of the native skill '{name}': {description}",
    ),
    "read": (
        {
            "path": {"type": "string", "description": "What to read."},
            "offset": {"type": "integer", "description": "Optional start (line or record)."},
            "limit": {"type": "integer", "description": "Optional maximum number of lines/records."},
        },
        ["path"],
        "Read from the native skill '{name}'.",
    ),
    "write": (
        {
            "path": {"type": "string", "description": "Where to write."},
            "content": {"type": "string", "description": "What to write."},
        },
        ["path", "content"],
        "Write through the native skill '{name}'.",
    ),
    "modify": (
        {
            "path": {"type": "string", "description": "What to modify."},
            "old_content": {"type": "string", "description": "The exact content to replace."},
            "new_content": {"type": "string", "description": "The replacement."},
        },
        ["path", "old_content", "new_content"],
        "Modify content through the native skill '{name}'.",
    ),
}


@dataclass
class Context:
    """What a native skill learns about the call it serves."""

    session_id: str
    working_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    tool_use_id: str | None = None
    skill: str = ""
    timeout: float | None = None
    state: dict[str, Any] = field(default_factory=dict)
    """Per-session scratch space shared by every call of every native skill."""


class NativeSkill:
    """Base class of in-process skills. Set `name` and `description`; override what you offer."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def execute(self, command: str, context: Context) -> Any:
        """Run a command: the tool `<prefix>_execute`, the one most native skills offer.

        Override it to offer the tool; the model sends `command` as free text, so say in
        `description` what a command looks like.

        Args:
            command: what the model asked for.
            context: the session's working dir, environment, timeout and shared `state`.

        Returns:
            The tool's output: a string as it is, bytes decoded as UTF-8, a DataFrame as JSON
            records, a list or a number as JSON. A tuple, a dict or None is an `is_error` result
            saying so (the Elixir `{:ok, text}` habit is not an answer).

        Raises:
            ToolError: to hand the model an `is_error` result with this message. Any other exception
                becomes an `is_error` result too, with its type and message; none reaches the caller.

        Example:
            >>> import conjure_nb as cj
            >>> class Greeter(cj.NativeSkill):
            ...     name = "greeter"
            ...     description = "Greets whoever the command names."
            ...     def execute(self, command, context):
            ...         return f"hello, {command}"
            >>> with cj.Session.new_native([Greeter()]) as s:
            ...     s.run_tool("greeter_execute", command="Ada").content
            'hello, Ada'
        """
        raise NotImplementedError

    def read(self, path: str, context: Context, offset: int | None = None, limit: int | None = None) -> Any:
        """Read something the skill holds: the tool `<prefix>_read`.

        Args:
            path: what to read, in the skill's own terms (a key, a record id, a file name).
            context: the call's context.
            offset: where to start, when the model asks for a part.
            limit: how much to return at most.

        Returns:
            The content, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def write(self, path: str, content: str, context: Context) -> Any:
        """Create or replace something: the tool `<prefix>_write`.

        Args:
            path: what to write, in the skill's own terms.
            content: the new content.
            context: the call's context.

        Returns:
            A confirmation for the model, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def modify(self, path: str, old_content: str, new_content: str, context: Context) -> Any:
        """Replace `old_content` with `new_content` in something the skill holds: `<prefix>_modify`.

        Args:
            path: what to change, in the skill's own terms.
            old_content: the text to find; refuse the edit (raise `ToolError`) when it is not there.
            new_content: the replacement.
            context: the call's context.

        Returns:
            A confirmation for the model, converted like `execute`'s output.

        Raises:
            ToolError: to hand the model an `is_error` result.
        """
        raise NotImplementedError

    def methods(self) -> list[str]:
        """The methods this skill overrides, i.e. the tools it offers."""
        return [m for m in METHODS if getattr(type(self), m) is not getattr(NativeSkill, m)]

    @property
    def tool_prefix(self) -> str:
        """The start of this skill's tool names: `name` with `-` and spaces as `_` (`log_fetcher`)."""
        return self.name.replace("-", "_").replace(" ", "_")

    def __repr__(self) -> str:
        return f"<NativeSkill {self.name!r} tools={self.methods()}>"


@overload
def native_skill(
    fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
) -> NativeSkill: ...


@overload
def native_skill(
    fn: None = None, *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], NativeSkill]: ...


def native_skill(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> NativeSkill | Callable[[Callable[..., Any]], NativeSkill]:
    """Turn a function `fn(command, context)` into a NativeSkill instance.

    Usable bare (`@native_skill`) or with arguments (`@native_skill(name="x", description="...")`);
    without arguments the name comes from the function name and the description from its docstring.
    """

    def wrap(f: Callable[..., Any]) -> NativeSkill:
        skill_name = name or f.__name__.replace("_", "-")
        desc = description or inspect.getdoc(f) or f"Native skill {skill_name}."
        cls = type(
            f"NativeSkill_{f.__name__}",
            (NativeSkill,),
            {
                "name": skill_name,
                "description": desc,
                "execute": lambda self, command, context: f(command, context),
                "__doc__": f.__doc__,
            },
        )
        return cls()  # type: ignore[no-any-return]

    return wrap(fn) if fn is not None else wrap


def as_native_skill(obj: Any) -> NativeSkill:
    """Accept an instance, a NativeSkill subclass or a decorated function."""
    if isinstance(obj, type) and issubclass(obj, NativeSkill):
        obj = obj()
    if not isinstance(obj, NativeSkill):
        raise UsageError(
            f"{obj!r} is not a native skill; pass a cj.NativeSkill instance or subclass, "
            "or a function decorated with @cj.native_skill"
        )
    if not obj.name or not isinstance(obj.name, str):
        raise UsageError(f"native skill {type(obj).__name__} has no name; set the class attribute `name`")
    if not obj.methods():
        raise UsageError(f"native skill {obj.name!r} overrides none of {list(METHODS)}")
    return obj


def tool_definition(skill: NativeSkill, method: str) -> dict[str, Any]:
    """The tool `<prefix>_<method>` of `skill` as the model sees it: name, description, input schema."""
    props, required, desc = SCHEMAS[method]
    return {
        "name": f"{skill.tool_prefix}_{method}",
        "description": desc.format(name=skill.name, description=skill.description),
        "input_schema": {"type": "object", "properties": dict(props), "required": list(required)},
    }


def bind_input(method: str, inp: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The call's input as `method`'s keyword arguments, or the problem with it (checked against SCHEMAS)."""
    props, required, _ = SCHEMAS[method]
    if not isinstance(inp, dict):
        return {}, "input must be an object"
    missing = [k for k in required if k not in inp]
    if missing:
        return {}, f"missing required input(s) {missing}"
    unknown = sorted(set(inp) - set(props))
    if unknown:
        return {}, f"unknown input(s) {unknown}; expected {sorted(props)}"
    for key, value in inp.items():
        want = props[key]["type"]
        ok = isinstance(value, str) if want == "string" else (value is None or isinstance(value, int))
        if not ok or isinstance(value, bool):
            return {}, f"input {key!r} must be a {want}, not {type(value).__name__}"
    return dict(inp), None
