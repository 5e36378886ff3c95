#!/usr/bin/env python3
"""Fetch logs over HTTP and write them as JSON Lines.

Speaks two APIs: a paginated JSON API (GET <url>?limit=&level=&service=&since=&until=&cursor=,
answering {"logs": [...], "next_cursor": ...}; a bare JSON array also works), and Grafana Loki's
/loki/api/v1/query_range (streams of [ns, line] values; paged forward by time). Retries with
exponential backoff on 5xx, 429, timeouts and connection errors. A bearer token is read from an
environment variable (--token-env, default LOG_API_TOKEN), never from the command line.

Standard library only. Records go to -o FILE (or stdout); progress and the summary go to stderr.
Exit codes: 0 ok, 1 fetch failed (unreachable, HTTP error after retries, bad response), 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import IO, Any

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LIST_KEYS = ("logs", "records", "items", "entries", "events", "data")
_CURSOR_KEYS = ("next_cursor", "nextCursor", "cursor", "next")


class FetchError(Exception):
    """Fetching failed for good; the message says what to check."""


def parse_time(value: str, now: datetime | None = None) -> datetime:
    """A time from ISO 8601 (no zone means UTC), epoch seconds/ms/ns, or relative ("15m", "2h", "7d" ago)."""
    text = value.strip()
    now = now or datetime.now(timezone.utc)
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(seconds=float(relative.group(1)) * _UNITS[relative.group(2)])
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        scale = 1e9 if number > 1e17 else 1e6 if number > 1e14 else 1e3 if number > 1e11 else 1.0
        return datetime.fromtimestamp(number / scale, tz=timezone.utc)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FetchError(
            f"cannot read time {value!r}: use ISO 8601 (2026-03-14T09:00:00Z), epoch seconds, or 15m/2h/7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    return (
        moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def nanos(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


class Client:
    """GET JSON with a timeout, retries and backoff; counts what it did for the summary."""

    def __init__(self, token: str | None, args: argparse.Namespace):
        self.token, self.timeout, self.retries, self.backoff = token, args.timeout, args.retries, args.backoff
        self.quiet, self.headers = args.quiet, dict(h.split(":", 1) for h in args.header or [])
        self.requests = 0
        self.retried = 0

    def get(self, url: str, params: dict[str, Any]) -> Any:
        split = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        query += [(k, str(v)) for k, v in params.items() if v is not None]
        request = urllib.request.Request(
            urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(query))),
            headers={"Accept": "application/json", "User-Agent": "log-analyzer-fetch/1"},
        )
        for name, value in self.headers.items():
            request.add_header(name.strip(), value.strip())
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for attempt in range(self.retries + 1):
            self.requests += 1
            body, problem = self._attempt(request, url)
            if body is not None:
                try:
                    return json.loads(body)
                except ValueError:
                    raise FetchError(f"{url}: the response is not JSON (starts {body[:80]!r})") from None
            if attempt == self.retries:
                where = f"{split.scheme}://{split.netloc}{split.path}"
                raise FetchError(f"{where}: {problem} (after {attempt + 1} attempts)")
            self.retried += 1
            delay = self.backoff * 2**attempt
            if not self.quiet:
                print(
                    f"fetch_logs: {problem}; retry {attempt + 1}/{self.retries} in {delay:g} s",
                    file=sys.stderr,
                )
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(self, request: urllib.request.Request, url: str) -> tuple[bytes | None, str]:
        """One request: (body, "") or (None, what went wrong, when it is worth a retry)."""
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read(), ""
        except urllib.error.HTTPError as exc:
            return None, self._http_problem(exc, url)
        except (
            OSError,
            http.client.HTTPException,
        ) as exc:  # URLError, timeouts (socket.timeout on 3.9), resets
            reason = getattr(exc, "reason", exc)
            timeout = isinstance(reason, TimeoutError) or "timed out" in str(reason)
            return None, f"timed out after {self.timeout:g} s" if timeout else f"cannot connect ({reason})"

    def _http_problem(self, exc: urllib.error.HTTPError, url: str) -> str:
        """A retryable problem's description; non-retryable statuses raise FetchError at once."""
        detail = exc.read()[:200].decode("utf-8", "replace").strip()
        if exc.code >= 500 or exc.code == 429:
            return f"HTTP {exc.code}"
        if exc.code in (401, 403):
            raise FetchError(
                f"{url}: HTTP {exc.code} - authentication failed; put the API token in the "
                "environment variable named by --token-env (default LOG_API_TOKEN)"
            )
        raise FetchError(f"{url}: HTTP {exc.code}: {detail or exc.reason}")


