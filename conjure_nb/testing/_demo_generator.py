"""Deterministic, realistic application logs with injected incidents, for the demo log API.

Six services on eight hosts log ordinary traffic; on top of that the generator injects the story a
monitoring agent must tell, over the span (an hour by default) that ends at "now":

- **in progress at the end of the span** (the incident an on-call engineer is paged for): pool-usage
  warnings in `payment-service` from 72% of the span, then its database connection pool exhausted
  from 82% (the root cause), with errors rising to the end; the `api-gateway` that calls it starts
  timing out (504s) from 86%, rising too (the cascade). Both are still failing in the last minute,
  so even the newest 100 records show them;
- **resolved earlier**: a 5xx burst in `order-service` (20-24% of the span) and OOM kills in
  `inventory-service` (50-52%);
- **recurring**: certificate-expiry warnings from `auth-service` all along.

The same `seed` always gives the same records. Records are produced minute by minute, already in
time order, so a million of them can be streamed to a file without holding them in memory.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["DEFAULT_START", "INCIDENTS", "ONGOING", "SERVICES", "Incident", "generate", "write_jsonl"]

DEFAULT_START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)

SERVICES: dict[str, tuple[str, ...]] = {
    "api-gateway": ("gw-01", "gw-02"),
    "auth-service": ("auth-01",),
    "payment-service": ("pay-01", "pay-02"),
    "order-service": ("ord-01", "ord-02"),
    "inventory-service": ("inv-01",),
    "notification-service": ("notif-01",),
}

_SERVICE_NAMES = tuple(SERVICES)
Fill = Callable[[random.Random], str]
_T = TypeVar("_T")


def _n(r: random.Random, low: int, high: int) -> int:
    """`randint` without its overhead: this runs millions of times when the bench writes its file."""
    return low + int(r.random() * (high - low + 1))


def _pick(r: random.Random, items: Sequence[_T]) -> _T:
    return items[int(r.random() * len(items))]


def _uuid(r: random.Random) -> str:
    h = f"{r.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ip(r: random.Random) -> str:
    return f"10.0.{_n(r, 1, 9)}.{_n(r, 2, 250)}"


_INFO: dict[str, tuple[Fill, ...]] = {
    "api-gateway": (
        lambda r: f"GET /api/v1/orders/{_n(r, 1000, 99999)} 200 {_n(r, 3, 180)}ms",
        lambda r: f"POST /api/v1/payments 201 {_n(r, 20, 400)}ms",
        lambda r: f"Routing request {_uuid(r)} to order-service",
    ),
    "auth-service": (
        lambda r: f"User {_n(r, 1, 50000)} authenticated via password",
        lambda r: f"Issued access token for client {r.getrandbits(32):08x}, ttl=3600s",
    ),
    "payment-service": (
        lambda r: f"Payment {_n(r, 10**6, 10**7)} authorised amount={_n(r, 5, 900)}.{_n(r, 0, 99):02d} EUR",
        lambda r: f"Charge ch_{r.getrandbits(48):012x} captured in {_n(r, 40, 900)}ms",
    ),
    "order-service": (
        lambda r: f"Order {_n(r, 10**5, 10**6)} created for customer {_n(r, 1, 50000)}",
        lambda r: f"Order {_n(r, 10**5, 10**6)} status changed PENDING -> CONFIRMED",
    ),
    "inventory-service": (
        lambda r: f"Reserved {_n(r, 1, 9)} units of SKU-{_n(r, 1000, 9999)} for order {_n(r, 10**5, 10**6)}",
        lambda r: f"Stock level for SKU-{_n(r, 1000, 9999)} is {_n(r, 0, 500)}",
    ),
    "notification-service": (
        lambda r: f"Email sent to user {_n(r, 1, 50000)} template=order_confirmation",
        lambda r: f"Push notification queued for device {r.getrandbits(64):016x}",
    ),
}
_DEBUG: tuple[Fill, ...] = (
    lambda r: f"Cache hit for key session:{r.getrandbits(32):08x}",
    lambda r: f"SQL query took {_n(r, 1, 40)}ms: SELECT * FROM orders WHERE id = {_n(r, 10**5, 10**6)}",
)
_WARN: tuple[Fill, ...] = (
    lambda r: f"Slow query detected: {_n(r, 1000, 4000)}ms on table orders",
    lambda r: f"Retrying request to {_ip(r)}:8080 (attempt 2/3)",
    lambda r: f"Rate limit approaching for client {r.getrandbits(32):08x}: 85% of quota used",
)
_ERROR: tuple[Fill, ...] = (
    lambda r: f"Validation failed for order {_n(r, 10**5, 10**6)}: field 'quantity' must be positive",
    lambda r: f"Failed to send email to user {_n(r, 1, 50000)}: SMTP 451 temporary failure",
)


@dataclass(frozen=True)
class Incident:
    """An incident: extra records of one kind, in a window given as fractions of the time span.

    `weight` is the incident's share of traffic per minute relative to the baseline (1.0): 0.6 means
    that while it lasts, 6 of every 16 records in that minute belong to it. With `peak`, the weight
    rises linearly from `weight` at the start to `peak` at the end (errors getting worse).
    """

    kind: str
    service: str
    hosts: tuple[str, ...]
    start: float
    end: float
    weight: float
    level: str
    fills: tuple[Fill, ...]
    peak: float | None = None

    def active(self, at: float) -> bool:
        return self.start <= at < self.end

    def share(self, at: float) -> float:
        """The weight at `at` (a fraction of the span)."""
        if self.peak is None:
            return self.weight
        return self.weight + (self.peak - self.weight) * (at - self.start) / (self.end - self.start)


_POOL_EXHAUSTED: tuple[Fill, ...] = (
    lambda r: (
        f"HikariPool-1 - Connection is not available, request timed out after {_pick(r, (30000, 30001, 30002))}ms"
    ),
    lambda r: f"Connection pool exhausted: 50/50 connections in use, {_n(r, 5, 60)} requests waiting",
)
_GATEWAY_TIMEOUT: tuple[Fill, ...] = (
    lambda r: (
        f"upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: http://{_ip(r)}:8080/api/v1/payments"
    ),
    lambda r: (
        f"HTTP 504 Gateway Timeout for POST /api/v1/orders/{_n(r, 1000, 99999)} (upstream payment-service, {_n(r, 30000, 30100)} ms)"
    ),
)

INCIDENTS: tuple[Incident, ...] = (
    # resolved earlier: a 5xx burst in order-service
    Incident(
        "http_5xx_burst",
        "order-service",
        ("ord-01", "ord-02"),
        0.20,
        0.24,
        0.60,
        "ERROR",
        (
            lambda r: f"HTTP 500 Internal Server Error on POST /api/v1/orders (request_id={_uuid(r)})",
            lambda r: f"HTTP 503 Service Unavailable: /api/v1/orders/{_n(r, 1000, 99999)}/items",
        ),
    ),
    # resolved earlier: inventory-service killed for memory
    Incident(
        "oom_kill",
        "inventory-service",
        ("inv-01",),
        0.50,
        0.52,
        0.15,
        "ERROR",
        (
            lambda r: (
                f"Container inventory-service killed: OOMKilled (memory limit 512Mi exceeded, rss={_n(r, 513, 560)}Mi)"
            ),
            lambda r: "java.lang.OutOfMemoryError: Java heap space",
        ),
    ),
    # in progress at the end of the span: the early warning, the root cause, the cascade
    Incident(
        "pool_pressure",
        "payment-service",
        ("pay-02",),
        0.72,
        0.85,
        0.06,
        "WARN",
        (lambda r: f"Connection pool usage at {_n(r, 88, 98)}% ({_n(r, 44, 49)}/50 connections in use)",),
    ),
    Incident(
        "connection_pool_exhausted",
        "payment-service",
        ("pay-02", "pay-01"),
        0.82,
        1.0,
        0.10,
        "ERROR",
        _POOL_EXHAUSTED,
        peak=0.55,
    ),
    Incident(
        "upstream_timeout",
        "api-gateway",
        ("gw-01", "gw-02"),
        0.86,
        1.0,
        0.05,
        "ERROR",
        _GATEWAY_TIMEOUT,
        peak=0.40,
    ),
    Incident(
        "cert_expiry",
        "auth-service",
        ("auth-01",),
        0.0,
        1.0,
        0.004,
        "WARN",
        (lambda r: "TLS certificate for auth.internal.example.com expires in 6 days (2026-03-20T00:00:00Z)",),
    ),
)
ONGOING = ("connection_pool_exhausted", "upstream_timeout")
"""The incidents still in progress at the end of the span (the root cause first)."""


def _minute_counts(records: int, minutes: int) -> list[int]:
    """Split `records` over the minutes in proportion to each minute's traffic weight."""
    weights = [
        1.0 + sum(i.share(m / minutes) for i in INCIDENTS if i.active(m / minutes)) for m in range(minutes)
    ]
    total = sum(weights)
    raw = [records * w / total for w in weights]
    counts = [int(x) for x in raw]
    by_remainder = sorted(range(minutes), key=lambda m: raw[m] - counts[m], reverse=True)
    for m in by_remainder[: records - sum(counts)]:
        counts[m] += 1
    return counts


