"""`HostedModel`: a model wrapped so each request runs in Anthropic's code-execution container.

Each request gets the container (the skills, plus the id the API named in an earlier reply, so
pause_turn continuations, later turns and a reloaded session reuse one container), the
code-execution tool and the beta flags. Around the wrapped model's call it adds what the hosted
API needs: 429/529 retried after the server's retry-after, an expired container replaced by a new
one (with a `HostedWarning` saying so), more skills than the per-request limit refused before
anything is sent, and a cap on pause_turn continuations. What a reply says the server tools did is
read by the anthropic backend (`AnthropicExecutor.read_reply`), not here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import warnings
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

from .._errors import MaxIterationsError, ModelError, UsageError
from ..models._base import BaseModel, ModelRequest, fake_label, normalize_response
from ..models._function import as_model
from ._client import FILES_BETA, SKILLS_BETA

__all__ = ["CODE_EXECUTION_BETA", "HostedModel", "HostedSettings", "HostedWarning", "SkillRef"]

CODE_EXECUTION_BETA = "code-execution-2025-08-25"


class HostedWarning(UserWarning):
    """Something about the hosted container the user should know (it was replaced, ...)."""


@dataclass
class HostedSettings:
    """Settings of the anthropic backend, with the documented defaults.

    Attributes:
        code_execution_tool: the tool type (newer: `code_execution_20260120`, ...).
        betas: beta flags sent with every request (SDK 2.x no longer adds them).
        max_skills: skills per request (8 in the 2025 docs, 20 in 2026's); more is refused before sending.
        max_pause_continuations: pause_turn continuations per turn before `MaxIterationsError`
            (at most the loop's own cap, 10).
        max_retries: retries of a 429/529 answer.
        max_retry_wait: the longest wait in seconds, whatever retry-after says.
        max_file_metadata: files per reply whose Files API metadata (name, size, type) is fetched; a
            reply naming more lists the rest by id (they still download) and warns.
        metadata_concurrency: metadata requests in flight at once.
    """

    code_execution_tool: str = "code_execution_20250825"
    betas: tuple[str, ...] = (CODE_EXECUTION_BETA, SKILLS_BETA, FILES_BETA)
    max_skills: int = 8
    max_pause_continuations: int = 10
    max_retries: int = 3
    max_retry_wait: float = 60.0
    max_file_metadata: int = 100
    metadata_concurrency: int = 8


@dataclass(frozen=True)
class SkillRef:
    """One skill in a container: `("anthropic", "xlsx", "latest")` or `("custom", "skill_01...", "<version>")`."""

    type: str
    skill_id: str
    version: str = "latest"

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _container_id(container: Any) -> str | None:
    got = container.get("id") if isinstance(container, dict) else container
    return got if isinstance(got, str) and got else None


def _expired(error: ModelError) -> bool:
    text = str(error).lower()
    return error.status in (400, 404) and "container" in text and ("expired" in text or "not found" in text)


def _trailing_assistants(messages: list[dict[str, Any]]) -> int:
    n = 0
    for message in reversed(messages):
        if message.get("role") != "assistant":
            break
        n += 1
    return n


class HostedModel(BaseModel):
    """Wrap `model` (an `AnthropicModel`, or any model/callable in tests) for the hosted container.

    Args:
        model: the model that sends the requests.
        skills: the container's skills (custom ones already uploaded).
        settings: see `HostedSettings`.
        sleep / asleep: how to wait before a retry (injected by tests that check the wait asked for).
    """

    def __init__(
        self,
        model: Any,
        skills: list[SkillRef],
        settings: HostedSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.inner = as_model(model)
        self.skills = list(skills)
        self.settings = settings or HostedSettings()
        self.container_id: str | None = None
        self._dead: set[str] = set()
        self.sleep, self.asleep = sleep, asleep

    def __repr__(self) -> str:
        return f"<HostedModel {self.inner!r} skills={len(self.skills)}>"

    @property
    def fake(self) -> str | None:  # type: ignore[override]  # computed, not set
        """The wrapped model's stand-in label (`fake_label`): a fake stays named behind the wrapper."""
        return fake_label(self.inner)

    def check_skills(self) -> None:
        """Refuse more skills than one request may carry, before anything is sent."""
        if len(self.skills) > self.settings.max_skills:
            names = ", ".join(s.skill_id for s in self.skills)
            raise UsageError(
                f"{len(self.skills)} skills ({names}) is more than the {self.settings.max_skills} a hosted "
                "request may carry; use fewer skills per session (or raise settings.max_skills if your "
                "API allows more)"
            )

    def prepare(self, req: ModelRequest) -> ModelRequest:
        """The request with container, code-execution tool and betas, after the pre-send checks."""
        self.check_skills()
        pauses = _trailing_assistants(req.messages)
        if pauses > self.settings.max_pause_continuations:
            raise MaxIterationsError(
                f"the model paused its turn (pause_turn) {pauses} times in a row; the limit is "
                f"max_pause_continuations={self.settings.max_pause_continuations}. The transcript so far "
                "is on this error and on the session: send a new message to let it go on",
                messages=list(req.messages),
                iterations=pauses,
            )
        cid = _container_id(req.container)
        if cid is None or cid in self._dead:
            cid = self.container_id if self.container_id not in self._dead else None
        container: dict[str, Any] = {"skills": [s.to_dict() for s in self.skills]}
        if cid:
            container = {"id": cid, **container}
        tool = {"type": self.settings.code_execution_tool, "name": "code_execution"}
        tools = [t for t in req.tools if t.get("name") != "code_execution"] + [tool]
        betas = list(dict.fromkeys([*self.settings.betas, *req.betas]))
        return dataclasses.replace(req, container=container, tools=tools, betas=betas)

    def _recover(self, error: ModelError, sent: ModelRequest, attempt: int) -> float | None:
        """How long to wait before trying again, or None to give up and raise."""
        cid = _container_id(sent.container)
        if cid and _expired(error):
            self._dead.add(cid)
            if self.container_id == cid:
                self.container_id = None
            warnings.warn(
                f"the hosted container {cid} has expired; a new container was started, so files the "
                "model made in the old one are gone (files already listed in created_files stay "
                "downloadable)",
                HostedWarning,
                stacklevel=5,
            )
            return 0.0
        if error.status in (429, 529) and attempt < self.settings.max_retries:
            wait = error.retry_after if error.retry_after is not None else 2.0**attempt
            return min(wait, self.settings.max_retry_wait)
        return None

    def _done(self, reply: dict[str, Any]) -> dict[str, Any]:
        reply = normalize_response(reply)
        cid = _container_id(reply.get("container"))
        if cid:
            self.container_id = cid
        return reply

    def _attempts(self, req: ModelRequest) -> Generator[tuple[ModelRequest, float], ModelError, None]:
        """The retry policy, written once for both drivers.

        Yields (the request to send, seconds to wait before sending it); the driver sends back the
        `ModelError` a try raised, and the error is raised here when it is not worth another try.
        """
        attempt, wait = 0, 0.0
        while True:
            sent = self.prepare(req)
            error = yield sent, wait
            recovered = self._recover(error, sent, attempt)
            if recovered is None:
                raise error
            attempt, wait = attempt + 1, recovered

    def request(self, req: ModelRequest) -> dict[str, Any]:
        attempts = self._attempts(req)
        sent, wait = next(attempts)
        while True:
            if wait:
                self.sleep(wait)
            try:
                return self._done(self.inner.request(sent))
            except ModelError as exc:
                sent, wait = attempts.send(exc)

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        attempts = self._attempts(req)
        sent, wait = next(attempts)
        arequest = getattr(self.inner, "arequest", None)
        while True:
            if wait:
                await self.asleep(wait)
            try:
                reply = await (arequest(sent) if arequest else asyncio.to_thread(self.inner.request, sent))
                return self._done(reply)
            except ModelError as exc:
                sent, wait = attempts.send(exc)
