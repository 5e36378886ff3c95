"""`LogFetcher`: the native skill that fetches logs over HTTP (httpx), as in the tutorial.

One command, parsed like a shell line:

    fetch <url> [--limit N] [--level L] [--service S] [--host H] [--since T] [--until T]
                [--page-size N] [--api auto|json|loki] [--query LOGQL] [--out FILE]

It pages through this project's JSON API (`next_cursor`) or Grafana Loki's `query_range` (forward
by time), retries 5xx/429/timeouts/connection errors with backoff, and returns JSON text: the
records, or with `--out` a summary and the JSON Lines file it wrote in the session's working dir.
Anything it cannot do becomes `cj.ToolError`, which the model sees as an `is_error` result.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import httpx

from ..errors import ToolError
from ..executors.native import Context, NativeSkill
from .loki import parse_time

__all__ = ["LogFetcher"]

USAGE = (
    "usage: fetch <url> [--limit N] [--level L[,L]] [--service S[,S]] [--host H] [--since T] [--until T] "
    "[--page-size N] [--api auto|json|loki] [--query LOGQL] [--out FILE]\n"
    "  T is ISO 8601 (2026-03-14T09:00:00Z), epoch seconds, or relative (15m, 2h, 7d).\n"
    "  --out writes JSON Lines in the working directory and returns a summary instead of the records."
)
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LIST_KEYS = ("logs", "records", "items", "entries", "events", "data")
_CURSOR_KEYS = ("next_cursor", "nextCursor", "cursor", "next")


class _Parser(argparse.ArgumentParser):
    """argparse that raises ToolError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ToolError(f"{message}\n{USAGE}")


def _parser() -> _Parser:
    parser = _Parser(prog="fetch", add_help=False, exit_on_error=False)
    parser.add_argument("url")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--level")
    parser.add_argument("--service")
    parser.add_argument("--host")
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--api", choices=("auto", "json", "loki"), default="auto")
    parser.add_argument("--query")
    parser.add_argument("--out")
    return parser


