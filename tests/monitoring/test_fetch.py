"""fetch_logs.py and the LogFetcher native skill against the demo API over real HTTP."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.testing._demo_server import DemoLogServer
from conjure_nb.testing._serve import serve_in_thread

from .conftest import ANALYZER, run_script

FETCH = ANALYZER / "fetch_logs.py"
FAST = ("--backoff", "0.01")


def fetch(*args: str, env: dict[str, str] | None = None, code: int = 0) -> tuple[list[dict[str, Any]], str]:
    done = run_script(FETCH, *args, env=env)
    assert done.returncode == code, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def expected(server: DemoLogServer, **where: set[str]) -> list[dict[str, Any]]:
    return [r for r in server.store.records if all(r[k] in v for k, v in where.items())]


# --- fetch_logs.py -----------------------------------------------------------------------------


def test_script_pages_through_the_json_api(server: DemoLogServer) -> None:
    before = server.requests
    records, stderr = fetch(server.logs_url, "--limit", "1000", "--page-size", "300")
    assert records == server.store.records[-1000:]  # the newest 1,000, in time order
    assert server.requests - before == 4
    summary = json.loads(stderr.strip().splitlines()[-1].split(": ", 1)[1])
    assert summary == {**summary, "records": 1000, "pages": 4, "retries": 0, "api": "json"}
    assert summary["first_timestamp"] == server.store.records[-1000]["timestamp"]
    assert summary["last_timestamp"] == server.store.records[-1]["timestamp"]
    assert summary["more_available"] is True and summary["query"]["order"] == "newest first"
    oldest, _ = fetch(server.logs_url, "--limit", "1000", "--page-size", "300", "--oldest-first")
    assert oldest == server.store.records[:1000]


def test_script_filters_and_writes_a_file(server: DemoLogServer, tmp_path: Path) -> None:
    out = tmp_path / "errors.jsonl"
    records, _ = fetch(
        server.logs_url,
        "--level",
        "ERROR",
        "--service",
        "payment-service,api-gateway",
        "--limit",
        "5000",
        "-o",
        str(out),
        "--quiet",
    )
    assert records == []
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == expected(server, level={"ERROR"}, service={"payment-service", "api-gateway"})
    window, _ = fetch(
        server.logs_url, "--since", "2026-03-14T09:40:00Z", "--until", "1773481500", "--limit", "5000"
    )
    assert window and all("2026-03-14T09:40:00" <= r["timestamp"] < "2026-03-14T09:45:00" for r in window)


def test_script_speaks_loki(server: DemoLogServer) -> None:
    records, stderr = fetch(
        server.url,
        "--api",
        "loki",
        "--service",
        "order-service",
        "--level",
        "error",
        "--limit",
        "5000",
        "--page-size",
        "50",
    )
    wanted = expected(server, service={"order-service"}, level={"ERROR"})
    assert [r["trace_id"] for r in records] == [r["trace_id"] for r in wanted]  # all of them, in order
    assert records[0]["timestamp"] == wanted[0]["timestamp"] and records[0]["level"] == "ERROR"
    assert '"api": "loki"' in stderr
    raw, _ = fetch(f"{server.loki_url}", "--query", '{host="pay-02"} |= "Connection pool"', "--limit", "100")
    assert raw and all("Connection pool" in r["message"] and r["host"] == "pay-02" for r in raw)


def test_script_retries_500s_then_succeeds(tmp_path: Path) -> None:
    with DemoLogServer(records=30, fail_first=2) as live:
        records, stderr = fetch(live.logs_url, *FAST)
        assert len(records) == 30 and live.requests == 3
        assert stderr.count("HTTP 500; retry") == 2


def test_script_gives_up_on_a_server_that_keeps_failing() -> None:
    with DemoLogServer(records=30, fail_always=True) as live:
        _, stderr = fetch(live.logs_url, *FAST, "--retries", "2", code=1)
        assert live.requests == 3
        assert "HTTP 500 (after 3 attempts)" in stderr


def test_script_times_out_on_a_slow_api() -> None:
    with DemoLogServer(records=30, delay=2.0) as live:
        _, stderr = fetch(live.logs_url, *FAST, "--retries", "1", "--timeout", "0.3", code=1)
        assert "timed out after 0.3 s (after 2 attempts)" in stderr


def test_script_reports_an_unreachable_api(closed_port: int) -> None:
    _, stderr = fetch(f"http://127.0.0.1:{closed_port}/api/logs", *FAST, "--retries", "1", code=1)
    assert "cannot connect" in stderr and "after 2 attempts" in stderr


def test_script_reads_the_token_from_the_environment() -> None:
    with DemoLogServer(records=10, token="t0ken") as live:
        _, stderr = fetch(live.logs_url, code=1)
        assert "HTTP 401" in stderr and "LOG_API_TOKEN" in stderr
        env = {**os.environ, "MY_TOKEN": "t0ken"}
        records, _ = fetch(live.logs_url, "--token-env", "MY_TOKEN", env=env)
        assert len(records) == 10


def test_script_empty_result_and_usage_errors(server: DemoLogServer) -> None:
    records, _ = fetch(server.logs_url, "--service", "no-such-service")
    assert records == []
    assert run_script(FETCH).returncode == 2
    assert run_script(FETCH, server.logs_url, "--limit", "0").returncode == 2
    _, stderr = fetch(server.logs_url, "--since", "last tuesday", code=1)
    assert "cannot read time" in stderr
    _, stderr = fetch(f"{server.url}/health", code=1)
    assert "no list of logs" in stderr


# --- LogFetcher (native skill) ----------------------------------------------------------------------


@pytest.fixture
def context(tmp_path: Path) -> cj.Context:
    return cj.Context(session_id="test", working_dir=tmp_path)


def test_fetcher_returns_records(server: DemoLogServer, context: cj.Context) -> None:
    fetcher = cj.LogFetcher()
    records = json.loads(fetcher.execute(f"fetch {server.logs_url} --limit 50 --level WARN", context))
    assert records == expected(server, level={"WARN"})[-50:]
    first = fetcher.execute(f"fetch {server.logs_url} --limit 50 --level WARN --oldest-first", context)
    assert json.loads(first) == expected(server, level={"WARN"})[:50]
    assert fetcher.name == "log-fetcher" and "fetch <url>" in fetcher.description


def test_fetcher_writes_jsonl_in_the_working_dir(server: DemoLogServer, context: cj.Context) -> None:
    summary = json.loads(
        cj.LogFetcher().execute(f"fetch {server.url} --api loki --limit 400 --out logs/app.jsonl", context)
    )
    path = context.working_dir / "logs" / "app.jsonl"
    assert summary["file"] == "logs/app.jsonl" and summary["path"] == str(path.resolve())
    assert summary["records"] == 400 == len(path.read_text().splitlines())
    assert sum(summary["levels"].values()) == 400 and summary["api"] == "loki"
    assert summary["first_timestamp"] == server.store.records[-400]["timestamp"]
    # Loki orders records of the same nanosecond by their line (the demo data has such ties)
    newest = sorted(
        server.store.records[-400:], key=lambda r: (r["timestamp"], json.dumps(r, separators=(",", ":")))
    )
    assert [json.loads(line) for line in path.read_text().splitlines()] == newest
    beside = json.loads((context.working_dir / "logs" / "app.jsonl.fetch.json").read_text())
    assert beside["query"]["url"] == server.url and beside["records"] == 400


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("", "empty command"),
        ("list logs", "unknown command 'list'"),
        ("fetch", "required: url"),
        ("fetch ftp://x", "must start with http"),
        ("fetch http://x --limit ten", "invalid int value"),
        ("fetch http://x --bogus", "unrecognized arguments"),
        ("fetch 'http://x", "No closing quotation"),
        ("fetch http://x --out /etc/passwd", "inside the working directory"),
    ],
)
def test_fetcher_usage_errors(command: str, fragment: str, context: cj.Context) -> None:
    with pytest.raises(cj.ToolError, match=r"usage: fetch|inside the working") as caught:
        cj.LogFetcher().execute(command, context)
    assert fragment in str(caught.value)


def test_fetcher_retries_timeouts_and_failures(context: cj.Context, closed_port: int) -> None:
    fetcher = cj.LogFetcher(backoff=0.01, retries=2, timeout=0.5)
    with DemoLogServer(records=5, fail_first=2) as live:
        assert len(json.loads(fetcher.execute(f"fetch {live.logs_url}", context))) == 5
        live.fail_always = True
        with pytest.raises(cj.ToolError, match=r"HTTP 500 \(after 3 attempts\)"):
            fetcher.execute(f"fetch {live.logs_url}", context)
        live.fail_always, live.delay = False, 2.0
        with pytest.raises(cj.ToolError, match=r"timed out after 0\.5 s"):
            fetcher.execute(f"fetch {live.logs_url}", context)
    with pytest.raises(cj.ToolError, match="cannot connect"):
        fetcher.execute(f"fetch http://127.0.0.1:{closed_port}/api/logs", context)


def test_fetcher_token_from_the_session_env(tmp_path: Path) -> None:
    with DemoLogServer(records=5, token="abc") as live:
        with pytest.raises(cj.ToolError, match="HTTP 401"):
            cj.LogFetcher().execute(
                f"fetch {live.logs_url}", cj.Context(session_id="s", working_dir=tmp_path)
            )
        ctx = cj.Context(session_id="s", working_dir=tmp_path, env={"LOG_API_TOKEN": "abc"})
        assert len(json.loads(cj.LogFetcher().execute(f"fetch {live.logs_url}", ctx))) == 5


def test_fetcher_in_a_native_session(server: DemoLogServer) -> None:
    with cj.Session.new_native([cj.LogFetcher()]) as session:
        good = session.run_tool("log_fetcher_execute", command=f"fetch {server.logs_url} --limit 3")
        assert not good.is_error and len(json.loads(good.content)) == 3
        assert good.dataframe is not None and list(good.dataframe["service"]) == [
            r["service"] for r in server.store.records[-3:]
        ]
        bad = session.run_tool("log_fetcher_execute", command="fetch")
        assert bad.is_error and "usage: fetch" in bad.content
        help_text = session.run_tool("log_fetcher_execute", command="help")
        assert not help_text.is_error and help_text.content.startswith("usage: fetch")


def test_an_empty_log_set_is_not_an_error(tmp_path: Path) -> None:
    with DemoLogServer(records=0) as empty:
        records, stderr = fetch(empty.logs_url)
        assert records == [] and '"records": 0' in stderr
        loki, _ = fetch(empty.url, "--api", "loki")
        assert loki == []
        context = cj.Context(session_id="s", working_dir=tmp_path)
        assert json.loads(cj.LogFetcher().execute(f"fetch {empty.logs_url}", context)) == []
        summary = json.loads(
            cj.LogFetcher().execute(f"fetch {empty.url} --api loki --out none.jsonl", context)
        )
        assert summary["records"] == 0 and summary["first_timestamp"] is None
        assert (tmp_path / "none.jsonl").read_text() == ""


def test_extra_headers_reach_the_api(server: DemoLogServer, tmp_path: Path) -> None:
    fetch(server.url, "--api", "loki", "--limit", "1", "--header", "X-Scope-OrgID: tenant-1")
    assert server.last_headers["x-scope-orgid"] == "tenant-1"
    assert run_script(FETCH, server.logs_url, "--header", "no-colon").returncode == 2
    fetcher = cj.LogFetcher(headers={"X-Scope-OrgID": "tenant-2"})
    fetcher.execute(f"fetch {server.logs_url} --limit 1", cj.Context(session_id="s", working_dir=tmp_path))
    assert server.last_headers["x-scope-orgid"] == "tenant-2"


def test_fetcher_gives_up_before_the_tool_call_times_out(tmp_path: Path) -> None:
    """With a 2 s tool timeout, a 1 s request timeout and 1 s backoff leave no room for a retry."""
    fetcher = cj.LogFetcher(backoff=1.0, retries=5, timeout=1.0)
    context = cj.Context(session_id="s", working_dir=tmp_path, timeout=2.0)
    with DemoLogServer(records=5, fail_always=True) as live:
        with pytest.raises(cj.ToolError, match="no time left for another"):
            fetcher.execute(f"fetch {live.logs_url}", context)
        assert live.requests == 1


# --- issue 13: the newest records, relative ranges; issue 8 item 9: one implementation -----------------


def _after(records: list[dict[str, Any]], moment: Any) -> list[dict[str, Any]]:
    from datetime import timezone

    stamp = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return [r for r in records if r["timestamp"] >= stamp]


@pytest.mark.parametrize("api", ["json", "loki"])
def test_relative_ranges_find_the_demo_data(api: str, tmp_path: Path) -> None:
    """The demo data ends now, so --since 15m is the last quarter hour of it (script and native)."""
    from datetime import datetime, timedelta, timezone

    with DemoLogServer(records=1200, seed=9) as live:
        url = live.logs_url if api == "json" else live.url
        before = datetime.now(timezone.utc) - timedelta(minutes=15)
        records, _ = fetch(url, "--api", api, "--since", "15m", "--limit", "5000", "--page-size", "70")
        context = cj.Context(session_id="s", working_dir=tmp_path)
        native = json.loads(
            cj.LogFetcher().execute(f"fetch {url} --api {api} --since 15m --limit 5000", context)
        )
        after = datetime.now(timezone.utc) - timedelta(minutes=15)
    for got in (records, native):
        assert got and len(got) < len(live.store.records) / 2
        assert _after(live.store.records, after) == got[-len(_after(live.store.records, after)) :]
        assert all(r in _after(live.store.records, before) for r in got)


def test_loki_pages_backward_without_gaps_or_repeats(server: DemoLogServer) -> None:
    def same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
        """The same records, in time order (records in one millisecond may come in any order)."""
        stamps = [r["timestamp"] for r in got]
        return stamps == sorted(stamps) and {r["trace_id"] for r in got} == {r["trace_id"] for r in want}

    records, stderr = fetch(server.url, "--api", "loki", "--limit", "777", "--page-size", "100")
    assert len(records) == 777 and same(records, server.store.records[-777:])
    assert '"more_available": true' in stderr
    oldest, _ = fetch(server.url, "--api", "loki", "--limit", "777", "--page-size", "100", "--oldest-first")
    assert len(oldest) == 777 and same(oldest, server.store.records[:777])


def test_an_api_that_ignores_direction_still_gives_the_newest(tmp_path: Path) -> None:
    """A plain JSON array API (no direction, no cursor): the newest --limit by position, said so."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    rows = [
        {"timestamp": f"2026-03-14T09:{m:02d}:00.000Z", "level": "INFO", "message": str(m)} for m in range(40)
    ]

    class Plain(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = json.dumps(rows).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    thread = serve_in_thread(httpd, "plain-api")
    try:
        records, stderr = fetch(f"http://127.0.0.1:{httpd.server_address[1]}/logs", "--limit", "5")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert records == rows[-5:] and "ignored direction=backward" in stderr


@pytest.mark.parametrize(
    "options",
    [
        "--limit 333 --page-size 90",
        "--limit 333 --page-size 90 --oldest-first",
        "--api loki --limit 200 --page-size 60 --level error,warn",
        "--since 2026-03-14T09:20:00Z --until 2026-03-14T09:31:00Z --service payment-service --limit 5000",
    ],
)
def test_native_and_script_fetch_the_same(server: DemoLogServer, tmp_path: Path, options: str) -> None:
    from conjure_nb.monitoring import _fetcher as native_module

    url = server.url if "loki" in options else server.logs_url
    script, _ = fetch(url, *options.split())
    context = cj.Context(session_id="s", working_dir=tmp_path)
    native = json.loads(cj.LogFetcher().execute(f"fetch {url} {options}", context))
    assert native == script and native
    # one implementation: the native skill runs the skill's own script module
    assert (
        Path(native_module._shared().__file__).resolve()
        == (ANALYZER / "loganalyzer" / "fetch_logs.py").resolve()
    )


def test_the_script_needs_only_the_standard_library(server: DemoLogServer, tmp_path: Path) -> None:
    """-I -S: no site-packages, no user site, no PYTHONPATH, as bare as the sandbox's python3."""
    import subprocess
    import sys

    out = tmp_path / "logs.jsonl"
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(FETCH), server.logs_url, "--limit", "20", "-o", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 20
    assert json.loads((tmp_path / "logs.jsonl.fetch.json").read_text())["query"]["limit"] == 20
