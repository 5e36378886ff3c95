"""Turning magic arguments into the things a session needs: a model, skills, a message.

Names are looked up in the notebook's namespace first, so `--model fake` can be a ScriptedModel
or a plain function defined in a cell, and `--skills fetcher` a NativeSkill object.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from ...skills._model import Skill

__all__ = ["NO_MODEL", "expand", "resolve_model", "resolve_skills"]

NO_MODEL = (
    "no model for %%conjure chat: set ANTHROPIC_API_KEY (Claude), or pass --model NAME "
    "(a Model or callable in the notebook, or a model id), or set "
    "%config ConjureMagics.model = 'NAME'"
)
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(body: str, namespace: dict[str, Any], refs: dict[str, str]) -> str:
    """Fill `{name}` from the `-i` inputs (`refs`: file names or values) or the notebook's namespace.

    Cell text is text: only a bare variable name in braces is filled, and nothing in the cell is ever
    evaluated (`{open('x', 'w').write('y')}` stays exactly as written, and runs nothing). Braces that
    are not a known name (`{nope}`, JSON like `{"a": 1}`, `{n * 2}`) stay as written; `{{name}}`
    writes a literal `{name}`.
    """

    def fill(match: re.Match[str]) -> str:
        literal, name = match.group(1), match.group(2)
        if literal is not None:
            return "{" + literal + "}"
        if name in refs:
            return refs[name]
        if name in namespace and not name.startswith("_"):
            return str(namespace[name])
        return match.group(0)

    return _PLACEHOLDER.sub(fill, body)


def _is_model(value: Any) -> bool:
    return hasattr(value, "request") or callable(value)


def resolve_model(spec: str | None, namespace: dict[str, Any]) -> Any:
    """The model `spec` names (a namespace name or a model id), Claude from the key, or None."""
    if spec:
        if spec in namespace:
            value = namespace[spec]
            if not _is_model(value):
                raise UsageError(
                    f"--model {spec}: the notebook variable {spec!r} is a {type(value).__name__}, "
                    "not a model; give a Model (e.g. cj.ScriptedModel), a callable fn(messages) -> dict, "
                    "or a model id"
                )
            return value
        if not os.environ.get("ANTHROPIC_API_KEY"):
            raise UsageError(
                f"--model {spec}: no notebook variable has that name, and as a Claude model id it "
                "needs ANTHROPIC_API_KEY; set the key, or define the model in a cell first"
            )
        return _claude(spec)
    if os.environ.get("ANTHROPIC_API_KEY"):
        return _claude(None)
    return None


def _claude(model_id: str | None) -> Any:
    from ...models._anthropic import AnthropicModel

    return AnthropicModel(model=model_id) if model_id else AnthropicModel()


def _hosted_spec(item: str) -> Any:
    """`xlsx` / `anthropic:xlsx[:VERSION]` / `custom:ID[:VERSION]` as a hosted spec; a path stays a path
    (a local skill the anthropic backend uploads)."""
    if Path(item).expanduser().exists():
        return str(Path(item).expanduser())
    parts = item.split(":")
    if len(parts) == 1:
        return ("anthropic", parts[0], "latest")
    if parts[0] in ("anthropic", "custom") and len(parts) in (2, 3):
        return (parts[0], parts[1], parts[2] if len(parts) == 3 else "latest")
    raise UsageError(
        f"--skills {item}: for --backend anthropic give a hosted skill (xlsx, anthropic:pdf, "
        "custom:SKILL_ID[:VERSION]) or a local skill folder to upload"
    )


def resolve_skills(
    items: list[str], backend: str, namespace: dict[str, Any]
) -> tuple[list[Any], tuple[str, ...]]:
    """Skills (or native skill objects) for a session, and labels saying what they were."""
    if backend == "native":
        objects = []
        for name in items:
            if name not in namespace:
                raise UsageError(
                    f"--skills {name}: a native session takes NativeSkill objects by their notebook "
                    f"name, and there is no variable {name!r}"
                )
            objects.append(namespace[name])
        return objects, tuple(items)
    if backend == "anthropic":
        return [_hosted_spec(item) for item in items], tuple(items)
    skills: list[Any] = []
    for item in items:
        if Path(item).expanduser().exists():
            skills.append(str(Path(item).expanduser()))
            continue
        value = namespace.get(item)
        if isinstance(value, Skill) or (
            isinstance(value, (list, tuple)) and value and all(isinstance(s, Skill) for s in value)
        ):
            skills.extend(value if isinstance(value, (list, tuple)) else [value])
            continue
        raise UsageError(
            f"--skills {item}: no such folder or .skill file (from {os.getcwd()}), and no notebook "
            "variable of that name holds skills"
        )
    return skills, tuple(items)
