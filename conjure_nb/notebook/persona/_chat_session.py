"""The session behind one chat file: built on first use, kept across messages, closed with the chat.

Nothing here touches Jupyter AI: the persona hands in its settings and the chat's folder, and asks
for a session (blocking work: call it in a thread), the files of a turn copied beside the chat,
and the usage so far. The session's own working dir is private; the chat's folder is where the
person's files are (mounted read-only in the docker sandbox, reachable by the local tools).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._errors import UsageError
from ...executors._approval import Asker, require_approval
from ...models._base import fake_label
from ...models._function import as_model
from ...session import Session
from ...tools._data import CreatedFile
from ...tools._usage import counted, not_usage, tokens_text
from ...tools._workspace import download
from ._settings import (
    BACKENDS,
    bundled_skills,
    docker_ready,
    import_object,
    is_importable,
    model_label,
    parse_approvals,
    resolve_model,
)
from ._view import FileLink, image_preview, sheet_preview

__all__ = ["CHAT_MOUNT", "ChatSession", "PersonaSettings", "Usage"]

CHAT_MOUNT = "/mnt/chat"  # where the docker sandbox sees the chat's folder (read-only)
_IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


@dataclass
class PersonaSettings:
    """The persona's settings, resolved (see _settings.py for each one and its default)."""

    backend: str | None = None
    skills: list[str] = field(default_factory=list)
    model: str | None = None
    models: list[str] = field(default_factory=list)
    max_iterations: int = 25
    approvals: str | None = None
    image: str | None = None
    timeout: float = 120.0


@dataclass
class Usage:
    """Tokens and estimated cost of the chat's session so far: what real models reported only
    (`tools._usage.counted`); `fake` names the stand-in model answering now, if one is."""

    tokens: dict[str, int]
    model_id: str | None
    cost: float | None
    fake: str | None = None

    @property
    def text(self) -> str:
        from ..panels._pricing import format_cost

        real = f"{tokens_text(self.tokens)}, {format_cost(self.cost)}"
        where = f" at {self.model_id} list prices" if self.cost is not None else ""
        if self.fake is None:
            return real + where
        earlier = f" (real models earlier: {real}{where})" if any(self.tokens.values()) else ""
        return f"{self.fake}: {not_usage(self.fake)}{earlier}"


