"""`HostedClient`: Anthropic's Skills API and Files API, usable on their own.

```python
from conjure_nb.hosted import HostedClient
hc = HostedClient()                        # key from ANTHROPIC_API_KEY (or api_key=, base_url=)
info = hc.upload_skill("skills/log-analyzer")      # strict validation with the hosted limits first
hc.list_skills(source="custom"); hc.delete_skill(info.id)    # versions are deleted first
hc.file_metadata("file_01..."); hc.download_file("file_01...", "out/")
hc.download_content("file_01...")          # bytes, in memory; hc.list(limit=20) for the newest files
```

Every API failure is a `cj.ModelError` carrying the HTTP status; a skill that fails strict
validation is a `cj.SkillError` listing every problem, raised before anything is sent.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import os
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import ModelError, UsageError
from ..models._anthropic import api_error
from ..models._base import ensure_real_requests_allowed
from ..skills._model import Skill
from ._adapter import (
    FileInfo,
    SkillInfo,
    VersionInfo,
    file_info,
    safe_filename,
    skill_info,
    title_keyword,
    version_info,
)
from ._upload import upload_files

__all__ = ["FILES_BETA", "SKILLS_BETA", "HostedClient"]

SKILLS_BETA = "skills-2025-10-02"
FILES_BETA = "files-api-2025-04-14"


class HostedClient:
    """The Skills and Files APIs with one key and base_url (those of the session's model).

    Args:
        api_key: defaults to ANTHROPIC_API_KEY.
        base_url: an Anthropic-compatible server (the loopback fake in tests).
        max_upload_bytes: the hosted upload limit strict validation applies (default: the skills
            layer's `limits.max_upload_bytes`).
        **client_options: passed to `anthropic.Anthropic` (max_retries, timeout, ...).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        max_upload_bytes: int | None = None,
        **client_options: Any,
    ):
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key and base_url is None:
            raise UsageError(
                "the hosted Skills/Files APIs need an API key: pass api_key=... or set ANTHROPIC_API_KEY"
            )
        import anthropic

        self.base_url = base_url
        self.max_upload_bytes = max_upload_bytes
        self._anthropic = anthropic
        # typed as Any: the skills/files methods differ between SDK 1.x and 2.x, the adapter copes
        self.client: Any = anthropic.Anthropic(api_key=key or "no-key", base_url=base_url, **client_options)
        # close pooled connections when this client is dropped, even in a reference cycle: the
        # collector could otherwise reach a socket before the SDK client that closes it
        weakref.finalize(self, self.client.close)

    @classmethod
    def for_model(cls, model: Any, **options: Any) -> HostedClient:
        """A client with the same key and base_url as `model` (an `AnthropicModel`), else the env's."""
        return cls(getattr(model, "api_key", None), getattr(model, "base_url", None), **options)

    def __repr__(self) -> str:
        return f"<HostedClient {self.base_url or 'https://api.anthropic.com'}>"

    def close(self) -> None:
        """Close the HTTP connection pool (also done when the client is dropped)."""
        self.client.close()

    @contextlib.contextmanager
    def _api(self) -> Iterator[None]:
        ensure_real_requests_allowed(self.base_url)
        try:
            yield
        except self._anthropic.APIError as exc:
            raise api_error(exc, self.base_url or "https://api.anthropic.com") from exc

    # -- skills ---------------------------------------------------------------------------------

    def list_skills(self, source: str | None = None) -> list[SkillInfo]:
        """Every skill the key can see (all pages); `source` is "custom" or "anthropic"."""
        kw = {"source": source} if source else {}
        with self._api():
            return [skill_info(s) for s in self.client.beta.skills.list(betas=[SKILLS_BETA], **kw)]

    def get_skill(self, skill_id: str) -> SkillInfo:
        with self._api():
            return skill_info(self.client.beta.skills.retrieve(skill_id, betas=[SKILLS_BETA]))

    def upload_skill(self, skill: Skill | str | os.PathLike[str], *, title: str | None = None) -> SkillInfo:
        """Create a custom skill from a folder, a `.skill` file or a `cj.Skill` (strictly validated)."""
        name, files = upload_files(skill, self.max_upload_bytes)
        create = self.client.beta.skills.create
        with self._api():
            created = create(files=files, betas=[SKILLS_BETA], **{title_keyword(create): title or name})
        return skill_info(created)

    def new_version(self, skill_id: str, skill: Skill | str | os.PathLike[str]) -> VersionInfo:
        """Upload a new version of a custom skill (its `name` must stay the same)."""
        _, files = upload_files(skill, self.max_upload_bytes)
        with self._api():
            made = self.client.beta.skills.versions.create(skill_id, files=files, betas=[SKILLS_BETA])
        return version_info(made, skill_id)

    def list_versions(self, skill_id: str) -> list[VersionInfo]:
        with self._api():
            pages = self.client.beta.skills.versions.list(skill_id, betas=[SKILLS_BETA])
            return [version_info(v, skill_id) for v in pages]

    def delete_version(self, skill_id: str, version: str) -> None:
        with self._api():
            self.client.beta.skills.versions.delete(version, skill_id=skill_id, betas=[SKILLS_BETA])

    def delete_skill(self, skill_id: str) -> None:
        """Delete a custom skill, its versions first (the API refuses a skill that has versions)."""
        for v in self.list_versions(skill_id):
            self.delete_version(skill_id, v.version)
        with self._api():
            self.client.beta.skills.delete(skill_id, betas=[SKILLS_BETA])

    # -- files ----------------------------------------------------------------------------------

    def file_metadata(self, file_id: str) -> FileInfo:
        with self._api():
            return file_info(self.client.beta.files.retrieve_metadata(file_id, betas=[FILES_BETA]))

    def list_files(self) -> list[FileInfo]:
        """Every file the key can see (all pages)."""
        with self._api():
            return [file_info(f) for f in self.client.beta.files.list(betas=[FILES_BETA])]

    def list(self, limit: int = 100, purpose: str | None = None) -> builtins.list[FileInfo]:
        """At most `limit` files, newest first, as the Elixir library's `Files.Anthropic.list/2`.

        Args:
            limit: the most files returned (further pages are fetched only as needed).
            purpose: only files of this purpose; sent as the `purpose` query parameter, which a
                server that does not know it ignores.

        Raises:
            UsageError: `limit` is not a positive integer.
            ModelError: the API failed (with its HTTP status).
        """
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise UsageError(f"list(limit=...) takes a positive number of files, not {limit!r}")
        query = {"purpose": purpose} if purpose is not None else None
        with self._api():
            pages = self.client.beta.files.list(limit=min(limit, 1000), betas=[FILES_BETA], extra_query=query)
            return [file_info(f) for f in itertools.islice(pages, limit)]

    def download_content(self, file_id: str, *, max_bytes: int = 500_000_000) -> bytes:
        """A file's bytes, in memory (`download_file` writes to disk instead).

        Args:
            file_id: the Files API id (`file_01...`), e.g. a hosted session's `CreatedFile.file_id`.
            max_bytes: refuse a body larger than this rather than hold it all (500 MB, the Files
                API's own size limit, by default).

        Raises:
            ModelError: the API failed, or the body was cut off before its announced size or
                was over `max_bytes`.
        """
        streaming = self.client.beta.files.with_streaming_response
        chunks: builtins.list[bytes] = []
        got = 0
        with self._api(), streaming.download(file_id, betas=[FILES_BETA]) as response:
            expected = response.headers.get("content-length")
            try:
                for chunk in response.iter_bytes():
                    got += len(chunk)
                    if got > max_bytes:
                        raise ModelError(f"{file_id} is over max_bytes={max_bytes:,}; use download_file")
                    chunks.append(chunk)
            except ModelError:
                raise
            except Exception as exc:  # the connection broke mid-body (httpx's own error types)
                raise ModelError(
                    f"the download of {file_id} was cut off after {got:,} bytes ({exc})"
                ) from exc
        if expected is not None and int(expected) != got:
            raise ModelError(f"the download of {file_id} ended at {got:,} of {int(expected):,} bytes")
        return b"".join(chunks)

    def delete_file(self, file_id: str) -> None:
        with self._api():
            self.client.beta.files.delete(file_id, betas=[FILES_BETA])

    def download_file(
        self, file_id: str, directory: str | os.PathLike[str], filename: str | None = None
    ) -> Path:
        """Download one file into `directory` (created) by its basename, never overwriting.

        The name is the server's (or `filename`), reduced to a basename: `../../etc/passwd` lands as
        `passwd` inside `directory`. A second copy becomes `name (1).ext`. A download cut off before
        its announced size is a `ModelError` and leaves nothing behind.
        """
        dest = Path(directory)
        dest.mkdir(parents=True, exist_ok=True)
        name = safe_filename(
            filename if filename is not None else self.file_metadata(file_id).filename, file_id
        )
        part = dest / f".{name}.{uuid.uuid4().hex[:8]}.part"
        try:
            self._fetch(file_id, part)
            return _place(part, dest, name)
        finally:
            part.unlink(missing_ok=True)

    def _fetch(self, file_id: str, part: Path) -> None:
        streaming = self.client.beta.files.with_streaming_response
        got = 0
        with self._api(), streaming.download(file_id, betas=[FILES_BETA]) as response:
            expected = response.headers.get("content-length")
            try:
                with part.open("xb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        got += len(chunk)
            except Exception as exc:  # the connection broke mid-body (httpx's own error types)
                raise ModelError(
                    f"the download of {file_id} was cut off after {got:,} bytes ({exc}); nothing was kept"
                ) from exc
        if expected is not None and int(expected) != got:
            raise ModelError(
                f"the download of {file_id} ended at {got:,} of {int(expected):,} bytes; nothing was kept"
            )


def _place(part: Path, dest: Path, name: str) -> Path:
    """Link the finished download under a free name (atomic: a name is never taken twice)."""
    stem, ext = os.path.splitext(name)
    n = 0
    while True:
        target = dest / (name if n == 0 else f"{stem} ({n}){ext}")
        try:
            os.link(part, target)
            return target
        except FileExistsError:
            n += 1