def _records_and_cursor(body: Any) -> tuple[list[Any], str | None]:
    if isinstance(body, list):
        return body, None
    if not isinstance(body, dict):
        raise FetchError("the API answered neither a JSON array nor an object with a list of logs")
    records = next((body[k] for k in _LIST_KEYS if isinstance(body.get(k), list)), None)
    if records is None:
        raise FetchError(
            f"no list of logs in the response (keys: {', '.join(sorted(body)) or 'none'}); "
            "expected one of " + ", ".join(_LIST_KEYS)
        )
    cursor = next((body[k] for k in _CURSOR_KEYS if isinstance(body.get(k), str) and body[k]), None)
    return records, cursor


def fetch_json_api(client: Client, url: str, args: argparse.Namespace) -> Iterator[list[Any]]:
    """Pages of the cursor-paginated JSON API, until --limit records or no next cursor."""
    remaining, cursor = args.limit, None
    while remaining > 0:
        params = {
            "limit": min(args.page_size, remaining),
            "level": args.level,
            "service": args.service,
            "host": args.host,
            "since": args.since and iso(parse_time(args.since)),
            "until": args.until and iso(parse_time(args.until)),
            "cursor": cursor,
        }
        if cursor and cursor.startswith(("http://", "https://")):
            body = client.get(cursor, {})
        else:
            body = client.get(url, params)
        records, cursor = _records_and_cursor(body)
        records = records[:remaining]
        remaining -= len(records)
        yield records
        if not cursor or not records:
            return


def loki_query(args: argparse.Namespace) -> str:
    """The LogQL for the filters: --query wins; else a selector from --service/--host/--level."""
    if args.query:
        return str(args.query)
    matchers = []
    if args.service:
        matchers.append(f'service=~"{_alternation(args.service)}"')
    if args.host:
        matchers.append(f'host=~"{_alternation(args.host)}"')
    if args.level:
        matchers.append(f'level=~"(?i){_alternation(args.level)}"')
    return "{" + (", ".join(matchers) or 'service=~".+"') + "}"


def _alternation(csv: str) -> str:
    return "|".join(re.escape(part.strip()) for part in csv.split(",") if part.strip())


def fetch_loki(client: Client, url: str, args: argparse.Namespace) -> Iterator[list[Any]]:
    """Loki query_range, paged forward: each page starts at the last timestamp seen, and entries
    already seen at that exact nanosecond are skipped."""
    if "/loki/api/v1/" not in url:
        url = url.rstrip("/") + "/loki/api/v1/query_range"
    remaining = args.limit
    start = nanos(parse_time(args.since)) if args.since else None
    end = nanos(parse_time(args.until)) if args.until else None
    seen_at_start: set[tuple[int, str]] = set()
    while remaining > 0:
        page = min(args.page_size, 5000)
        body = client.get(
            url,
            {"query": loki_query(args), "start": start, "end": end, "limit": page, "direction": "forward"},
        )
        result = body.get("data", {}).get("result") if isinstance(body, dict) else None
        if not isinstance(result, list):
            raise FetchError("not a Loki query_range answer: expected data.result to be a list of streams")
        entries = sorted(
            (int(ns), line, stream.get("stream", {}))
            for stream in result
            for ns, line, *_ in stream.get("values", [])
        )
        fresh = [e for e in entries if (e[0], e[1]) not in seen_at_start][:remaining]
        if not fresh:
            return
        remaining -= len(fresh)
        yield [_loki_record(ns, line, labels) for ns, line, labels in fresh]
        if len(entries) < page:
            return
        start = entries[-1][0]
        seen_at_start = {(ns, line) for ns, line, _ in entries if ns == start}


