"""`LogFetcher`: the native skill that fetches logs over HTTP, as in the tutorial.

One command, parsed like a shell line:

    fetch <url> [--limit N] [--level L] [--service S] [--host H] [--since T] [--until T]
                [--oldest-first] [--page-size N] [--api auto|json|loki] [--query LOGQL] [--out FILE]

Ask by time: `--since 1h` takes every record of the last hour; `--limit N` caps it at the newest N
(like Loki's backward direction; `--oldest-first` for the oldest). Without a time range, --limit
defaults to 1,000. The records come back in time order as JSON text, or with `--out` a summary
(which time range it got, what was asked, whether a limit cut it short, how many the API holds
when it says) and the JSON Lines file it wrote in the session's working dir, with the summary
beside it as `<FILE>.fetch.json`: the analyzer states it as its window.

Paging, cursors, LogQL, retries and time parsing are not written here: they are the log-analyzer
skill's `fetch_logs.py` (standard library only, so it also runs alone in the sandbox), imported as
a module. This file adds what only the native skill has: httpx (keep-alive, `transport=` for tests
and proxies), the token from the session's env, the tool call's deadline, and `cj.ToolError`.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import httpx

from .._errors import ToolError
from ..executors._native_skill import Context, NativeSkill
from ._skillcode import skill_code

__all__ = ["LogFetcher", "redacted"]

USAGE = (
    "usage: fetch <url> [--limit N] [--level L[,L]] [--service S[,S]] [--host H] [--since T] [--until T] "
    "[--oldest-first] [--page-size N] [--api auto|json|loki] [--query LOGQL] [--out FILE]\n"
    "  T is ISO 8601 (2026-03-14T09:00:00Z), epoch seconds, or relative to now (15m, 2h, 7d).\n"
    "  Ask by time (--since 1h: every record of the last hour); --limit N caps it at the newest N\n"
    "  (--oldest-first: the oldest); without --since/--until, --limit defaults to 1000.\n"
    "  --out writes JSON Lines in the working directory and returns a summary instead of the records."
)


def _shared() -> ModuleType:
    """The log-analyzer skill's fetch_logs.py: the one implementation of fetching."""
    return skill_code("log-analyzer", "fetch_logs")


def redacted(text: str) -> str:
    """`text` with every URL in it shown without credentials (`user:pass@`, `?api_key=`, `token=`, ...).

    The one redaction for anything that shows or saves a log source: progress lines, summaries,
    analysis.json, reports, reprs and error messages. The real URL is only used to make the request.
    """
    return str(_shared().redact_text(text))


