#!/usr/bin/env python3
"""Fetch logs over HTTP and write them as JSON Lines: the newest records first, by default.

Speaks two APIs: a paginated JSON API (GET <url>?limit=&level=&service=&since=&until=&cursor=&direction=,
answering {"logs": [...], "next_cursor": ...}; a bare JSON array also works), and Grafana Loki's
/loki/api/v1/query_range (streams of [ns, line] values). Like Loki's default `direction=backward`,
it takes the *newest* --limit records of the range and writes them in time order; --oldest-first
takes the oldest instead. Retries with exponential backoff on 5xx, 429, timeouts and connection
errors. A bearer token is read from an environment variable (--token-env, default LOG_API_TOKEN),
never from the command line.

Ask by time: `--since 1h` takes every record of the last hour (`--limit N` then caps it at the
newest N). Without a time range, --limit defaults to 1,000.

Standard library only. Records go to -o FILE (or stdout); progress and the summary (how many
records, which time range, what was asked, whether a limit cut the range short, and how many the
API holds when it says) go to stderr. With -o, the summary is also saved beside the records as
FILE.fetch.json, where analyze.py finds what was asked (its `window`) and the incident-report
skill finds the source.
Exit codes: 0 ok, 1 fetch failed (unreachable, HTTP error after retries, bad response), 2 usage.

This file is also the one implementation of fetching that conjure_nb's native `LogFetcher`
imports (with its own HTTP transport), so paging, cursors, LogQL and retries live only here.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from .jsonpage import LIST_KEYS, Page, PageError, Reader, read_page

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LIST_KEYS = LIST_KEYS
_CURSOR_KEYS = ("next_cursor", "nextCursor", "cursor", "next")
_TOTAL_KEYS = ("total", "total_count", "totalCount")
DEFAULT_LIMIT = 1000
"""The cap when neither a time range nor --limit is given: a count must stop a fetch of everything."""
TIMES = "T is ISO 8601 (2026-03-14T09:00:00Z), epoch seconds, or relative to now (15m, 2h, 7d)."

Transport = Callable[[str, Mapping[str, str], float], "tuple[int, bytes | Reader]"]
"""One GET: (status, body), the body as bytes or as a stream to read (and close) as it arrives.
Raises TimeoutError on a timeout and OSError when it cannot connect."""
MAX_PAGE_BYTES = 64 << 20
"""The most of one response read (--max-page-bytes): a page past it is cut and the result says so."""


class FetchError(Exception):
    """Fetching failed for good; the message says what to check."""


# --- secrets in URLs ---------------------------------------------------------------------------

_SECRET_WORDS = re.compile(r"token|secret|passw(?:or)?d|api[-_]?key|credential|signature|private|session")
_SECRET_NAMES = frozenset({"key", "pwd", "pass", "sig", "auth", "authorization", "jwt", "bearer", "code"})
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
REDACTED = "***"


def _secret_name(name: str) -> bool:
    lowered = urllib.parse.unquote_plus(name).strip().lower()
    return lowered in _SECRET_NAMES or bool(_SECRET_WORDS.search(lowered))


def _redact_pairs(text: str) -> str:
    """`a=1&token=x` -> `a=1&token=***`: values of secret-looking names hidden, the rest kept as written."""
    parts = []
    for part in text.split("&"):
        name, eq, _value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and _secret_name(name) else part)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """The URL as it may be shown, logged or saved: credentials replaced by `***`.

    `user:pass@` (or a lone `token@`) becomes `***@`, and the values of query or fragment
    parameters whose names look secret (`api_key`, `token`, `access_token`, `key`, `password`,
    `secret`, `sig`, ...) become `***`. Everything else stays as written, so the URL still says
    which API and which query it was. Used for progress lines, summaries, analysis.json, reports,
    reprs and error messages; the real URL is only ever used to make the request.
    """
    try:
        split = urllib.parse.urlsplit(url)
    except ValueError:  # not a URL we can take apart: hide anything after a scheme
        return re.sub(r"(://)[^\s]*", r"\1" + REDACTED, url)
    netloc = split.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    fragment = _redact_pairs(split.fragment) if "=" in split.fragment else split.fragment
    return urllib.parse.urlunsplit(
        split._replace(netloc=netloc, query=_redact_pairs(split.query), fragment=fragment)
    )


def redact_text(text: str) -> str:
    """Every URL in free text (an error message, a progress line) passed through `redact_url`."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def origin(url: str) -> str:
    """scheme://host:port, the unit credentials are bound to (default ports made explicit)."""
    split = urllib.parse.urlsplit(url)
    try:
        port = split.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(split.scheme.lower())
    host = (split.hostname or "").lower()
    return f"{split.scheme.lower()}://{'[' + host + ']' if ':' in host else host}:{port}"