def _loki_record(ns: int, line: str, labels: dict[str, str]) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        parsed = None
    record: dict[str, Any] = dict(labels)
    record.update(parsed if isinstance(parsed, dict) else {"message": line})
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc)
    record["timestamp"] = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000 // 1_000_000:03d}Z"
    return record


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fetch_logs.py",
        description="Fetch logs over HTTP (paginated JSON API or Grafana Loki) into JSON Lines.",
        epilog="Times: ISO 8601, epoch seconds, or relative (15m, 2h, 7d). Exit codes: 0 ok, 1 fetch failed, 2 usage.",
    )
    parser.add_argument(
        "url", help="the logs endpoint, e.g. http://127.0.0.1:8080/api/logs or a Loki base URL"
    )
    parser.add_argument("-o", "--output", help="write JSON Lines here (default: stdout)")
    parser.add_argument(
        "--api",
        choices=("auto", "json", "loki"),
        default="auto",
        help="API dialect; auto picks loki when the URL contains /loki/",
    )
    parser.add_argument("--limit", type=int, default=1000, help="most records to fetch in total (1000)")
    parser.add_argument("--page-size", type=int, default=500, help="records per request (500)")
    parser.add_argument("--level", help="only these levels, comma-separated (e.g. ERROR,WARN)")
    parser.add_argument("--service", help="only these services, comma-separated")
    parser.add_argument("--host", help="only these hosts, comma-separated")
    parser.add_argument("--since", help="records at or after this time")
    parser.add_argument("--until", help="records before this time")
    parser.add_argument("--query", help="Loki: the LogQL query to send instead of one built from the filters")
    parser.add_argument(
        "--header",
        action="append",
        metavar="NAME:VALUE",
        help="extra request header, repeatable (e.g. X-Scope-OrgID:tenant-1 for a multi-tenant Loki)",
    )
    parser.add_argument(
        "--token-env", default="LOG_API_TOKEN", help="env var holding a bearer token (LOG_API_TOKEN)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    parser.add_argument(
        "--retries", type=int, default=3, help="retries on 5xx/429/timeouts/connection errors (3)"
    )
    parser.add_argument(
        "--backoff", type=float, default=0.5, help="first retry delay in seconds, doubling (0.5)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr (errors still go there)")
    args = parser.parse_args(argv)
    if any(":" not in h for h in args.header or []):
        parser.error("--header takes NAME:VALUE")
    if args.limit < 1 or args.page_size < 1 or args.retries < 0 or args.timeout <= 0:
        parser.error("--limit and --page-size must be >= 1, --retries >= 0, --timeout > 0")
    return args


def _write(out: IO[str], records: list[Any]) -> None:
    out.write("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records))
    out.flush()


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    client = Client(os.environ.get(args.token_env) or None, args)
    loki = args.api == "loki" or (args.api == "auto" and "/loki/" in args.url)
    started, written, pages = time.perf_counter(), 0, 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
        try:
            for records in (fetch_loki if loki else fetch_json_api)(client, args.url, args):
                _write(out, records)
                written, pages = written + len(records), pages + 1
                if not args.quiet:
                    print(f"fetch_logs: page {pages}: {written:,} records", file=sys.stderr, flush=True)
        except FetchError as exc:
            before = f" ({written:,} records were written before)" if written else ""
            print(f"fetch_logs: error: {exc}{before}", file=sys.stderr)
            return 1
    summary = {
        "records": written,
        "pages": pages,
        "requests": client.requests,
        "retries": client.retried,
        "seconds": round(time.perf_counter() - started, 3),
        "output": args.output or "-",
        "api": "loki" if loki else "json",
    }
    if not args.quiet:
        print("fetch_logs: " + json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
