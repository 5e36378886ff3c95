"""The demo log API over real HTTP on 127.0.0.1: pagination, filters, Loki shape, hooks, CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from conjure_nb.testing._demo_generator import generate
from conjure_nb.testing._demo_server import DemoLogServer


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            kind = response.headers.get("Content-Type", "")
            return (
                response.status,
                json.loads(body) if "json" in kind and "ndjson" not in kind else body,
                dict(response.headers),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def test_generator_is_deterministic_and_has_the_incidents() -> None:
    first, again, other = (
        list(generate(3000, seed=42)),
        list(generate(3000, seed=42)),
        list(generate(3000, seed=7)),
    )
    assert first == again and first != other
    assert [r["timestamp"] for r in first] == sorted(r["timestamp"] for r in first)
    messages = " ".join(r["message"] for r in generate(10_000, seed=42))
    for needle in ("Connection pool exhausted", "upstream timed out", "HTTP 503", "OOMKilled", "certificate"):
        assert needle in messages
    assert len({r["service"] for r in first}) == 6 and len({r["host"] for r in first}) == 9


def test_health_and_unknown_paths(server: DemoLogServer) -> None:
    assert get(f"{server.url}/health")[:2] == (200, {"status": "ok", "records": 1500})
    status, body, _ = get(f"{server.url}/nope")
    assert status == 404 and "/api/logs" in body["error"]


def test_cursor_pagination_returns_every_record_once(server: DemoLogServer) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = urllib.parse.urlencode(
            {"limit": 400, "direction": "forward", **({"cursor": cursor} if cursor else {})}
        )
        status, body, _ = get(f"{server.logs_url}?{query}")
        assert status == 200 and body["count"] == len(body["logs"]) <= 400 and body["direction"] == "forward"
        seen += body["logs"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 1500
    assert seen == server.store.records


def test_filters_and_time_window(server: DemoLogServer) -> None:
    records = server.store.records
    status, body, _ = get(f"{server.logs_url}?limit=1000&level=error,WARN&service=payment-service")
    expected = [r for r in records if r["level"] in ("ERROR", "WARN") and r["service"] == "payment-service"]
    assert status == 200 and body["logs"] == expected[::-1][:1000] and body["next_cursor"] is None
    assert body["total"] == len(expected)  # the first page says how many match in all
    since, until = "2026-03-14T09:24:00Z", "2026-03-14T09:30:00Z"
    _, window, _ = get(
        f"{server.logs_url}?limit=1000&since={since}&until={until}&host=pay-02&direction=forward"
    )
    assert window["logs"] == [r for r in records if since <= r["timestamp"] < until and r["host"] == "pay-02"]


def test_json_lines_format(server: DemoLogServer) -> None:
    status, body, headers = get(f"{server.logs_url}?limit=5&format=jsonl")
    assert status == 200 and headers["Content-Type"] == "application/x-ndjson"
    assert [json.loads(line) for line in body.splitlines()] == server.store.records[::-1][:5]
    assert headers["X-Next-Cursor"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "limit must be a positive integer"),
        ("limit=abc", "limit must be"),
        ("cursor=%21%21", "invalid cursor"),
        ("since=yesterday", "cannot read time"),
        ("format=xml", "format must be json or jsonl"),
    ],
)
def test_bad_parameters_are_400(server: DemoLogServer, query: str, fragment: str) -> None:
    status, body, _ = get(f"{server.logs_url}?{query}")
    assert status == 400 and fragment in body["error"]


def test_loki_query_range_shape_and_filters(server: DemoLogServer) -> None:
    query = urllib.parse.urlencode(
        {
            "query": '{service="payment-service", level=~"error|warn"} |= "pool"',
            "limit": 5000,
            "direction": "forward",
        }
    )
    status, body, _ = get(f"{server.loki_url}?{query}")
    assert status == 200 and body["status"] == "success" and body["data"]["resultType"] == "streams"
    values = [(s["stream"], v) for s in body["data"]["result"] for v in s["values"]]
    expected = [
        r
        for r in server.store.records
        if r["service"] == "payment-service" and r["level"] in ("ERROR", "WARN") and "pool" in json.dumps(r)
    ]
    assert len(values) == len(expected) > 0
    for labels, (ns, line) in values:
        assert labels["service"] == "payment-service" and labels["level"] in ("error", "warn")
        assert ns.isdigit() and len(ns) == 19 and "pool" in line
    backward = json.loads(
        urllib.request.urlopen(f"{server.loki_url}?query=%7Bhost%3D%22gw-01%22%7D&limit=3").read()
    )
    stamps = [int(v[0]) for s in backward["data"]["result"] for v in s["values"]]
    newest = sorted((r for r in server.store.records if r["host"] == "gw-01"), key=lambda r: r["timestamp"])[
        -3:
    ]
    assert len(stamps) == 3 and min(stamps) >= server.store.nanos[server.store.records.index(newest[0])]


@pytest.mark.parametrize("query", ["service=x", "{}", '{service="x"} | json', '{service=~"("}'])
def test_bad_loki_queries_are_400(server: DemoLogServer, query: str) -> None:
    status, body, _ = get(f"{server.loki_url}?{urllib.parse.urlencode({'query': query})}")
    assert status == 400 and body["error"].startswith("parse error")


def test_token_and_failure_hooks() -> None:
    with DemoLogServer(records=20, token="s3cret", fail_first=1) as live:
        assert get(f"{live.url}/health")[0] == 500  # the first request fails on purpose
        assert get(f"{live.url}/health")[0] == 401
        assert get(f"{live.url}/health", {"Authorization": "Bearer s3cret"})[0] == 200
        assert get(f"{live.url}/health?_status=503", {"Authorization": "Bearer s3cret"})[0] == 503
        live.fail_always = True
        assert get(f"{live.url}/health", {"Authorization": "Bearer s3cret"})[0] == 500
        assert live.requests == 5


def test_server_stops_and_releases_the_port() -> None:
    live = DemoLogServer(records=10).start()
    url = live.url
    live.stop()
    live.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/health", timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = live.url


@contextlib.contextmanager
def demo_serve() -> Iterator[subprocess.Popen[str]]:
    """`conjure-nb demo serve` on a free port, killed at the end if a test left it running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "conjure_nb", "demo", "serve", "--port", "0", "--records", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("demo log API on http://127.0.0.1:")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_cli_demo_serve_runs_until_interrupted() -> None:
    with demo_serve() as proc:
        assert proc.stdout is not None
        url = next(line.split(": ", 1)[1] for line in proc.stdout if line.startswith("  health:")).strip()
        assert json.loads(urllib.request.urlopen(url, timeout=5).read())["records"] == 50
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0 and "stopped" in out


