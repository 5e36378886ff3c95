"""The anthropic backend: tools run in Anthropic's code-execution container, not here.

`Session.new_anthropic(specs, model=...)` builds a session on this executor. Nothing runs
locally: the model calls the server-side code-execution tool, and each reply carries the calls
and their results. The executor's part is what surrounds that:

- the skills: `("anthropic", "xlsx", "latest")` / `("custom", "skill_01...", "<version>")` specs are
  sent as they are; `cj.Skill` objects, skill folders and `.skill` files are strictly validated
  when the session is made and uploaded when it starts, then deleted on close (unless
  `keep_uploaded=True`);
- the tool log and created files: `read_reply` turns every server tool call of a reply into a
  `ToolCallRecord` (its server name, `return_code` as `exit_code`, a server error's `error_code`)
  and every new file id in a result into a `CreatedFile` with its Files API metadata (`path` and
  `sha256` stay None); the tool loop hands each such reply to the session, which records them;
- downloads through the Files API with the model's key and base_url, basename only, never
  overwriting.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._errors import ConjureError, ModelError, UsageError
from ..hosted._adapter import FileInfo, safe_filename
from ..hosted._blocks import file_ids, server_calls
from ..hosted._client import HostedClient
from ..hosted._model import HostedModel, HostedSettings, HostedWarning, SkillRef
from ..hosted._upload import upload_files
from ..skills._loader import load_skill
from ..skills._model import Skill
from ..tools._data import CreatedFile, ToolCall, ToolResult
from ._base import Executor, ExecutorSetup, ServerCalls

__all__ = ["AnthropicExecutor", "parse_specs"]

_KINDS = ("anthropic", "custom")


def parse_specs(specs: Any) -> tuple[list[SkillRef], list[Skill]]:
    """Split skill specs into container references and local skills to upload.

    Raises:
        UsageError: a tuple that is not `(type, skill_id[, version])` with type anthropic/custom.
    """
    if specs is None:
        return [], []
    if isinstance(specs, (str, os.PathLike, Skill, tuple)):
        specs = [specs]
    refs: list[SkillRef] = []
    local: list[Skill] = []
    for spec in specs:
        if isinstance(spec, SkillRef):
            refs.append(spec)
        elif isinstance(spec, tuple):
            if len(spec) not in (2, 3) or spec[0] not in _KINDS or not all(isinstance(p, str) for p in spec):
                raise UsageError(
                    f"hosted skill spec {spec!r} should be (type, skill_id, version) with type "
                    '"anthropic" or "custom", e.g. ("anthropic", "xlsx", "latest")'
                )
            refs.append(SkillRef(*spec))
        elif isinstance(spec, Skill):
            local.append(spec)
        else:
            local.append(load_skill(spec))
    return refs, local


class AnthropicExecutor(Executor):
    """Tools run on Anthropic's side; this executor uploads skills and reads the replies.

    Args:
        specs: hosted skill specs and/or local skills to upload (see the module docstring).
        model: the model sending the requests (default: `AnthropicModel()`, key from the env).
        keep_uploaded: leave uploaded custom skills on the account after close.
        client: the Skills/Files API client (default: same key and base_url as `model`, closed with
            the executor; a client given here is the caller's to close).
        settings: `HostedSettings` (tool type, betas, limits).
    """

    backend = "anthropic"

    def __init__(
        self,
        specs: Any = (),
        model: Any = None,
        *,
        keep_uploaded: bool = False,
        client: HostedClient | None = None,
        settings: HostedSettings | None = None,
    ):
        self.settings = settings or HostedSettings()
        self.refs, self.local_skills = parse_specs(specs)
        self.keep_uploaded = keep_uploaded
        if model is None:
            from ..models._anthropic import AnthropicModel

            model = AnthropicModel()
        self.model = HostedModel(model, [], self.settings)
        self.model.skills = [*self.refs, *(SkillRef("custom", s.name) for s in self.local_skills)]
        self.model.check_skills()  # before anything is uploaded or sent
        for skill in self.local_skills:  # strict validation of every upload before the first one
            upload_files(skill, None)
        self._client = client
        self._own_client = client is None  # the one the executor makes, it closes
        self._model_for_client = model
        self.uploaded: list[str] = []
        self._uploaded_all = not self.local_skills

    @property
    def client(self) -> HostedClient:
        """The Skills/Files client, made on first use with the model's key and base_url."""
        if self._client is None:
            self._client = HostedClient.for_model(self._model_for_client)
        return self._client

    # -- lifecycle --------------------------------------------------------------------------------

    def upload(self) -> None:
        """Upload the local skills once; on a failure, delete what was uploaded and raise.

        `Session.new_anthropic` calls it before the session is built, so a failed upload leaves
        no session behind; `setup` calls it for an executor given to `Session(...)` directly.
        """
        if self._uploaded_all:
            return
        refs = list(self.refs)
        try:
            for skill in self.local_skills:
                info = self.client.upload_skill(skill)
                self.uploaded.append(info.id)
                refs.append(SkillRef("custom", info.id, info.latest_version or "latest"))
        except BaseException:
            self.close()
            raise
        self.model.skills = refs
        self._uploaded_all = True

    def setup(self, setup: ExecutorSetup) -> None:
        super().setup(setup)
        self.upload()

    def close(self) -> None:
        """Delete the skills this session uploaded (unless kept), then close the connections of the
        Skills/Files client the executor made; idempotent."""
        left, self.uploaded = ([] if self.keep_uploaded else self.uploaded), []
        failed = []
        for skill_id in left:
            try:
                self.client.delete_skill(skill_id)
            except ConjureError as exc:
                failed.append(f"{skill_id} ({exc})")
        if self._own_client and self._client is not None:
            # its kept-alive sockets would otherwise wait for the garbage collector, which can reach
            # a socket before the SDK client that would close it: an "unclosed socket" warning
            client, self._client = self._client, None
            client.close()
        if failed:
            warnings.warn(
                "could not delete uploaded skill(s) " + "; ".join(failed) + ": delete them with "
                "conjure_nb.hosted.HostedClient().delete_skill(id)",
                HostedWarning,
                stacklevel=2,
            )

    # -- the executor seam ----------------------------------------------------------------------

    def run(self, call: ToolCall) -> ToolResult:
        return ToolResult(
            content=f"{call.name!r} is not a tool of the anthropic backend: code runs in the hosted "
            "code_execution tool",
            is_error=True,
            error_code="unknown_tool",
        )

    def tool_definitions(self) -> list[dict[str, Any]]:
        return [{"type": self.settings.code_execution_tool, "name": "code_execution"}]

    def skill_location(self, skill: Skill) -> str:
        return f"/skills/{skill.name}/SKILL.md"

    def working_dir_display(self) -> str:
        return "the code-execution container's current directory"

    def prompt_extra(self) -> str:
        hosted = [r.skill_id for r in self.refs if r.type == "anthropic"]
        if not hosted:
            return ""
        return "Anthropic skills in the container: " + ", ".join(f"{h} (/skills/{h}/)" for h in hosted) + "."

    @property
    def container_id(self) -> str | None:
        return self.model.container_id

    # -- replies and files ----------------------------------------------------------------------

    def read_reply(self, content: list[dict[str, Any]], known: Collection[str] = ()) -> ServerCalls:
        """The reply's server tool calls that have their results, and the new files they made.

        Each call becomes a `ToolCallRecord` (its server name, `return_code` as `exit_code`, a server
        error's `error_code`); each file id not in `known` a `CreatedFile` with Files API metadata.
        """
        owner: dict[str, str] = {}
        records = []
        for call in server_calls(content):
            if call.result is None:
                continue
            records.append(call.record(self.backend))
            for fid in call.file_ids:
                owner.setdefault(fid, call.id)
        fresh = [fid for fid in dict.fromkeys(file_ids(content)) if fid not in known]
        return ServerCalls(records, self._describe_all(fresh, owner))

    def _describe_all(self, fids: list[str], owner: dict[str, str]) -> list[CreatedFile]:
        """Metadata for a reply's new files: at most `max_file_metadata` requests, a few at a time.

        A reply may name thousands of file ids; one GET each, in turn, would hold the turn for
        minutes. Past the cap a file is listed by its id (it still downloads) and a warning says so.
        """
        cap, workers = self.settings.max_file_metadata, max(1, self.settings.metadata_concurrency)
        asked, rest = fids[:cap], fids[cap:]
        with ThreadPoolExecutor(
            max_workers=min(workers, max(1, len(asked))), thread_name_prefix="conjure-meta"
        ) as pool:
            described = list(pool.map(lambda fid: self._describe(fid, owner.get(fid)), asked))
        if rest:
            warnings.warn(
                f"a hosted reply named {len(fids):,} files: metadata was fetched for the first {cap:,} "
                f"(HostedSettings.max_file_metadata); the other {len(rest):,} are listed by id and still "
                "download with download_files",
                HostedWarning,
                stacklevel=2,
            )
        return described + [self._describe(fid, owner.get(fid), fetch=False) for fid in rest]

    def _describe(self, file_id: str, tool_use_id: str | None, *, fetch: bool = True) -> CreatedFile:
        info = FileInfo(file_id, file_id, "application/octet-stream", None)
        if fetch:
            with contextlib.suppress(ModelError):  # without metadata the file is listed by its id
                info = self.client.file_metadata(file_id)
        return CreatedFile(
            path=None,
            filename=safe_filename(info.filename, file_id),
            size=info.size,
            sha256=None,
            media_type=info.mime_type,
            tool_use_id=tool_use_id,
            file_id=file_id,
        )

    def download(self, files: Iterable[CreatedFile], directory: str | os.PathLike[str]) -> list[Path]:
        """Download hosted files via the Files API into `directory`, basename only, never overwriting."""
        return [
            self.client.download_file(f.file_id, directory, f.filename)
            for f in files
            if f.file_id is not None
        ]
