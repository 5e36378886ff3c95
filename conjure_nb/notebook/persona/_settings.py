"""What the Conjure persona runs with: backend, skills, model, limits, approvals.

Every setting is a traitlets option of `ConjurePersona` (`c.ConjurePersona.backend = "docker"` in
`jupyter_server_config.py`, or `--ConjurePersona.backend=docker` on the command line), and each
one falls back to an environment variable, so a deployment can configure the persona without a
config file:

| setting | environment | default |
|---|---|---|
| backend | CONJURE_PERSONA_BACKEND | docker when an engine and the sandbox image are there, else local |
| skills | CONJURE_PERSONA_SKILLS (os.pathsep-separated) | `skills/` beside the chat, else the bundled skills |
| model | CONJURE_PERSONA_MODEL | Claude (`CONJURE_MODEL` or the default id) when ANTHROPIC_API_KEY is set |
| models | CONJURE_PERSONA_MODELS (comma-separated) | none: the picker offers `model` only |
| max_iterations | CONJURE_PERSONA_MAX_ITERATIONS | 25 |
| approvals | CONJURE_PERSONA_APPROVALS | none: every tool runs (`ask`, or `bash_tool=ask,view=allow`) |

A model is a Claude model id (`claude-sonnet-4-6`) or an importable object written
`package.module:attribute` (a `cj.Model`, a `ScriptedModel`, or any callable `fn(messages) -> dict`).
Nothing here imports Jupyter AI, so it can be tested and reused on its own.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..._errors import UsageError

__all__ = [
    "BACKENDS",
    "LOCAL_WARNING",
    "NO_MODEL",
    "bundled_skills",
    "docker_ready",
    "import_object",
    "is_importable",
    "model_label",
    "parse_approvals",
    "resolve_model",
]

BACKENDS = ("local", "docker", "native")

NO_MODEL = (
    "**Conjure has no model.** Set `ANTHROPIC_API_KEY` in the environment that starts Jupyter "
    "(Claude), or name a model: `c.ConjurePersona.model = 'claude-sonnet-4-6'` in "
    "`jupyter_server_config.py` / `CONJURE_PERSONA_MODEL`, either a model id or an importable model "
    "object written `package.module:attribute` (a `cj.Model` or a callable `fn(messages) -> dict`). "
    "Then restart the server and send your message again."
)

LOCAL_WARNING = (
    "**Tools run on the local backend**, as the Jupyter server's user: their environment is clean, "
    "but they can read the server's (`cat /proc/$PPID/environ`) and anything else it can. Local is "
    "for trusted skills; docker is the boundary for untrusted code (build the image with "
    "`conjure-nb sandbox build`, then `/backend docker`). See docs/security.md."
)

# `package.module:attribute` (dots allowed on both sides); a model id never has this shape
_IMPORTABLE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def is_importable(spec: str) -> bool:
    """True for `package.module:attribute`, the way an object (not a path or a model id) is named."""
    return _IMPORTABLE.fullmatch(spec) is not None


def import_object(spec: str) -> Any:
    """The object `package.module:attribute` names (the attribute may be dotted)."""
    module_name, _, attr = spec.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{spec}: cannot import {module_name!r} ({exc}) in the Jupyter server") from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UsageError(f"{spec}: {module_name} has no attribute {attr!r}") from None
    return value


def resolve_model(spec: str | None, env: Mapping[str, str] | None = None) -> Any:
    """The model `spec` names, Claude when a key is set and no spec is, or None (no model at all).

    Raises:
        UsageError: the spec cannot be imported, is not a model, or is a Claude id with no key.
    """
    env = os.environ if env is None else env
    if spec and is_importable(spec):
        value = import_object(spec)
        if not (hasattr(value, "request") or callable(value)):
            raise UsageError(
                f"model {spec}: that is a {type(value).__name__}, not a model; give a cj.Model "
                "(e.g. cj.ScriptedModel) or a callable fn(messages) -> dict"
            )
        return value
    if env.get("ANTHROPIC_API_KEY"):
        from ...models._anthropic import AnthropicModel

        return AnthropicModel(model=spec) if spec else AnthropicModel()
    return None


def model_label(spec: str | None, model: Any) -> str:
    """What the model picker shows: the configured spec, else the model's own id."""
    if spec:
        return spec
    value = getattr(model, "model", None)
    return value if isinstance(value, str) else type(model).__name__


def parse_approvals(text: str | None) -> dict[str, str] | str | None:
    """`ask` (one decision for every tool) or `bash_tool=ask,view=allow` (rules), or None."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if "=" not in text:
        return text
    rules: dict[str, str] = {}
    for item in text.split(","):
        tool, sep, decision = item.partition("=")
        if not sep or not tool.strip():
            raise UsageError(f"approvals {text!r}: write `tool=decision` pairs separated by commas")
        rules[tool.strip()] = decision.strip()
    return rules


def bundled_skills() -> Path | None:
    """The skills shipped with conjure-nb (the wheel's copy, or `skills/` in a source checkout)."""
    package = Path(__file__).resolve().parents[2]
    for candidate in (package / "_bundled_skills", package.parent / "skills"):
        if candidate.is_dir():
            return candidate
    return None


def docker_ready(image: str | None) -> bool:
    """True when a Docker engine answers and has the sandbox image (blocking: call in a thread)."""
    try:
        from ...executors.docker._client import connect
        from ...executors.docker._image import default_image

        client = connect(None, timeout=5)
    except Exception:
        return False
    try:
        client.images.get(image or default_image())
        return True
    except Exception:
        return False
    finally:
        client.close()