def test_cli_demo_serve_stops_cleanly_when_interrupted_while_it_starts() -> None:
    # Ctrl-C right after the address is printed, while the rest of the banner is still being written
    with demo_serve() as proc:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert (proc.returncode, out.splitlines()[-1:], err) == (0, ["stopped"], "")


def test_cli_demo_serve_reports_a_busy_port(server: DemoLogServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, "-m", "conjure_nb", "demo", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert done.returncode == 1 and "try --port 0" in done.stderr
    assert Counter(done.stdout.splitlines()) == Counter()


# --- issue 15 item 13: every bad parameter is a 400 with a JSON error -------------------------------


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=%C2%B2", "limit must be a positive integer"),  # '²' passes str.isdigit()
        ("limit=" + "9" * 5000, "at most 9 digits"),
        ("since=1e400", "out of range"),
        ("until=inf", "out of range"),
        ("since=nan", "out of range"),
        ("_delay=abc", "_delay must be seconds"),
        ("_delay=1e9", "_delay must be seconds"),
        ("_status=5xx", "_status must be a 5xx"),
        ("_status=200", "_status must be a 5xx"),
        ("direction=sideways", "direction must be forward or backward"),
    ],
)
def test_hostile_parameters_get_a_json_400(server: DemoLogServer, query: str, fragment: str) -> None:
    status, body, headers = get(f"{server.logs_url}?{query}")
    assert status == 400 and fragment in body["error"] and headers["Content-Type"] == "application/json"
    status, body, _ = get(
        f"{server.loki_url}?query=%7Bhost%3D%22gw-01%22%7D&{query.replace('since', 'start').replace('until', 'end')}"
    )
    assert status == 400 and "error" in body