class _Parser(argparse.ArgumentParser):
    """argparse that raises ToolError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ToolError(f"{message}\n{USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="fetch", add_help=False, exit_on_error=False)
    _shared().add_query_arguments(parser)
    parser.add_argument("--out")
    return parser


class LogFetcher(NativeSkill):
    """Fetch logs from the monitoring API (the demo API, any cursor-paginated JSON API, or Loki).

    Args:
        timeout: seconds per HTTP request.
        retries: retries after a 5xx, 429, timeout or connection error.
        backoff: the first retry's delay in seconds; it doubles each time.
        token: a bearer token; without it the fetcher looks for `token_env` in the session's
            env, then in this process's environment.
        token_env: the variable name to look the token up by.
        headers: extra request headers (e.g. `{"X-Scope-OrgID": "tenant-1"}` for a multi-tenant Loki).
        transport: an httpx transport, for tests and proxies.
        max_page_bytes: the most of one response read; a page past it is cut and the summary says
            so. Pages are read as they arrive and reading stops once `--limit` records are in hand.
    """

    name = "log-fetcher"
    description = (
        "Fetch logs from the monitoring API, newest first. Command: fetch <url> [--since T] [--until T] "
        "[--limit N] [--level L] [--service S] [--oldest-first] [--out FILE]. T may be relative (15m, 1h). "
        "Ask by time (--since 1h); --limit caps the count at the newest N. Returns the records in time order "
        "as JSON, or with --out writes JSON Lines in the working directory and returns a summary (count, time "
        "range, what was asked, whether a limit cut it short); use --out for more than a few hundred "
        "records. `help` prints the options."
    )

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        token: str | None = None,
        token_env: str = "LOG_API_TOKEN",
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        max_page_bytes: int | None = None,
    ):
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.token, self.token_env, self.transport = token, token_env, transport
        self.headers = dict(headers or {})
        self.max_page_bytes = max_page_bytes

    def execute(self, command: str, context: Context) -> str:
        """Run `fetch <url> [options]`; see the module docstring for the options."""
        if command.strip() in ("help", "--help", "-h"):
            return USAGE
        shared = _shared()
        args = self._arguments(command)
        target = _target(args.out, context) if args.out else None
        headers = {"User-Agent": "conjure-nb-log-fetcher/2", **self.headers}
        token = self.token or context.env.get(self.token_env) or os.environ.get(self.token_env)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with httpx.Client(transport=self.transport) as http:
            client = shared.Client(
                transport=_httpx_transport(http),
                headers=headers,
                timeout=self.timeout,
                retries=self.retries,
                backoff=self.backoff,
                deadline=time.monotonic() + context.timeout * 0.9 if context.timeout else float("inf"),
                max_page_bytes=self.max_page_bytes or shared.MAX_PAGE_BYTES,
                auth_hint=(
                    f"set the bearer token in {self.token_env} (the session env) or pass LogFetcher(token=...)"
                ),
            )
            try:
                query = shared.query_from(args)
                result = shared.fetch(client, query)
            except shared.FetchError as exc:
                raise ToolError(redacted(str(exc))) from None
        if target is None:
            return str(shared.dump_lines([result.records])[0]).rstrip("\n")
        facts = {"file": args.out, "path": str(target), **shared.summary(result, query, client)}
        text, replaced = shared.dump_lines(result.records)
        if replaced:
            facts["replaced_characters"] = replaced
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        facts["bytes"] = target.stat().st_size
        Path(shared.sidecar(str(target))).write_text(json.dumps(facts, indent=1), encoding="utf-8")
        return json.dumps(facts)

    def _arguments(self, command: str) -> argparse.Namespace:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ToolError(f"cannot split the command ({exc})\n{USAGE}") from None
        if not words:
            raise ToolError(f"empty command\n{USAGE}")
        if words[0] != "fetch":
            raise ToolError(f"unknown command {words[0]!r}: the only command is fetch\n{USAGE}")
        try:
            args = _parser().parse_args(words[1:])
        except argparse.ArgumentError as exc:
            raise ToolError(f"{exc}\n{USAGE}") from None
        if not args.url.startswith(("http://", "https://")):
            raise ToolError(
                f"the url must start with http:// or https://, got {redacted(args.url)!r}\n{USAGE}"
            )
        return args


def _httpx_transport(http: httpx.Client) -> Any:
    """fetch_logs.py's transport contract over httpx: (status, body stream), TimeoutError, OSError."""

    def get(url: str, headers: Mapping[str, str], timeout: float) -> tuple[int, Any]:
        try:
            request = http.build_request("GET", url, headers=dict(headers), timeout=timeout)
            response = http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from None
        except httpx.TransportError as exc:
            raise ConnectionError(str(exc)) from None
        return response.status_code, _Body(response)

    return get


class _Body:
    """A streamed httpx response as the reader fetch_logs reads pages from: read(n), close()."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.chunks: Iterator[bytes] = response.iter_bytes()
        self.rest = b""

    def read(self, size: int = -1) -> bytes:
        try:
            while size < 0 or len(self.rest) < size:
                chunk = next(self.chunks, b"")
                if not chunk:
                    break
                self.rest += chunk
        except httpx.TimeoutException as exc:
            raise TimeoutError(str(exc)) from None
        except httpx.TransportError as exc:
            raise ConnectionError(str(exc)) from None
        got, self.rest = (self.rest, b"") if size < 0 else (self.rest[:size], self.rest[size:])
        return got

    def close(self) -> None:
        self.response.close()


def _target(out: str, context: Context) -> Path:
    """Where --out writes: a relative path that stays inside the working directory."""
    root = context.working_dir.resolve()
    target = (root / out).resolve()
    if Path(out).is_absolute() or not target.is_relative_to(root):
        raise ToolError(f"--out {out!r} must be a relative path inside the working directory")
    return target