def _nanos(value: str) -> int:
    """ns since the epoch from ISO 8601, epoch digits, or a relative time ("15m" = 15 minutes ago)."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        moment = datetime.now(timezone.utc) - timedelta(
            seconds=float(relative.group(1)) * _UNITS[relative.group(2)]
        )
        return parse_time(moment.isoformat())
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def _iso(ns: int) -> str:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000 // 1_000_000:03d}Z"


@dataclass
class _Run:
    """Counters for one fetch, reported in the summary."""

    requests: int = 0
    retries: int = 0
    pages: int = 0
    problems: list[str] = field(default_factory=list)
    deadline: float = float("inf")
    """monotonic time by which the fetch must be over: the tool call's own timeout, less a margin."""


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
    """

    name = "log-fetcher"
    description = (
        "Fetch logs from the monitoring API. Command: fetch <url> [--limit N] [--level L] [--service S] "
        "[--since T] [--until T] [--out FILE]. Returns the records as JSON, or with --out writes JSON "
        "Lines in the working directory and returns a summary (count, levels, services, time range, file); "
        "use --out for more than a few hundred records. `help` prints the options."
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
    ):
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.token, self.token_env, self.transport = token, token_env, transport
        self.headers = dict(headers or {})

    def execute(self, command: str, context: Context) -> str:
        """Run `fetch <url> [options]`; see the module docstring for the options."""
        if command.strip() in ("help", "--help", "-h"):
            return USAGE
        args = self._arguments(command)
        target = _target(args.out, context) if args.out else None
        token = self.token or context.env.get(self.token_env) or os.environ.get(self.token_env)
        headers = {"Accept": "application/json", "User-Agent": "conjure-nb-log-fetcher/1", **self.headers}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        run = _Run(deadline=time.monotonic() + context.timeout * 0.9 if context.timeout else float("inf"))
        loki = args.api == "loki" or (args.api == "auto" and "/loki/" in args.url)
        with httpx.Client(timeout=self.timeout, headers=headers, transport=self.transport) as client:
            pages = self._loki(client, args, run) if loki else self._json_api(client, args, run)
            records = [record for page in pages for record in page]
        if target is not None:
            return json.dumps(self._save(records, args, target, run, loki))
        return json.dumps(records, ensure_ascii=False)

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
            raise ToolError(f"the url must start with http:// or https://, got {args.url!r}\n{USAGE}")
        if args.limit < 1 or args.page_size < 1:
            raise ToolError("--limit and --page-size must be at least 1")
        return args

    def _get(self, client: httpx.Client, url: str, params: dict[str, Any], run: _Run) -> Any:
        """GET JSON with retries; ToolError naming the problem when it keeps failing."""
        clean = {k: v for k, v in params.items() if v is not None}
        for attempt in range(self.retries + 1):
            run.requests += 1
            try:
                response = client.get(url, params=clean)
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({exc})"
            else:
                if response.status_code < 400:
                    return self._json(response, url)
                problem = self._status_problem(response, url)
            delay = self.backoff * 2**attempt
            if attempt == self.retries:
                raise ToolError(f"{url}: {problem} (after {attempt + 1} attempts)")
            if time.monotonic() + delay + self.timeout > run.deadline:
                raise ToolError(
                    f"{url}: {problem} (after {attempt + 1} attempts; no time left for another "
                    "before the tool call's timeout)"
                )
            run.retries += 1
            run.problems.append(problem)
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_problem(self, response: httpx.Response, url: str) -> str:
        if response.status_code >= 500 or response.status_code == 429:
            return f"HTTP {response.status_code}"
        if response.status_code in (401, 403):
            raise ToolError(
                f"{url}: HTTP {response.status_code} - authentication failed; set the bearer token in "
                f"{self.token_env} (the session env) or pass LogFetcher(token=...)"
            )
        raise ToolError(f"{url}: HTTP {response.status_code}: {response.text[:200].strip()}")

    @staticmethod
    def _json(response: httpx.Response, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ToolError(f"{url}: the response is not JSON (starts {response.text[:80]!r})") from None

    def _json_api(self, client: httpx.Client, args: argparse.Namespace, run: _Run) -> Iterator[list[Any]]:
        remaining, cursor = args.limit, None
        since = _iso(_nanos(args.since)) if args.since else None
        until = _iso(_nanos(args.until)) if args.until else None
        while remaining > 0:
            params = {
                "limit": min(args.page_size, remaining),
                "level": args.level,
                "service": args.service,
                "host": args.host,
                "since": since,
                "until": until,
                "cursor": cursor,
            }
            body = self._get(client, args.url, params, run)
            records, cursor = _page(body)
            records = records[:remaining]
            remaining -= len(records)
            run.pages += 1
            yield records
            if not cursor or not records:
                return

    def _loki(self, client: httpx.Client, args: argparse.Namespace, run: _Run) -> Iterator[list[Any]]:
        url = args.url if "/loki/api/v1/" in args.url else args.url.rstrip("/") + "/loki/api/v1/query_range"
        remaining, seen = args.limit, set[tuple[int, str]]()
        start = _nanos(args.since) if args.since else None
        end = _nanos(args.until) if args.until else None
        while remaining > 0:
            size = min(args.page_size, 5000)
            params = {
                "query": _logql(args),
                "start": start,
                "end": end,
                "limit": size,
                "direction": "forward",
            }
            body = self._get(client, url, params, run)
            result = body.get("data", {}).get("result") if isinstance(body, dict) else None
            if not isinstance(result, list):
                raise ToolError(
                    f"{url}: not a Loki query_range answer (data.result is not a list of streams)"
                )
            entries = sorted(
                (int(v[0]), str(v[1]), s.get("stream", {})) for s in result for v in s.get("values", [])
            )
            fresh = [e for e in entries if (e[0], e[1]) not in seen][:remaining]
            if not fresh:
                return
            remaining -= len(fresh)
            run.pages += 1
            yield [_loki_record(ns, line, labels) for ns, line, labels in fresh]
            if len(entries) < size:
                return
            start = entries[-1][0]
            seen = {(ns, line) for ns, line, _ in entries if ns == start}

    def _save(
        self, records: list[Any], args: argparse.Namespace, target: Path, run: _Run, loki: bool
    ) -> dict[str, Any]:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        stamps = [
            r["timestamp"] for r in records if isinstance(r, dict) and isinstance(r.get("timestamp"), str)
        ]
        return {
            "records": len(records),
            "file": args.out,
            "path": str(target),
            "bytes": target.stat().st_size,
            "source": args.url,
            "api": "loki" if loki else "json",
            "pages": run.pages,
            "requests": run.requests,
            "retries": run.retries,
            "levels": dict(
                Counter(str(r.get("level")) for r in records if isinstance(r, dict)).most_common()
            ),
            "services": dict(
                Counter(str(r.get("service")) for r in records if isinstance(r, dict)).most_common()
            ),
            "first_timestamp": min(stamps, default=None),
            "last_timestamp": max(stamps, default=None),
        }


def _target(out: str, context: Context) -> Path:
    """Where --out writes: a relative path that stays inside the working directory."""
    root = context.working_dir.resolve()
    target = (root / out).resolve()
    if Path(out).is_absolute() or not target.is_relative_to(root):
        raise ToolError(f"--out {out!r} must be a relative path inside the working directory")
    return target


def _page(body: Any) -> tuple[list[Any], str | None]:
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict):
        raise ToolError("the API answered neither a JSON array nor an object holding a list of logs")
    records = next((body[k] for k in _LIST_KEYS if isinstance(body.get(k), list)), None)
    if records is None:
        raise ToolError(f"no list of logs in the response (keys: {', '.join(sorted(body)) or 'none'})")
    cursor = next((body[k] for k in _CURSOR_KEYS if isinstance(body.get(k), str) and body[k]), None)
    return records, cursor


def _logql(args: argparse.Namespace) -> str:
    if args.query:
        return str(args.query)
    matchers = [
        f'{label}=~"{prefix}{"|".join(re.escape(p.strip()) for p in value.split(",") if p.strip())}"'
        for label, value, prefix in (
            ("service", args.service, ""),
            ("host", args.host, ""),
            ("level", args.level, "(?i)"),
        )
        if value
    ]
    return "{" + (", ".join(matchers) or 'service=~".+"') + "}"


def _loki_record(ns: int, line: str, labels: dict[str, str]) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        parsed = None
    record: dict[str, Any] = dict(labels)
    record.update(parsed if isinstance(parsed, dict) else {"message": line})
    record["timestamp"] = _iso(ns)
    return record