@pytest.mark.parametrize(
    "regex", ["(.*){2}Q", "(a|aa)*Q", r"(\\w+\\s?)*Q", ".*.*.*Q", "x" * 300, "(?(1)a|b)"]
)
def test_backtracking_regexes_are_refused(server: DemoLogServer, regex: str) -> None:
    query = urllib.parse.urlencode({"query": f'{{service=~".+"}} |~ "{regex}"', "limit": 5000})
    status, body, _ = get(f"{server.loki_url}?{query}")
    assert status == 400 and body["error"].startswith("parse error")


def test_ordinary_regexes_still_work(server: DemoLogServer) -> None:
    query = urllib.parse.urlencode(
        {"query": '{service=~"pay.*|ord.*"} |~ "(?i)pool.*(exhausted|usage)"', "limit": 5000}
    )
    status, body, _ = get(f"{server.loki_url}?{query}")
    lines = [v[1] for s in body["data"]["result"] for v in s["values"]]
    assert status == 200 and lines and all("pool" in line.lower() for line in lines)


def test_a_half_sent_request_is_dropped() -> None:
    import socket

    with DemoLogServer(records=5, read_timeout=0.5) as live:
        host, port = live.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # no blank line: never finished
            assert sock.recv(1024) == b""  # the server hung up instead of waiting forever
        assert get(f"{live.url}/health")[0] == 200  # and it still serves others


# --- issue 13: newest first, and data that ends now --------------------------------------------------


def test_the_api_serves_newest_first_by_default_and_says_how_many_match(server: DemoLogServer) -> None:
    status, body, _ = get(f"{server.logs_url}?limit=5")
    assert status == 200 and body["direction"] == "backward"
    assert body["logs"] == server.store.records[::-1][:5] and body["total"] == 1500
    cursor = body["next_cursor"]
    _, more, _ = get(f"{server.logs_url}?limit=5&cursor={cursor}")
    assert more["logs"] == server.store.records[::-1][5:10] and "total" not in more  # only the first page
    _, oldest, _ = get(f"{server.logs_url}?limit=5&direction=forward")
    assert oldest["logs"] == server.store.records[:5] and oldest["direction"] == "forward"


def test_backward_pages_run_newest_first_and_cover_everything(server: DemoLogServer) -> None:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 400, "direction": "backward", **({"cursor": cursor} if cursor else {})}
        status, body, _ = get(f"{server.logs_url}?{urllib.parse.urlencode(query)}")
        assert status == 200 and body["direction"] == "backward"
        seen += body["logs"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == server.store.records[::-1]
    _, body, _ = get(f"{server.logs_url}?limit=3&direction=backward&level=ERROR&until=2026-03-14T09:30:00Z")
    errors = [
        r for r in server.store.records if r["level"] == "ERROR" and r["timestamp"] < "2026-03-14T09:30"
    ]
    assert body["logs"] == errors[::-1][:3]
    status, body, _ = get(
        f"{server.logs_url}?limit=3&direction=forward&cursor={body['next_cursor']}"
    )  # forward with a backward cursor
    assert status == 400 and "same direction" in body["error"]


def test_demo_data_ends_now_and_is_pinned_by_now() -> None:
    from datetime import datetime, timedelta, timezone

    before = datetime.now(timezone.utc)
    with DemoLogServer(records=600, seed=3) as live:
        last = datetime.fromisoformat(live.store.records[-1]["timestamp"].replace("Z", "+00:00"))
        first = datetime.fromisoformat(live.store.records[0]["timestamp"].replace("Z", "+00:00"))
    assert before - timedelta(minutes=2) < last <= datetime.now(timezone.utc)
    assert last - first > timedelta(minutes=55)
    pinned = datetime(2026, 5, 1, 12, 30, 40, tzinfo=timezone.utc)
    one, two = (DemoLogServer(records=300, seed=3, now=pinned) for _ in range(2))
    assert one.store.records == two.store.records
    assert one.store.records[0]["timestamp"].startswith("2026-05-01T11:30")
    assert one.store.records[-1]["timestamp"] < "2026-05-01T12:30"
    messages = [r["message"] for r in one.store.records]
    assert messages == [r["message"] for r in DemoLogServer(records=300, seed=3).store.records]
