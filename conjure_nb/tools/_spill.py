"""Tool output over the cap is kept, not lost: the whole of it goes to a file in the working dir.

The model reads the head and the tail of a long output plus one line naming that file and the full
size, so a next step can read the file instead of a cut copy (a JSON document cut in the middle
does not parse). The file sits under `.conjure/output/` in the session's working dir, which every
backend's tools reach: the same relative path locally, `/workspace/...` in docker (a remote engine
gets it with the next push of the working dir), and the working dir of a native session is the one
the next step's session shares.

This is applied in one place, where the session receives a result from its executor, so every
backend (and any executor a user writes) behaves the same.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Collection
from pathlib import Path

from ..display._beneath import open_in, read_in
from ._data import ToolResult

__all__ = ["SPILL_DIR", "cap_text", "read_spilled", "spill"]

SPILL_DIR = ".conjure/output"
"""Where spilled outputs go, relative to the working dir (skipped by the created-files scan)."""


def read_spilled(path: str, limit: int | None = None) -> str:
    """The text of a spilled output file (`ToolResult.output_file`), read beneath its working dir
    without following links: `.conjure`, `.conjure/output` or the file itself swapped for a symlink
    by a tool is refused (`LinkRefused`, naming the file), never followed."""
    marker = "/" + SPILL_DIR + "/"
    root, found, name = path.rpartition(marker)
    if not found or "/" in name:
        raise PermissionError(f"{path}: not a spilled output file under {SPILL_DIR}; not read")
    return read_in(root or "/", SPILL_DIR + "/" + name, limit).decode("utf-8", errors="replace")


def cap_text(text: str, limit: int, line: str) -> str:
    """Head and tail of `text` within `limit` characters, with `line` between them."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return f"{text[:head]}\n\n{line}\n\n{text[-tail:]}"


def read_hint(tools: Collection[str] | None) -> str:
    """How a session with these tools reads a spilled file: only tools it really has are named.

    A native session is offered `view` for its spill files (NativeExecutor); an executor with
    neither `view` nor `bash_tool` is told so, rather than pointed at tools it does not have.
    """
    if tools is None:
        tools = ("view", "bash_tool")
    ways = []
    if "view" in tools:
        ways.append("with view and view_range")
    if "bash_tool" in tools:
        ways.append("with bash_tool: head, tail, grep, python")
    if not ways:
        return "this session has no tool that reads files; the program running it has the path"
    return "read it " + ", or ".join(ways)


def spill(
    result: ToolResult,
    *,
    tool: str,
    working_dir: Path,
    shown_dir: str,
    cap: int,
    tools: Collection[str] | None = None,
) -> ToolResult:
    """`result` with its content within `cap`, the whole output written to a file when it was over.

    Args:
        result: what the executor returned (its content possibly much longer than `cap`).
        tool: the tool's name; `view` output is cut without a copy, since the file it shows is there.
        working_dir: the session's working dir on this machine.
        shown_dir: the working dir as the executing side sees it (`/workspace` in docker).
        cap: the most characters the model reads.
        tools: the session's tool names, so the note names only ways it has to read the file
            (all the standard tools when None).
    """
    size = len(result.content)
    if size <= cap:
        return result
    if tool == "view":
        line = (
            f"[... view output is {size:,} characters; the model reads at most {cap:,}: "
            "read the rest of the file with view_range ...]"
        )
        return _capped(result, cap, line, None)
    try:
        host_path = _write(working_dir, result.tool_use_id, result.content)
    except OSError as exc:  # a full disk or a planted link must not cost the tool result
        line = (
            f"[... {size - cap:,} of {size:,} characters cut; the full output could not be saved: {exc} ...]"
        )
        return _capped(result, cap, line, None)
    shown = f"{shown_dir.rstrip('/')}/{host_path.relative_to(working_dir).as_posix()}"
    line = (
        f"[... {size - cap:,} characters cut: the output is {size:,} characters and all of it is in "
        f"{shown} ({read_hint(tools)}) ...]"
    )
    return _capped(result, cap, line, str(host_path))


def _capped(result: ToolResult, cap: int, line: str, path: str | None) -> ToolResult:
    return dataclasses.replace(
        result,
        content=cap_text(result.content, cap, line),
        stdout=cap_text(result.stdout, cap, line),
        stderr=cap_text(result.stderr, cap, line),
        output_file=path,
    )


def _write(working_dir: Path, tool_use_id: str | None, text: str) -> Path:
    """Write `text` to a new file under SPILL_DIR, never through a link a tool may have planted."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", tool_use_id or "call")[:64]
    rel = f"{SPILL_DIR}/{name}-{uuid.uuid4().hex[:8]}.txt"
    out = open_in(working_dir, rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, create_dirs=True)
    os.fchmod(out, 0o644)  # the sandbox user reads it in docker, whatever the umask
    with open(out, "w", encoding="utf-8", errors="replace") as f:
        f.write(text)
    return working_dir / rel