def _credentials_from(url: str) -> tuple[str, dict[str, str]]:
    """The URL without `user:pass@`, and the Basic Authorization header those made (if any)."""
    split = urllib.parse.urlsplit(url)
    if "@" not in split.netloc:
        return url, {}
    userinfo, _, host = split.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
    header = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return urllib.parse.urlunsplit(split._replace(netloc=host)), header


# --- times -------------------------------------------------------------------------------------


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
    try:
        if number is not None:
            scale = 1e9 if number > 1e17 else 1e6 if number > 1e14 else 1e3 if number > 1e11 else 1.0
            return datetime.fromtimestamp(number / scale, tz=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise FetchError(f"cannot read time {value!r}: {TIMES}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds, as the demo API writes its timestamps."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def nanos(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def iso_ns(ns: int) -> str:
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ns % 1_000_000_000 // 1_000_000:03d}Z"


# --- what to fetch -----------------------------------------------------------------------------


@dataclass
class Query:
    """What to fetch; `since`/`until` as given (relative times are resolved once, at `now`)."""

    url: str
    api: str = "auto"
    limit: int | None = DEFAULT_LIMIT
    """Most records to take; None takes every record of the range."""
    page_size: int = 500
    level: str | None = None
    service: str | None = None
    host: str | None = None
    since: str | None = None
    until: str | None = None
    query: str | None = None
    oldest_first: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def loki(self) -> bool:
        return self.api == "loki" or (self.api == "auto" and "/loki/" in self.url)

    def bound(self, value: str | None) -> datetime | None:
        return parse_time(value, self.now) if value else None

    def logql(self) -> str:
        """The LogQL for the filters: --query wins; else a selector from --service/--host/--level."""
        if self.query:
            return self.query
        matchers = [
            f'{label}=~"{prefix}{_alternation(value)}"'
            for label, value, prefix in (
                ("service", self.service, ""),
                ("host", self.host, ""),
                ("level", self.level, "(?i)"),
            )
            if value
        ]
        return "{" + (", ".join(matchers) or 'service=~".+"') + "}"

    @property
    def cap(self) -> int:
        """The limit as a number (no limit: more than any API holds)."""
        return self.limit if self.limit is not None else sys.maxsize

    def describe(self) -> dict[str, Any]:
        """The query as the summary (and the report's source section) states it; the URL without
        secrets (see `redact_url`)."""
        since, until = self.bound(self.since), self.bound(self.until)
        return {
            "url": redact_url(self.url),
            "api": "loki" if self.loki else "json",
            "service": self.service,
            "level": self.level,
            "host": self.host,
            "since": iso(since) if since else None,
            "until": iso(until) if until else None,
            "since_arg": self.since,
            "until_arg": self.until,
            "limit": self.limit,
            "order": "oldest first" if self.oldest_first else "newest first",
            "logql": self.logql() if self.loki else None,
        }


def asked(since: str | None, until: str | None) -> str:
    """The time range a query asked for, in words: "the last hour", "the last 15 minutes",
    "since 2026-03-14T09:00:00Z", or "everything the source holds" without a range."""
    if since and not until:
        relative = _RELATIVE.match(since.strip())
        if relative:
            amount, unit = float(relative.group(1)), relative.group(2)
            word = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}[unit]
            if amount == 1:
                return f"the last {word}"
            return f"the last {amount:g} {word}s"
        return f"since {since}"
    if since and until:
        return f"from {since} to {until}"
    if until:
        return f"everything before {until}"
    return "everything the source holds"


def _alternation(csv: str) -> str:
    return "|".join(re.escape(part.strip()) for part in csv.split(",") if part.strip())


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    """The query options, shared by this script and the native LogFetcher's `fetch` command."""
    parser.add_argument(
        "url", help="the logs endpoint, e.g. http://127.0.0.1:8080/api/logs or a Loki base URL"
    )
    parser.add_argument(
        "--api", choices=("auto", "json", "loki"), default="auto", help="auto picks loki for URLs with /loki/"
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"most records to fetch in total (default: every record of --since/--until; {DEFAULT_LIMIT} "
        "without a time range)",
    )
    parser.add_argument("--page-size", type=int, default=500, help="records per request (500)")
    parser.add_argument("--level", help="only these levels, comma-separated (e.g. ERROR,WARN)")
    parser.add_argument("--service", help="only these services, comma-separated")
    parser.add_argument("--host", help="only these hosts, comma-separated")
    parser.add_argument("--since", help="records at or after this time (T)")
    parser.add_argument("--until", help="records before this time (T)")
    parser.add_argument("--query", help="Loki: the LogQL query to send instead of one built from the filters")
    parser.add_argument(
        "--oldest-first",
        action="store_true",
        help="take the oldest --limit records of the range, not the newest",
    )


def query_from(args: argparse.Namespace) -> Query:
    """A Query from parsed arguments; FetchError when a value cannot work."""
    if (args.limit is not None and args.limit < 1) or args.page_size < 1:
        raise FetchError("--limit and --page-size must be at least 1")
    if not args.url.startswith(("http://", "https://")):
        raise FetchError(f"the url must start with http:// or https://, got {redact_url(args.url)!r}")
    query = Query(
        **{
            k: getattr(args, k)
            for k in (
                "url",
                "api",
                "limit",
                "page_size",
                "level",
                "service",
                "host",
                "since",
                "until",
                "query",
                "oldest_first",
            )
        }
    )
    for value in (query.since, query.until):  # a bad time fails before any request
        query.bound(value)
    if query.limit is None and not (query.since or query.until):
        query.limit = DEFAULT_LIMIT
    return query


# --- HTTP with retries -------------------------------------------------------------------------


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the origin; another origin's redirect comes back as its 3xx."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if origin(newurl) != origin(req.full_url):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameOriginRedirects)


def urllib_get(url: str, headers: Mapping[str, str], timeout: float) -> tuple[int, bytes | Reader]:
    """The standard library transport; any HTTP status is an answer, not an exception. A success's
    body is the open response, read (and closed) by the caller as it arrives."""
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        response = _OPENER.open(request, timeout=timeout)
        return int(response.status), response
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise TimeoutError(str(reason)) from None
        raise ConnectionError(str(reason)) from None


@dataclass
class Client:
    """GET JSON with a timeout, retries and backoff; counts what it did for the summary.

    `deadline` (a time.monotonic() value) stops retrying when another attempt could not finish
    in time; `auth_hint` says where the token goes when the API answers 401/403.
    """

    transport: Transport = urllib_get
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    retries: int = 3
    backoff: float = 0.5
    deadline: float = float("inf")
    auth_hint: str = (
        "put the API token in the environment variable named by --token-env (default LOG_API_TOKEN)"
    )
    on_retry: Callable[[str], None] | None = None
    max_page_bytes: int = MAX_PAGE_BYTES
    origin: str | None = None
    """The origin the fetch started at (`fetch` sets it from the query's URL): the headers and any
    `user:pass@` were given for it, so a request to any other origin is refused, never sent."""
    requests: int = 0
    retried: int = 0

    def _open(self, url: str, params: Mapping[str, Any]) -> tuple[str, bytes | Reader]:
        """GET with retries: (where, for messages; the body, to read and close)."""
        bare, basic = _credentials_from(url)
        split = urllib.parse.urlsplit(bare)
        where = redact_url(f"{split.scheme}://{split.netloc}{split.path}")
        if self.origin is not None and origin(bare) != self.origin:
            raise FetchError(
                f"the API pointed the next page at another origin ({where}); not followed, because the "
                f"credentials given for {self.origin} are never sent anywhere else"
            )
        query = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        query += [(k, str(v)) for k, v in params.items() if v is not None]
        full = urllib.parse.urlunsplit(split._replace(query=urllib.parse.urlencode(query)))
        headers = {
            "Accept": "application/json",
            "User-Agent": "log-analyzer-fetch/2",
            **basic,
            **self.headers,
        }
        for attempt in range(self.retries + 1):
            self.requests += 1
            problem, body = self._attempt(full, headers, where)
            if body is not None:
                return where, body
            delay = self.backoff * 2**attempt
            if attempt == self.retries:
                raise FetchError(f"{where}: {problem} (after {attempt + 1} attempts)")
            if time.monotonic() + delay + self.timeout > self.deadline:
                raise FetchError(
                    f"{where}: {problem} (after {attempt + 1} attempts; no time left for another "
                    "before the tool call's timeout)"
                )
            self.retried += 1
            if self.on_retry is not None:
                self.on_retry(f"{problem}; retry {attempt + 1}/{self.retries} in {delay:g} s")
            time.sleep(delay)
        raise AssertionError("unreachable")

    def get(self, url: str, params: Mapping[str, Any]) -> Any:
        """GET `url` with `params` and parse the JSON answer (at most `max_page_bytes` of it)."""
        where, body = self._open(url, params)
        try:
            data = _read_all(body, self.max_page_bytes + 1)
        finally:
            _close(body)
        if len(data) > self.max_page_bytes:
            raise FetchError(
                f"{where}: the response is over {self.max_page_bytes:,} bytes (--max-page-bytes)"
            )
        try:
            return json.loads(data)
        except ValueError:
            raise FetchError(f"{where}: the response is not JSON (starts {data[:80]!r})") from None

    def get_page(self, url: str, params: Mapping[str, Any], want: int, done: Callable[[Page], bool]) -> Page:
        """GET one page of records, read as it arrives: see jsonpage.read_page."""
        where, body = self._open(url, params)
        try:
            return read_page(_as_reader(body), want, done, self.max_page_bytes)
        except PageError as exc:
            raise FetchError(f"{where}: {exc}") from None
        except OSError as exc:
            raise FetchError(f"{where}: the response was cut off ({redact_text(str(exc))})") from None
        finally:
            _close(body)

    def _attempt(self, url: str, headers: Mapping[str, str], where: str) -> tuple[str, bytes | Reader | None]:
        """One request: ("", body), or (what went wrong, None) when it is worth a retry."""
        try:
            status, body = self.transport(url, headers, self.timeout)
        except TimeoutError:
            return f"timed out after {self.timeout:g} s", None
        except OSError as exc:
            return f"cannot connect ({redact_text(str(exc))})", None
        if status < 300:
            return "", body
        head = _read_all(body, 200)
        _close(body)
        if 300 <= status < 400:
            raise FetchError(
                f"{where}: HTTP {status}: a redirect to another origin, not followed (credentials for "
                f"{self.origin or 'this API'} are never sent elsewhere); use the URL it points to"
            )
        if status >= 500 or status == 429:
            return f"HTTP {status}", None
        if status in (401, 403):
            raise FetchError(f"{where}: HTTP {status} - authentication failed; {self.auth_hint}")
        detail = head.decode("utf-8", "replace").strip()
        raise FetchError(f"{where}: HTTP {status}: {detail}")


def _as_reader(body: bytes | Reader) -> Reader:
    return io.BytesIO(body) if isinstance(body, (bytes, bytearray)) else body


def _read_all(body: bytes | Reader, most: int) -> bytes:
    """Up to `most` bytes of a body, read in chunks so a huge one is never held whole."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body[:most])
    parts, got = [], 0
    while got < most:
        chunk = body.read(min(1 << 16, most - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _close(body: Any) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        with contextlib.suppress(OSError):
            close()


# --- paging --------------------------------------------------------------------------------------


@dataclass
class Result:
    """The records in time order (oldest first), and what it took to get them."""

    records: list[Any]
    pages: int = 0
    more: bool | None = None
    """True when the range held more records than --limit (None: the API does not say)."""
    available: int | None = None
    """How many records the range held, when the API says (`total` in its first answer)."""
    notes: list[str] = field(default_factory=list)


def _total(fields: dict[str, Any]) -> int | None:
    """The count of matching records an API states in its answer, if it states one."""
    for key in _TOTAL_KEYS:
        value = fields.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _cursor_and_direction(page: Page) -> tuple[str | None, str | None]:
    if not page.listed:
        if "value" in page.fields:
            raise FetchError("the API answered neither a JSON array nor an object with a list of logs")
        raise FetchError(
            f"no list of logs in the response (keys: {', '.join(sorted(page.fields)) or 'none'}); "
            "expected one of " + ", ".join(_LIST_KEYS)
        )
    body = page.fields
    cursor = next((body[k] for k in _CURSOR_KEYS if isinstance(body.get(k), str) and body[k]), None)
    direction = body.get("direction") if isinstance(body.get("direction"), str) else None
    return cursor, direction


def _enough(scanning: bool, ordered: bool, newest: bool) -> Callable[[Page], bool]:
    """When a page's first records are the ones asked for, so the rest of it need not be read."""

    def enough(page: Page) -> bool:
        return not scanning and (ordered or not newest or page.fields.get("direction") == "backward")

    return enough


def fetch_json_api(client: Client, query: Query, on_page: Callable[[int], None] | None = None) -> Result:
    """Page through the cursor API: the newest --limit records (or the oldest with oldest_first).

    Each page is read as it arrives and reading stops once the records in hand are enough, so a
    small --limit never reads (or holds) a huge page. An API that ignores `direction=backward`
    answers oldest first; then every page is read, only the newest --limit kept, and the result
    says so. A page over --max-page-bytes is cut there, and the result says that too.
    """
    since, until = query.bound(query.since), query.bound(query.until)
    newest = not query.oldest_first
    params = {
        "level": query.level,
        "service": query.service,
        "host": query.host,
        "since": since and iso(since),
        "until": until and iso(until),
        "direction": "backward" if newest else "forward",
    }
    taken: list[Any] = []
    kept: deque[Any] = deque(maxlen=query.limit)  # the newest so far, when the API ignores direction
    result, cursor, scanning, seen, cap = Result([]), None, False, 0, query.cap
    while True:
        size = query.page_size if scanning else min(query.page_size, cap - len(taken))
        want = cap if scanning else cap - len(taken)
        enough = _enough(scanning, result.pages > 0, newest)
        if cursor and cursor.startswith(("http://", "https://")):
            page = client.get_page(cursor, {}, want, enough)
        else:
            page = client.get_page(query.url, {**params, "limit": size, "cursor": cursor}, want, enough)
        cursor, direction = _cursor_and_direction(page)
        result.pages += 1
        if result.pages == 1:
            result.available = _total(page.fields)
        if (
            result.pages == 1
            and newest
            and direction != "backward"
            and not page.stopped
            and query.limit is not None
        ):
            scanning = True
            result.notes.append(
                "the API does not page newest first (it ignored direction=backward): every page was read "
                f"and the newest {query.limit:,} records kept"
            )
        seen += page.count
        if scanning:
            kept.extend(page.last)
        else:
            taken.extend(page.first[: cap - len(taken)])
        if on_page is not None:
            on_page(len(kept) if scanning else len(taken))
        if page.cut:
            result.more = True
            result.notes.append(
                f"page {result.pages} was cut at {client.max_page_bytes:,} bytes (--max-page-bytes): the "
                f"{page.count:,} records read before the cut are all that was seen of it"
            )
            break
        if page.stopped:  # a record past those asked for arrived: there is more
            result.more = True
            break
        if not cursor or not page.count:
            result.more = seen > cap
            break
        if not scanning and len(taken) >= cap:
            result.more = True
            break
    if scanning:
        result.records = list(kept)
    elif newest and direction == "backward":
        result.records = taken[::-1]
    else:  # oldest first, or an API that answered in time order when asked for everything
        result.records = taken
    if result.available is not None:
        result.more = result.available > len(result.records)
    return result


def fetch_loki(client: Client, query: Query, on_page: Callable[[int], None] | None = None) -> Result:
    """Loki query_range, paged backward (newest first; forward with oldest_first).

    Each page continues from the oldest (or newest) timestamp seen, and entries already seen at
    that exact nanosecond are skipped, so nothing is lost or repeated at page boundaries.
    """
    url = query.url if "/loki/api/v1/" in query.url else query.url.rstrip("/") + "/loki/api/v1/query_range"
    since, until = query.bound(query.since), query.bound(query.until)
    start, end = since and nanos(since), until and nanos(until)
    forward, seen, taken = query.oldest_first, set[tuple[int, str]](), list[Any]()
    result = Result([])
    while len(taken) < query.cap:
        page = min(query.page_size, 5000)
        body = client.get(
            url,
            {
                "query": query.logql(),
                "start": start,
                "end": end,
                "limit": page,
                "direction": "forward" if forward else "backward",
            },
        )
        result_list = body.get("data", {}).get("result") if isinstance(body, dict) else None
        if not isinstance(result_list, list):
            raise FetchError("not a Loki query_range answer: expected data.result to be a list of streams")
        entries = sorted(
            (
                (int(ns), line, stream.get("stream", {}))
                for stream in result_list
                for ns, line, *_ in stream.get("values", [])
            ),
            key=lambda e: (e[0], e[1]),
            reverse=not forward,
        )
        fresh = [e for e in entries if (e[0], e[1]) not in seen][: query.cap - len(taken)]
        if not fresh:
            result.more = False
            break
        result.pages += 1
        taken += [_loki_record(ns, line, labels) for ns, line, labels in fresh]
        if on_page is not None:
            on_page(len(taken))
        if len(entries) < page:
            result.more = False
            break
        edge = entries[-1][0]
        seen = {(ns, line) for ns, line, _ in entries if ns == edge}
        start, end = (edge, end) if forward else (start, edge + 1)
        result.more = True
    result.records = taken if forward else taken[::-1]
    return result


def _loki_record(ns: int, line: str, labels: dict[str, str]) -> dict[str, Any]:
    try:
        parsed = json.loads(line)
    except ValueError:
        parsed = None
    record: dict[str, Any] = dict(labels)
    record.update(parsed if isinstance(parsed, dict) else {"message": line})
    record["timestamp"] = iso_ns(ns)
    return record


def fetch(client: Client, query: Query, on_page: Callable[[int], None] | None = None) -> Result:
    """The records the query asks for, in time order; only ever from the query URL's origin."""
    if client.origin is None:
        client.origin = origin(_credentials_from(query.url)[0])
    return (fetch_loki if query.loki else fetch_json_api)(client, query, on_page)


def summary(result: Result, query: Query, client: Client) -> dict[str, Any]:
    """What was fetched, from where, which time range it covers, and what was asked: the analyzer
    states this as its window (`asked`, `truncated`: a limit stopped the fetch before the asked
    range was covered, `available`: the records the range held, when the API says)."""
    dicts = [r for r in result.records if isinstance(r, dict)]
    stamps = [r["timestamp"] for r in dicts if isinstance(r.get("timestamp"), str)]
    described = query.describe()
    return {
        "records": len(result.records),
        "source": described["url"],
        "api": "loki" if query.loki else "json",
        "query": described,
        "query_text": query_text(described),
        "asked": asked(query.since, query.until),
        "truncated": bool(result.more),
        "available": result.available,
        "first_timestamp": min(stamps, default=None),
        "last_timestamp": max(stamps, default=None),
        "more_available": result.more,
        "pages": result.pages,
        "requests": client.requests,
        "retries": client.retried,
        "levels": dict(Counter(str(r.get("level")) for r in dicts).most_common()),
        "services": dict(Counter(str(r.get("service")) for r in dicts).most_common()),
        "fetched_at": iso(query.now),
        "notes": result.notes,
    }


def query_text(described: dict[str, Any]) -> str:
    """A query in one line: URL (without secrets), filters, range, limit and order."""
    parts = [str(described.get("url"))]
    parts += [f"{k}={described[k]}" for k in ("service", "level", "host") if described.get(k)]
    if described.get("logql"):
        parts.append(f"logql={described['logql']}")
    if described.get("since_arg"):
        parts.append(f"since={described['since_arg']}")
    if described.get("until_arg"):
        parts.append(f"until={described['until_arg']}")
    limit = described.get("limit")
    parts.append(f"limit={limit}" if limit is not None else "no limit")
    parts.append(str(described.get("order", "newest first")))
    return " ".join(parts)


def sidecar(path: str) -> str:
    """Where the summary of a fetch into `path` is kept for the report: `<path>.fetch.json`."""
    return f"{path}.fetch.json"


# --- the command ---------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fetch_logs.py",
        description="Fetch the newest logs over HTTP (paginated JSON API or Grafana Loki) into JSON Lines.",
        epilog=f"{TIMES} Exit codes: 0 ok, 1 fetch failed, 2 usage.",
    )
    add_query_arguments(parser)
    parser.add_argument("-o", "--output", help="write JSON Lines here (default: stdout)")
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
    parser.add_argument(
        "--max-page-bytes",
        type=int,
        default=MAX_PAGE_BYTES,
        help=f"the most of one response read; a bigger page is cut there and the summary says so ({MAX_PAGE_BYTES:,})",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr (errors still go there)")
    args = parser.parse_args(argv)
    if any(":" not in h for h in args.header or []):
        parser.error("--header takes NAME:VALUE")
    if (
        (args.limit is not None and args.limit < 1)
        or args.page_size < 1
        or args.retries < 0
        or args.timeout <= 0
    ):
        parser.error("--limit and --page-size must be >= 1, --retries >= 0, --timeout > 0")
    return args


def _client(args: argparse.Namespace) -> Client:
    headers = {name.strip(): value.strip() for name, value in (h.split(":", 1) for h in args.header or [])}
    token = os.environ.get(args.token_env)
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def say(line: str) -> None:
        if not args.quiet:
            print(f"fetch_logs: {line}", file=sys.stderr, flush=True)

    return Client(
        headers=headers,
        timeout=args.timeout,
        retries=args.retries,
        backoff=args.backoff,
        on_retry=say,
        max_page_bytes=args.max_page_bytes,
    )


def dump_lines(records: list[Any]) -> tuple[str, int]:
    """The records as JSON Lines that UTF-8 can always hold, and how many characters were replaced.

    A record may carry a lone surrogate (`"\\ud800"` is valid JSON, but no UTF-8 file can hold it):
    it is written as U+FFFD and counted, so one hostile record never stops the fetch.
    """
    text = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)
    return _LONE_SURROGATE.subn("\ufffd", text)


def _write(out: IO[str], records: list[Any]) -> int:
    text, replaced = dump_lines(records)
    out.write(text)
    out.flush()
    return replaced


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    client = _client(args)
    started = time.perf_counter()
    progress = (
        None
        if args.quiet
        else (lambda n: print(f"fetch_logs: {n:,} records so far", file=sys.stderr, flush=True))
    )
    try:
        query = query_from(args)
        result = fetch(client, query, progress)
    except FetchError as exc:
        print(f"fetch_logs: error: {redact_text(str(exc))}", file=sys.stderr)
        return 1
    facts = {**summary(result, query, client), "output": args.output or "-"}
    facts["seconds"] = round(time.perf_counter() - started, 3)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
        replaced = _write(out, result.records)
    if replaced:
        facts["replaced_characters"] = replaced
    if args.output:
        with open(sidecar(args.output), "w", encoding="utf-8") as meta:
            json.dump(facts, meta, indent=1)
    if not args.quiet:
        for note in result.notes:
            print(f"fetch_logs: note: {note}", file=sys.stderr)
        print("fetch_logs: " + json.dumps(facts), file=sys.stderr)
    return 0


def run() -> None:
    """Run as a command: exit with `main()`'s status."""
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (| head): not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
