"""Deterministic, realistic application logs with injected incidents, for the demo log API.

Six services on eight hosts log ordinary traffic; on top of that the generator injects the incidents
a monitoring agent should find: database connection-pool exhaustion in `payment-service`, upstream
timeouts at the `api-gateway` (the cascade), a 5xx burst in `order-service`, OOM kills in
`inventory-service` and recurring certificate-expiry warnings from `auth-service`.

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

__all__ = ["DEFAULT_START", "INCIDENTS", "SERVICES", "Incident", "generate", "write_jsonl"]

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
    that while it lasts, 6 of every 16 records in that minute belong to it.
    """

    kind: str
    service: str
    hosts: tuple[str, ...]
    start: float
    end: float
    weight: float
    level: str
    fills: tuple[Fill, ...]


INCIDENTS: tuple[Incident, ...] = (
    Incident(
        "pool_pressure",
        "payment-service",
        ("pay-02",),
        0.33,
        0.40,
        0.05,
        "WARN",
        (lambda r: f"Connection pool usage at {_n(r, 88, 98)}% ({_n(r, 44, 49)}/50 connections in use)",),
    ),
    Incident(
        "connection_pool_exhausted",
        "payment-service",
        ("pay-02", "pay-01"),
        0.40,
        0.48,
        0.25,
        "ERROR",
        (
            lambda r: (
                f"HikariPool-1 - Connection is not available, request timed out after {_pick(r, (30000, 30001, 30002))}ms"
            ),
            lambda r: f"Connection pool exhausted: 50/50 connections in use, {_n(r, 5, 60)} requests waiting",
        ),
    ),
    Incident(
        "upstream_timeout",
        "api-gateway",
        ("gw-01", "gw-02"),
        0.41,
        0.50,
        0.20,
        "ERROR",
        (
            lambda r: (
                f"upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: http://{_ip(r)}:8080/api/v1/payments"
            ),
            lambda r: (
                f"HTTP 504 Gateway Timeout for POST /api/v1/orders/{_n(r, 1000, 99999)} (upstream payment-service, {_n(r, 30000, 30100)} ms)"
            ),
        ),
    ),
    Incident(
        "http_5xx_burst",
        "order-service",
        ("ord-01", "ord-02"),
        0.70,
        0.73,
        0.60,
        "ERROR",
        (
            lambda r: f"HTTP 500 Internal Server Error on POST /api/v1/orders (request_id={_uuid(r)})",
            lambda r: f"HTTP 503 Service Unavailable: /api/v1/orders/{_n(r, 1000, 99999)}/items",
        ),
    ),
    Incident(
        "oom_kill",
        "inventory-service",
        ("inv-01",),
        0.85,
        0.87,
        0.05,
        "ERROR",
        (
            lambda r: (
                f"Container inventory-service killed: OOMKilled (memory limit 512Mi exceeded, rss={_n(r, 513, 560)}Mi)"
            ),
            lambda r: "java.lang.OutOfMemoryError: Java heap space",
        ),
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


def _minute_counts(records: int, minutes: int) -> list[int]:
    """Split `records` over the minutes in proportion to each minute's traffic weight."""
    weights = [
        1.0 + sum(i.weight for i in INCIDENTS if i.start <= m / minutes < i.end) for m in range(minutes)
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


def _one(r: random.Random, active: list[Incident], weight: float) -> tuple[str, str, str, str]:
    pick = r.random() * weight
    for incident in active:
        if pick < incident.weight:
            return incident.level, incident.service, _pick(r, incident.hosts), _pick(r, incident.fills)(r)
        pick -= incident.weight
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
        active = [i for i in INCIDENTS if i.start <= m / minutes < i.end]
        weight = 1.0 + sum(i.weight for i in active)
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