class ChatSession:
    """One chat's session and choices. Not thread-safe: the persona serializes its messages."""

    def __init__(self, settings: PersonaSettings, chat_dir: Path, rel_dir: str = "", base_url: str = "/"):
        if settings.backend is not None and settings.backend not in BACKENDS:
            raise UsageError(f"backend {settings.backend!r}: choose one of {', '.join(BACKENDS)}")
        self.settings = settings
        self.chat_dir = chat_dir
        self.rel_dir = rel_dir.strip("/")  # the chat's folder as the server names it (root-relative)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.backend = settings.backend
        self.session: Session | None = None
        self.model_choice = self.model_options[0] if self.model_options else None
        self._models: dict[str | None, Any] = {}
        self.copied: list[FileLink] = []

    # -- models ---------------------------------------------------------------------------------

    @property
    def model_options(self) -> list[str]:
        """The model specs the picker offers: `model` first, then `models`; with none configured,
        the default Claude model when there is a key for it."""
        specs = [s for s in [self.settings.model, *self.settings.models] if s]
        if not specs and os.environ.get("ANTHROPIC_API_KEY"):
            from ...models._anthropic import DEFAULT_MODEL

            specs = [DEFAULT_MODEL]
        return list(dict.fromkeys(specs))

    def model(self) -> Any:
        """The chosen model (resolved once per spec), or None when there is none to use."""
        spec = self.model_choice
        if spec not in self._models:
            self._models[spec] = resolve_model(spec)
        return self._models[spec]

    def model_label(self) -> str | None:
        model = self.model()
        return None if model is None else model_label(self.model_choice, model)

    # -- the session ----------------------------------------------------------------------------

    def open(self, ask: Asker) -> tuple[Session, bool]:
        """The chat's session, built now if there is none; True when this call built it (blocking)."""
        if self.session is not None and not self.session.closed:
            return self.session, False
        if self.backend is None:
            self.backend = "docker" if docker_ready(self.settings.image) else "local"
        self.session = self._build(self.backend)
        policy = parse_approvals(self.settings.approvals)
        if policy is not None:
            require_approval(self.session, policy, ask=ask)  # type: ignore[arg-type]
        return self.session, True

    def _build(self, backend: str) -> Session:
        common: dict[str, Any] = {
            "max_iterations": self.settings.max_iterations,
            "timeout": self.settings.timeout,
            "system": self._where(backend),
        }
        model = self.model()
        if backend == "native":
            objects = [import_object(spec) for spec in self.settings.skills]
            return Session.new_native(objects, model, **common)
        skills = self._skill_paths()
        if backend == "docker":
            from ...executors.docker import DockerExecutor

            executor = DockerExecutor(
                image=self.settings.image, extra_mounts={str(self.chat_dir): CHAT_MOUNT}
            )
            return Session(skills, model, executor=executor, **common)
        return Session.new_local(skills, model, allowed_paths=(self.chat_dir,), **common)

    def _skill_paths(self) -> list[str]:
        if self.settings.skills:
            return [str(Path(p).expanduser()) for p in self.settings.skills]
        beside = self.chat_dir / "skills"
        if beside.is_dir():
            return [str(beside)]
        bundled = bundled_skills()
        return [str(bundled)] if bundled is not None else []

    def _where(self, backend: str) -> str:
        if backend == "native":
            return "The person is chatting with you in JupyterLab's chat sidebar."
        shown = CHAT_MOUNT + " (read-only)" if backend == "docker" else str(self.chat_dir)
        return (
            "The person is chatting with you in JupyterLab's chat sidebar. The folder of their chat "
            f"is {shown}: paths they mention are relative to it. Write the files you make in your "
            "working directory; they are copied next to the chat for the person."
        )

    def use_backend(self, name: str) -> None:
        """Run the next turns on `name` (a new session: the history starts again)."""
        if name not in BACKENDS:
            raise UsageError(f"/backend {name}: choose one of {', '.join(BACKENDS)}")
        if name == "native" and not (self.settings.skills and all(map(is_importable, self.settings.skills))):
            raise UsageError(
                "/backend native: name the NativeSkill objects first "
                "(c.ConjurePersona.skills = ['package.module:attribute'])"
            )
        self.close()
        self.backend = name

    def use_model(self, spec: str) -> None:
        if spec not in self.model_options:
            raise UsageError(f"model {spec!r} is not configured; the choices are {self.model_options}")
        self.model_choice = spec
        if self.session is not None:
            self.session.model = as_model(self.model())

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()

    # -- files and usage -------------------------------------------------------------------------

    def copy_files(self, files: list[CreatedFile]) -> tuple[list[FileLink], list[str]]:
        """Copy a turn's created files beside the chat (never overwriting); links and problems."""
        session = self.session
        local = [f for f in files if f.path is not None]
        if session is None or not local:
            return [], []
        written, problems = download(local, self.chat_dir, session.working_dir)
        links = [self._link(path) for path in written]
        self.copied += links
        return links, problems

    def _link(self, path: Path) -> FileLink:
        served = f"{self.rel_dir}/{path.name}" if self.rel_dir else path.name
        suffix = path.suffix.lower()
        preview = ""
        if suffix in _IMAGES:
            preview = image_preview(self.base_url, served)
        elif suffix == ".xlsx":
            preview = sheet_preview(path)
        return FileLink(served, os.stat(path).st_size, self.base_url, preview)

    def usage(self) -> Usage:
        from ..panels._pricing import estimate_cost

        session = self.session
        tokens = counted(session.usage, session.invented_usage) if session is not None else {}
        model = self.model()
        mid = getattr(model, "model", None) if model is not None else None
        mid = mid if isinstance(mid, str) else None
        fake = fake_label(as_model(model)) if model is not None else None
        if fake is not None and not any(tokens.values()):  # nothing real to put a price on
            return Usage(tokens, mid, None, fake)
        return Usage(tokens, mid, estimate_cost(mid, tokens), fake)
