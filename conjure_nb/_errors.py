"""The error tree of conjure_nb, split by who has to act.

```
ConjureError                  anything conjure_nb raises on purpose
├── UsageError                the caller used the API wrongly (bad argument, unknown tool name)
├── SkillError                a skill or a .skill package is invalid
├── ModelError                the model/API failed (carries the HTTP status when there is one)
├── ExecutorError             a backend failed (daemon unreachable, image missing, container died)
└── MaxIterationsError        the tool loop hit max_iterations (carries the transcript)
```

`ToolError` is deliberately *not* a `ConjureError`: a native skill raises it to hand the model an
`is_error` tool result, and the loop never lets it reach the caller.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConjureError",
    "ExecutorError",
    "MaxIterationsError",
    "ModelError",
    "SkillError",
    "SkillWarning",
    "ToolError",
    "UsageError",
]


class ConjureError(Exception):
    """Base class of every error conjure_nb raises on purpose."""


class UsageError(ConjureError, ValueError):
    """The caller used the API wrongly; the message says how to fix the call."""


class SkillError(ConjureError):
    """A skill (a folder or a `.skill` package) is invalid.

    Attributes:
        skill: the skill's name or path, as far as it is known.
        problems: every problem found, each a readable sentence.
    """

    def __init__(self, message: str, *, skill: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.skill = skill
        self.problems = problems if problems is not None else [message]


class ModelError(ConjureError):
    """The model or its API failed; `status` is the HTTP status when there was one.

    `retry_after` is the wait in seconds the server asked for (429/529), when it said.
    """

    def __init__(
        self, message: str, *, status: int | None = None, body: Any = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after


class ExecutorError(ConjureError):
    """A backend failed as infrastructure: not the tool, but the thing that runs tools."""


class MaxIterationsError(ConjureError):
    """The tool loop made `max_iterations` model requests without finishing the turn.

    Attributes:
        messages: the whole transcript, consistent (every tool_use has its tool_result).
        iterations: how many model requests were made.
    """

    def __init__(self, message: str, *, messages: list[dict[str, Any]], iterations: int):
        super().__init__(message)
        self.messages = messages
        self.iterations = iterations


class ToolError(Exception):
    """Raised inside a native skill to return an `is_error` tool result with this message."""


class SkillWarning(UserWarning):
    """A skill was skipped or overridden while loading; the message names it and says why."""


for _cls in (
    ConjureError,
    UsageError,
    SkillError,
    ModelError,
    ExecutorError,
    MaxIterationsError,
    ToolError,
    SkillWarning,
):
    _cls.__module__ = "conjure_nb"  # the public name, in tracebacks and reprs
del _cls
