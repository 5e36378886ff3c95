"""The executor seam: one required method, `run(call) -> ToolResult`.

A session hands its executor an `ExecutorSetup` (skills, working dir, timeout, env, path policy)
before the first call, so an executor can be built by the user (`DockerExecutor(image=...)`) and
passed to any session constructor.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import UsageError
from ..tools import CreatedFile, ToolCall, ToolCallRecord, ToolResult, tool_definitions

if TYPE_CHECKING:  # pragma: no cover
    from ..skills._model import Skill

__all__ = [
    "DEFAULT_MAX_KEPT_OUTPUT",
    "DEFAULT_MAX_OUTPUT",
    "DEFAULT_TIMEOUT",
    "FILE_TOOLS",
    "Executor",
    "ExecutorSetup",
    "ServerCalls",
    "ShellExecutor",
    "WrappedExecutor",
    "build_env",
    "cap_output",
    "check_seconds",
    "process_result",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_OUTPUT = 30_000
"""The most characters of a tool's output the model reads; the session spills the rest to a file."""
DEFAULT_MAX_KEPT_OUTPUT = 10_000_000
"""The most characters of each output stream an executor keeps (head and tail) for that file."""


MAX_SECONDS = 3_600.0
"""The longest timeout conjure_nb takes (an hour); a larger value is milliseconds meant as seconds.

The Elixir library's default, `timeout: 30_000`, would be 8 h 20 min here; a tool call that
should run over an hour belongs in a background job, not a chat turn.
"""


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} day{'s' * (days != 1)}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{rest // 60} min"] if rest // 60 else []
    return " ".join(parts) or f"{seconds:g} s"


def check_seconds(name: str, value: float | None) -> None:
    """Refuse a timeout over `MAX_SECONDS`: it is the Elixir library's milliseconds, not seconds.

    Raises:
        UsageError: naming seconds, what `value` would mean, and the value to pass instead.
    """
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if value > MAX_SECONDS:
        raise UsageError(
            f"{name}={value:,g} is in seconds here, which would be {_duration(value)} (at most "
            f"{MAX_SECONDS:,g} s is taken); the Elixir library counts milliseconds. For "
            f"{value / 1000:g} s pass {name}={value / 1000:g}"
        )


@dataclass
class ExecutorSetup:
    """What a session tells its executor before the first tool call.

    `max_output` is the most an executor keeps of each output stream (head and tail, the cut
    announced). A session sets it to its `max_kept_output` and itself cuts what the model reads to
    its `max_output`, writing the whole output to a file in the working dir (tools/spill.py).
    """

    session_id: str
    working_dir: Path
    _: KW_ONLY
    skills: list[Skill] = field(default_factory=list)
    timeout: float = DEFAULT_TIMEOUT
    env: dict[str, str] = field(default_factory=dict)
    allowed_paths: tuple[Path, ...] = ()
    max_output: int = DEFAULT_MAX_OUTPUT
    fresh_working_dir: bool = False
    """The session made `working_dir` just now for itself (empty, private): an executor may put a
    directory of its own in its place (the docker backend's warm pool does, see docs/docker.md)."""


@dataclass
class ServerCalls:
    """What a model's reply says ran on the model's side (the hosted backend's server tools): one
    `ToolCallRecord` per call with its result, and the files they made that the session has not
    listed yet. An executor returns it from `read_reply`; the session records it."""

    calls: list[ToolCallRecord] = field(default_factory=list)
    files: list[CreatedFile] = field(default_factory=list)


class Executor(ABC):
    """Runs one tool call at a time (several may run concurrently in threads).

    Subclasses implement `run`; the rest has sensible defaults. `run` never raises for a failing
    tool: it returns `ToolResult(is_error=True, ...)`. It raises `ExecutorError` only when the
    backend itself is broken and no result can be produced.
    """

    backend: ClassVar[str] = "custom"
    _setup: ExecutorSetup | None = None

    def setup(self, setup: ExecutorSetup) -> None:
        """Receive the session's settings; called once, before the first `run`."""
        self._setup = setup

    @property
    def config(self) -> ExecutorSetup:
        """What the session gave this executor at setup (skills, working dir, timeout, env, limits).

        Raises:
            UsageError: the executor is not attached to a session yet.
        """
        if self._setup is None:
            raise UsageError(f"{type(self).__name__} is not attached to a session yet")
        return self._setup

    @abstractmethod
    def run(self, call: ToolCall) -> ToolResult:
        """Run one tool call and return its result (errors as `is_error` results)."""

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The tools this executor offers the model."""
        return tool_definitions()

    def skill_location(self, skill: Skill) -> str:
        """Where the executing side sees a skill's SKILL.md (for the system prompt)."""
        return str(skill.skill_md)

    def working_dir_display(self) -> str:
        """The working dir as the executing side sees it."""
        return str(self.config.working_dir)

    def prompt_extra(self) -> str:
        """Extra system-prompt text (a native catalog, say); empty by default."""
        return ""

    def sync_out(self) -> None:
        """Make files the last calls created visible in the host working dir (remote backends)."""

    def read_reply(self, content: list[dict[str, Any]], known: Collection[str] = ()) -> ServerCalls:
        """The tool calls and files a model's reply reports as run on the model's side.

        Only a backend whose tools run there (anthropic) finds any; `known` are the file ids the
        session lists already, which are not described again.
        """
        return ServerCalls()

    def download(self, files: Iterable[CreatedFile], directory: str | os.PathLike[str]) -> list[Path]:
        """Download hosted files (`file_id`, no `path`) into `directory`; only the anthropic backend has any.

        Raises:
            UsageError: this backend has no hosted files to download.
        """
        files = list(files)
        if not files:
            return []
        raise UsageError(f"{len(files)} hosted file(s) need the anthropic backend to download")

    def cancel(self) -> None:
        """Stop every running call (KeyboardInterrupt, task cancellation). Must be thread-safe."""

    def close(self) -> None:
        """Release every process/container this executor started. Idempotent."""

    @property
    def container_id(self) -> str | None:
        """The id of the container tool calls run in (docker, hosted), or None where there is none."""
        return None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WrappedExecutor(Executor):
    """The base of a wrapper around another executor (approvals, telemetry): everything goes to
    `inner`, so a wrapper overrides only what it changes and never reaches into `inner`'s fields.

    `backend` and `container_id` are `inner`'s, so tool logs and telemetry name the real backend.
    """

    def __init__(self, inner: Executor):
        self.inner = inner

    @property
    def backend(self) -> str:  # type: ignore[override]
        """The wrapped executor's backend name."""
        return self.inner.backend

    def setup(self, setup: ExecutorSetup) -> None:
        """Keep the setup and pass it on."""
        self._setup = setup
        self.inner.setup(setup)

    def run(self, call: ToolCall) -> ToolResult:
        """Run the call on the wrapped executor."""
        return self.inner.run(call)

    def tool_definitions(self) -> list[dict[str, Any]]:
        """The wrapped executor's tools."""
        return self.inner.tool_definitions()

    def skill_location(self, skill: Skill) -> str:
        """Where the wrapped executor's tools find `skill`."""
        return self.inner.skill_location(skill)

    def working_dir_display(self) -> str:
        """The working dir as the wrapped executor's tools see it."""
        return self.inner.working_dir_display()

    def prompt_extra(self) -> str:
        """The wrapped executor's addition to the system prompt."""
        return self.inner.prompt_extra()

    def sync_out(self) -> None:
        """Let the wrapped executor copy its files out."""
        self.inner.sync_out()

    def read_reply(self, content: list[dict[str, Any]], known: Collection[str] = ()) -> ServerCalls:
        """What the wrapped executor reads from a reply."""
        return self.inner.read_reply(content, known)

    def download(self, files: Iterable[CreatedFile], directory: str | os.PathLike[str]) -> list[Path]:
        """Download hosted files through the wrapped executor."""
        return self.inner.download(files, directory)

    def cancel(self) -> None:
        """Stop the wrapped executor's running calls."""
        self.inner.cancel()

    def close(self) -> None:
        """Close the wrapped executor."""
        self.inner.close()

    @property
    def container_id(self) -> str | None:
        """The wrapped executor's container, if any."""
        return self.inner.container_id


FILE_TOOLS = ("view", "create_file", "str_replace")


class ShellExecutor(Executor):
    """An executor offering the four standard tools: `bash_tool` and the three file tools.

    Subclasses say how to run a shell command and a file tool; the dispatch, and the checks
    every backend shares, live here so that local and docker answer the same way.
    """

    def run(self, call: ToolCall) -> ToolResult:
        if call.name == "bash_tool":
            command = call.input.get("command")
            if not isinstance(command, str) or not command.strip():
                return ToolResult("bash_tool needs a non-empty string 'command'", is_error=True, exit_code=2)
            return self.run_command(command)
        if call.name in FILE_TOOLS:
            return self.run_file_tool(call)
        return ToolResult(
            f"Unknown tool {call.name!r} for the {self.backend} executor", is_error=True, exit_code=1
        )

    @abstractmethod
    def run_command(self, command: str, timeout: float | None = None) -> ToolResult:
        """Run one shell command with the session's timeout, env and output cap."""

    @abstractmethod
    def run_file_tool(self, call: ToolCall) -> ToolResult:
        """Run `view`, `create_file` or `str_replace` under the session's path policy."""


_SECRET_RE = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.I)
_PASS_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")


