"""The embedded demo log API: a real HTTP server on 127.0.0.1 serving generated logs.

Two dialects, so one fetcher can be tested against both and then pointed at real systems:

- `GET /api/logs` — this project's own JSON API: `limit`, `level`, `service`, `host`, `since`,
  `until`, `cursor` pagination (`next_cursor`), `direction=backward|forward` (newest first by
  default, like Loki; `forward` for oldest first), `format=json|jsonl`. The first page (no cursor)
  also says how many records match in all (`total`), so a client can state what it left out.
- `GET /loki/api/v1/query_range` — Grafana Loki's response shape: a `{label="v"}` selector with
  `=`, `!=`, `=~`, `!~`, line filters `|=`, `!=`, `|~`, `!~`, `start`/`end` in ns or RFC 3339,
  `limit` and `direction`.

By default the generated records end at the moment the server is made (the last full minute
before "now"), so relative ranges such as `since=<15 minutes ago>` find data; pass `now=` (or
`start=`) to pin the time span, which keeps the data identical for a given seed.

Every bad parameter gets a 400 with a JSON `{"error": ...}`; regexes in LogQL are checked so that
none can keep a thread busy for long (`loki.check_pattern`), matching has a time budget, and a
client that sends half a request is dropped after `read_timeout` seconds.

`GET /health` answers `{"status": "ok", ...}`. Test hooks make the server misbehave on purpose:
`fail_first` (the next N requests get a 500), `fail_always`, `delay` (seconds before answering), and
the query parameters `_status=<code>` and `_delay=<seconds>` for a single request. `requests`
counts the requests served and `last_headers` holds the last request's headers (lower-cased names).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._demo_generator import generate
from ._loki import LokiQuery, parse_loki_query, parse_time
from ._serve import serve_in_thread

__all__ = ["DemoLogServer", "RequestError", "span_start"]

DEFAULT_PAGE = 100
MATCH_BUDGET = 5.0
"""Seconds of line matching one Loki query may use before it is refused."""
MAX_DELAY = 60.0


class RequestError(Exception):
    """A request the API refuses; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _encode_cursor(index: int, forward: bool = True) -> str:
    prefix = "c1" if forward else "c1b"
    return base64.urlsafe_b64encode(f"{prefix}:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, forward: bool) -> int:
    """The index a page starts at (forward) or stops before (backward)."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, index = text.partition(":")
        if prefix != ("c1" if forward else "c1b") or not _digits(index, 12):
            raise ValueError(text)
        return int(index)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise RequestError(
            400, f"invalid cursor {cursor[:80]!r}: pass back next_cursor unchanged, with the same direction"
        ) from None


def _digits(text: str, most: int) -> bool:
    """ASCII digits only (`str.isdigit` accepts '²'), and few enough to be a sane number."""
    return 0 < len(text) <= most and text.isascii() and text.isdigit()


def _int_param(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _digits(raw, 9) or int(raw) < 1:
        raise RequestError(400, f"{name} must be a positive integer (at most 9 digits), got {raw[:40]!r}")
    return min(int(raw), maximum)


def _direction(params: dict[str, str], default: str) -> bool:
    """True for forward (oldest first), False for backward (newest first)."""
    direction = params.get("direction", default).lower()
    if direction not in ("forward", "backward"):
        raise RequestError(400, f"direction must be forward or backward, got {direction[:40]!r}")
    return direction == "forward"


def _hooks(params: dict[str, str]) -> tuple[float, int | None]:
    """The per-request test hooks `_delay` (seconds) and `_status` (a 5xx to answer with)."""
    raw_delay, raw_status = params.get("_delay", ""), params.get("_status", "")
    try:
        delay = float(raw_delay) if raw_delay else 0.0
    except ValueError:
        delay = math.nan
    if not 0 <= delay <= MAX_DELAY:
        raise RequestError(400, f"_delay must be seconds between 0 and {MAX_DELAY:g}, got {raw_delay[:40]!r}")
    if raw_status and not (_digits(raw_status, 3) and 500 <= int(raw_status) <= 599):
        raise RequestError(400, f"_status must be a 5xx status code such as 503, got {raw_status[:40]!r}")
    return delay, int(raw_status) if raw_status else None


def _csv(params: dict[str, str], name: str, *, upper: bool = False) -> set[str] | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    items = {p.strip() for p in raw.split(",") if p.strip()}
    return {i.upper() for i in items} if upper else items


class _LogStore:
    """The records in time order, with the indexes that keep paging cheap."""

    def __init__(self, records: Iterable[dict[str, Any]]):
        self.records = sorted(records, key=lambda r: str(r["timestamp"]))
        self.nanos = [parse_time(str(r["timestamp"])) for r in self.records]

    def page(
        self, params: dict[str, str], page_max: int, forward: bool
    ) -> tuple[list[dict[str, Any]], int | None, int | None]:
        """One page of `/api/logs` in the asked direction: the matching records, the index the
        next page starts at (forward) or stops before (backward), and on the first page (no
        cursor) how many records match in all."""
        limit = _int_param(params, "limit", DEFAULT_PAGE, page_max)
        levels = _csv(params, "level", upper=True)
        services = _csv(params, "service")
        hosts = _csv(params, "host")
        lo, hi = self._window(params.get("since"), params.get("until"))

        def matches(record: dict[str, Any]) -> bool:
            if levels and str(record["level"]).upper() not in levels:
                return False
            return not (
                (services and record["service"] not in services) or (hosts and record["host"] not in hosts)
            )

        total = None
        if params.get("cursor"):
            index = _decode_cursor(params["cursor"], forward)
            lo, hi = (max(lo, index), hi) if forward else (lo, min(hi, index))
        elif levels or services or hosts:
            total = sum(1 for index in range(lo, hi) if matches(self.records[index]))
        else:
            total = hi - lo
        found: list[dict[str, Any]] = []
        for index in range(lo, hi) if forward else range(hi - 1, lo - 1, -1):
            record = self.records[index]
            if not matches(record):
                continue
            if len(found) == limit:
                return found, index if forward else index + 1, total
            found.append(record)
        return found, None, total

    def _window(self, since: str | None, until: str | None) -> tuple[int, int]:
        try:
            lo = bisect_left(self.nanos, parse_time(since)) if since else 0
            hi = bisect_left(self.nanos, parse_time(until)) if until else len(self.records)
        except ValueError as exc:
            raise RequestError(400, str(exc)) from None
        return lo, max(lo, hi)

    def loki(self, query: LokiQuery, start: int, end: int, limit: int, forward: bool) -> dict[str, Any]:
        """A Loki `query_range` answer for the records in [start, end)."""
        lo, hi = bisect_left(self.nanos, start), bisect_left(self.nanos, end)
        indexes: Sequence[int] = range(lo, hi) if forward else range(hi - 1, lo - 1, -1)
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        taken = 0
        deadline = time.monotonic() + MATCH_BUDGET
        for index in indexes:
            if index % 256 == 0 and time.monotonic() > deadline:
                raise RequestError(
                    400, f"query took more than {MATCH_BUDGET:g} s of matching: use a narrower selector"
                )
            record = self.records[index]
            labels = {
                "service": str(record["service"]),
                "host": str(record["host"]),
                "level": str(record["level"]).lower(),
            }
            line = json.dumps(record, separators=(",", ":"))
            if not query.matches(labels, line):
                continue
            streams.setdefault(tuple(sorted(labels.items())), []).append([str(self.nanos[index]), line])
            taken += 1
            if taken >= limit:
                break
        result = [{"stream": dict(key), "values": values} for key, values in streams.items()]
        return {
            "status": "success",
            "data": {
                "resultType": "streams",
                "result": result,
                "stats": {"summary": {"totalEntriesReturned": taken}},
            },
        }


class DemoLogServer:
    """A demo log API on 127.0.0.1, in a background thread; a context manager.

    Args:
        port: TCP port; 0 picks a free one (read it back from `url`).
        seed: the generator's seed: the same seed serves the same logs.
        records: how many records to generate, or an iterable of ready-made records to serve.
        minutes: the time span the generated records cover.
        now: where the generated span ends (default: the current minute, so the data is recent);
            the same seed and `now` always give the same records.
        start: where the span begins instead (overrides `now`).
        token: when set, every request must carry `Authorization: Bearer <token>`.
        fail_first: answer the next N requests with HTTP 500 (then behave), to test retries.
        fail_always: answer every request with HTTP 500.
        delay: seconds to wait before answering each request, to test timeouts.
        page_max: the largest page `/api/logs` hands out.
        read_timeout: seconds a client may take to send its request before it is dropped.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        seed: int = 42,
        records: int | Iterable[dict[str, Any]] = 2000,
        minutes: int = 60,
        now: datetime | None = None,
        start: datetime | None = None,
        token: str | None = None,
        fail_first: int = 0,
        fail_always: bool = False,
        delay: float = 0.0,
        page_max: int = 1000,
        read_timeout: float = 10.0,
    ):
        self.start_time = start if start is not None else span_start(now, minutes)
        source = (
            generate(records, seed=seed, start=self.start_time, minutes=minutes)
            if isinstance(records, int)
            else records
        )
        self.store = _LogStore(source)
        self.read_timeout = read_timeout
        self.token = token
        self.fail_first = fail_first
        self.fail_always = fail_always
        self.delay = delay
        self.page_max = page_max
        self.requests = 0
        self.last_headers: dict[str, str] = {}
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321` (the server must be started)."""
        if self._httpd is None:
            raise RuntimeError("DemoLogServer is not running: call start() or use it as a context manager")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def logs_url(self) -> str:
        """The URL of the JSON API, `<url>/api/logs`."""
        return f"{self.url}/api/logs"

    @property
    def loki_url(self) -> str:
        """The URL of the Loki-compatible endpoint, `<url>/loki/api/v1/query_range`."""
        return f"{self.url}/loki/api/v1/query_range"

    def start(self) -> DemoLogServer:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self._host, self._port), _handler_for(self))
        self._thread = serve_in_thread(self._httpd, "demo-log-api")
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoLogServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def should_fail(self) -> bool:
        """Count the request and say whether a test hook wants it to fail."""
        with self._lock:
            self.requests += 1
            if self.fail_first > 0:
                self.fail_first -= 1
                return True
        return self.fail_always

    def handle(self, path: str, params: dict[str, str]) -> tuple[int, Any, str | None]:
        """Route one GET request: (status, body, next cursor); a str body is sent as JSON Lines."""
        if path in ("/health", "/healthz"):
            return 200, {"status": "ok", "records": len(self.store.records)}, None
        if path == "/api/logs":
            forward = _direction(params, "backward")
            found, next_index, total = self.store.page(params, self.page_max, forward)
            cursor = _encode_cursor(next_index, forward) if next_index is not None else None
            if params.get("format", "json") == "jsonl":
                return 200, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in found), cursor
            if params.get("format", "json") != "json":
                raise RequestError(400, f"format must be json or jsonl, got {params['format'][:40]!r}")
            body = {  # direction and total first: a client reading as it arrives knows them before the logs
                "direction": "forward" if forward else "backward",
                **({"total": total} if total is not None else {}),
                "logs": found,
                "count": len(found),
                "next_cursor": cursor,
            }
            return 200, body, cursor
        if path == "/loki/api/v1/query_range":
            return 200, self._loki(params), None
        raise RequestError(
            404, f"no such endpoint {path!r}; try /api/logs, /loki/api/v1/query_range or /health"
        )

    def _loki(self, params: dict[str, str]) -> dict[str, Any]:
        try:
            query = parse_loki_query(params.get("query", ""))
            start = parse_time(params["start"]) if params.get("start") else 0
            end = (
                parse_time(params["end"])
                if params.get("end")
                else self.store.nanos[-1] + 1
                if self.store.nanos
                else 1
            )
        except ValueError as exc:
            raise RequestError(400, f"parse error : {exc}") from None
        limit = _int_param(params, "limit", DEFAULT_PAGE, 5000)
        return self.store.loki(query, start, end, limit, _direction(params, "backward"))


def span_start(now: datetime | None, minutes: int) -> datetime:
    """Where a span of `minutes` ending at `now` (default: this minute) begins, minute-aligned."""
    end = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(second=0, microsecond=0)
    return end - timedelta(minutes=minutes)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a fetcher that timed out) is not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One request; `app` is the DemoLogServer, set on a per-server subclass."""

    server_version = "conjure-nb-demo/1"
    app: DemoLogServer

    def do_GET(self) -> None:
        try:
            self._answer()
        except RequestError as exc:
            self._send(exc.status, {"error": str(exc)})
        except (ConnectionError, TimeoutError):
            raise
        except Exception as exc:  # a bug in the demo server: still an answer, never a dropped socket
            self._send(500, {"error": f"internal error: {type(exc).__name__}: {exc}"})

    def _answer(self) -> None:
        app = self.app
        app.last_headers = {k.lower(): v for k, v in self.headers.items()}
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        extra_delay, status_hook = _hooks(params)
        if app.delay + extra_delay > 0:
            time.sleep(app.delay + extra_delay)
        if app.should_fail() or status_hook is not None:
            self._send(status_hook or 500, {"error": "internal server error (test hook)"})
        elif app.token is not None and self.headers.get("Authorization") != f"Bearer {app.token}":
            self._send(401, {"error": "missing or wrong bearer token: send Authorization: Bearer <token>"})
        else:
            status, body, cursor = app.handle(split.path, params)
            self._send(status, body, next_cursor=cursor)

    def _send(self, status: int, body: Any, next_cursor: str | None = None) -> None:
        if isinstance(body, str):
            data, kind = body.encode(), "application/x-ndjson"
        else:
            data, kind = json.dumps(body, separators=(",", ":")).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if next_cursor:
            self.send_header("X-Next-Cursor", next_cursor)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the demo runs inside notebooks and test runs."""


def _handler_for(app: DemoLogServer) -> type[BaseHTTPRequestHandler]:
    # `timeout` is the socket timeout for reading a request: a half-sent one is dropped, not waited for
    return type("DemoLogHandler", (_Handler,), {"app": app, "timeout": app.read_timeout})