def _baseline(r: random.Random) -> tuple[str, str, str, str]:
    service = _pick(r, _SERVICE_NAMES)
    roll = r.random()
    if roll < 0.85:
        level, fills = "INFO", _INFO[service]
    elif roll < 0.95:
        level, fills = "DEBUG", _DEBUG
    elif roll < 0.99:
        level, fills = "WARN", _WARN
    else:
        level, fills = "ERROR", _ERROR
    return level, service, _pick(r, SERVICES[service]), _pick(r, fills)(r)


def _one(r: random.Random, active: list[tuple[Incident, float]], weight: float) -> tuple[str, str, str, str]:
    pick = r.random() * weight
    for incident, share in active:
        if pick < share:
            return incident.level, incident.service, _pick(r, incident.hosts), _pick(r, incident.fills)(r)
        pick -= share
    return _baseline(r)


def generate(
    records: int = 2000, *, seed: int = 42, start: datetime = DEFAULT_START, minutes: int = 60
) -> Iterator[dict[str, Any]]:
    """Yield `records` log records in time order, spread over `minutes` minutes from `start`.

    Each record has `timestamp` (ISO 8601 UTC, milliseconds), `level`, `service`, `host`,
    `message` and `trace_id`.
    """
    if records < 0 or minutes < 1:
        raise ValueError("records must be >= 0 and minutes >= 1")
    r = random.Random(seed)
    base = start.astimezone(timezone.utc).replace(second=0, microsecond=0)
    for m, count in enumerate(_minute_counts(records, minutes)):
        active = [(i, i.share(m / minutes)) for i in INCIDENTS if i.active(m / minutes)]
        weight = 1.0 + sum(share for _, share in active)
        prefix = (base + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M")
        rand = r.random
        offsets = sorted(int(rand() * 60_000) for _ in range(count))
        for ms in offsets:
            level, service, host, message = _one(r, active, weight)
            yield {
                "timestamp": f"{prefix}:{ms // 1000:02d}.{ms % 1000:03d}Z",
                "level": level,
                "service": service,
                "host": host,
                "message": message,
                "trace_id": f"{r.getrandbits(64):016x}",
            }


def _dumps() -> Callable[[dict[str, Any]], bytes]:
    try:
        import orjson

        return orjson.dumps
    except ImportError:  # pragma: no cover - orjson is a dependency, but stay usable without it
        return lambda obj: json.dumps(obj, separators=(",", ":")).encode()


def write_jsonl(
    path: str | Path, records: int, *, seed: int = 42, start: datetime = DEFAULT_START, minutes: int = 60
) -> int:
    """Stream `records` generated records to `path` as JSON Lines; return the bytes written."""
    dumps = _dumps()
    written = 0
    with open(path, "wb", buffering=1 << 20) as out:
        batch: list[bytes] = []
        for record in generate(records, seed=seed, start=start, minutes=minutes):
            batch.append(dumps(record))
            if len(batch) >= 10_000:
                written += out.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            written += out.write(b"\n".join(batch) + b"\n")
    return written