def build_env(
    extra: Mapping[str, str], *, home: str, tmpdir: str | None = None, python_bin: bool = True
) -> dict[str, str]:
    """The environment for a tool process: built, never inherited wholesale.

    PATH starts with the running interpreter's bin dir (so `python3` in a skill script is the
    notebook's Python), then the system's usual dirs. No variable of the caller that looks like a
    secret is passed; only the session's own `extra` vars are added, as given.
    """
    path = [os.path.dirname(sys.executable)] if python_bin else []
    system = ["/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/sbin"]
    for p in [*os.environ.get("PATH", "").split(os.pathsep), *system]:
        if p and p not in path:
            path.append(p)
    env = {"PATH": os.pathsep.join(path), "HOME": home, "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    for key in _PASS_THROUGH:
        val = os.environ.get(key)
        if val is not None and not _SECRET_RE.search(key):
            env[key] = val
    if tmpdir:
        env["TMPDIR"] = tmpdir
    env.update(extra)
    return env


def cap_output(text: str, limit: int) -> str:
    """Keep the head and tail of `text` within `limit` characters, announcing the cut."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return (
        f"{text[:head]}\n\n[... {cut:,} characters cut: output is capped at {limit:,} characters; "
        f"head and tail kept ...]\n\n{text[-tail:]}"
    )


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def process_result(
    exit_code: int | None,
    stdout: str,
    stderr: str,
    *,
    duration_ms: float,
    max_output: int,
    timed_out: float | None = None,
    note: str | None = None,
) -> ToolResult:
    """Turn a finished process into a ToolResult the model can read.

    On success the content is stdout (plus stderr under a header when there is any). On failure
    it always carries the exit code (or the timeout/signal), stdout and stderr, so nothing the
    command printed is hidden from the model.
    """
    out = cap_output(stdout, max_output)
    err = cap_output(stderr, max_output)
    failed = timed_out is not None or exit_code != 0
    if not failed:
        content = out if not err else f"{out}\n[stderr]\n{err}" if out else f"[stderr]\n{err}"
        return ToolResult(
            content, is_error=False, exit_code=exit_code, stdout=out, stderr=err, duration_ms=duration_ms
        )
    if timed_out is not None:
        status = f"Command timed out after {timed_out:g} s and was killed (with its process group)."
    elif exit_code is not None and exit_code < 0:
        status = f"Command was killed by {_signal_name(exit_code)}."
    else:
        status = f"Command failed with exit code {exit_code}."
    parts = [status]
    if note:
        parts.append(note)
    parts.append(f"[stdout]\n{out}" if out else "[stdout]\n(empty)")
    parts.append(f"[stderr]\n{err}" if err else "[stderr]\n(empty)")
    return ToolResult(
        "\n".join(parts),
        is_error=True,
        exit_code=exit_code,
        stdout=out,
        stderr=err,
        duration_ms=duration_ms,
        error_code="timeout" if timed_out is not None else None,
    )
