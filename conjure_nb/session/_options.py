"""The keywords of the session constructors, typed, so a type checker catches a wrong one.

`Session.new_local(skills, model, timout=3)` is an error in mypy or an IDE, not a surprise at run
time. The TypedDicts here are what `**options: Unpack[...]` of each constructor accepts; their
keys are also how `new_docker` tells session settings from the sandbox's settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from .._errors import UsageError
from ..models._base import Model
from ..skills._model import Skill

if TYPE_CHECKING:  # pragma: no cover
    from ..executors._base import Executor
    from ..hosted._client import HostedClient
    from ..hosted._model import HostedSettings

__all__ = [
    "ELIXIR_KEYWORDS",
    "AnyOptions",
    "DockerOptions",
    "HostedOptions",
    "ModelArg",
    "SessionOptions",
    "SkillsArg",
    "refuse_elixir_keywords",
    "split_options",
]

ModelArg = Model | Callable[..., dict[str, Any]] | None
"""A model: a `cj.Model` (request/arequest), a plain callable `fn(messages) -> dict`, or None."""
SkillsArg = Iterable[Skill | str | os.PathLike[str]] | str | os.PathLike[str] | None
"""Skills: `cj.Skill` objects, folders or `.skill` files (a path alone, or many)."""


class SessionOptions(TypedDict, total=False):
    """The settings every backend's session takes (see `Session`)."""

    working_dir: str | os.PathLike[str] | None
    timeout: float
    max_iterations: int
    env: dict[str, str] | None
    allowed_paths: Iterable[str | os.PathLike[str]]
    max_output: int
    max_kept_output: int
    system: str | None
    max_tokens: int | None
    keep_working_dir: bool
    session_id: str | None
    options: dict[str, Any] | None
    state: Mapping[str, Any] | None


class DockerOptions(SessionOptions, total=False):
    """`new_docker`: the session settings plus `DockerExecutor`'s (a test keeps them in step)."""

    image: str | None
    base_url: str | None
    remote: bool | None
    network: str
    memory: str
    cpus: float
    pids_limit: int
    read_only: bool
    tmpfs_size: str
    user: str | None
    python: str
    init: bool
    extra_mounts: Mapping[str, str] | None
    start_timeout: float
    pool: bool | None


class HostedOptions(SessionOptions, total=False):
    """`new_anthropic`: the session settings plus the hosted backend's."""

    keep_uploaded: bool
    client: HostedClient | None
    settings: HostedSettings | None


class AnyOptions(DockerOptions, HostedOptions, total=False):
    """`Session.new(backend, ...)` and `Session.load`: whatever the chosen backend takes."""

    executor: Executor | type[Executor] | None


SESSION_KEYS = frozenset(SessionOptions.__annotations__)


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the session's settings, the rest: the backend's own, for `DockerExecutor` or the hosted one)."""
    return (
        {k: v for k, v in options.items() if k in SESSION_KEYS},
        {k: v for k, v in options.items() if k not in SESSION_KEYS},
    )


ELIXIR_KEYWORDS: dict[str, str] = {
    "working_directory": "working_dir=...: the folder tools run in (a private temp dir when omitted)",
    "executor_config": (
        "the executor's own keywords: Session.new_docker(skills, image=..., memory=..., network=...), "
        "or executor=cj.DockerExecutor(image=...) / cj.LocalExecutor(shell=...)"
    ),
    "api_callback": (
        "model=...: any callable(messages) -> dict works, or cj.AnthropicModel(); it is given once, "
        "when the session is made, not on each chat()"
    ),
}
"""The Elixir library's session keywords, and what conjure_nb takes instead."""


def refuse_elixir_keywords(options: Mapping[str, Any], where: str) -> None:
    """A UsageError naming the Python keyword for an Elixir one, before anything else fails.

    Without it a porter meets `TypeError: unexpected keyword argument 'working_directory'` from
    deep inside, or (for `new_docker`) a sandbox setting that does not exist.
    """
    for key in options:
        if key in ELIXIR_KEYWORDS:
            raise UsageError(
                f"{where}: {key}= is the Elixir library's keyword; in conjure_nb use {ELIXIR_KEYWORDS[key]}"
            )
