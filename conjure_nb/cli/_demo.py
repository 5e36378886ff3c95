"""`conjure-nb demo ...`: the demo log API (and, later in this file, the monitoring-agent job).

conjure-nb demo serve [--port 8080] [--seed 42] [--records 2000] [--now T]   # runs until Ctrl-C
conjure-nb demo run [--out out] [--backend auto] [--now T]                   # the main job

The demo data ends at "now" unless `--now` pins it (the same seed and `--now`, the same logs).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from ..testing._demo_server import DemoLogServer

__all__ = ["register", "start_server"]


def start_server(
    port: int = 8080,
    *,
    host: str = "127.0.0.1",
    seed: int = 42,
    records: int = 2000,
    minutes: int = 60,
    token: str | None = None,
    now: datetime | None = None,
) -> DemoLogServer:
    """Start the demo log API in a background thread and return it (call `stop()` when done)."""
    return DemoLogServer(
        port, host=host, seed=seed, records=records, minutes=minutes, token=token, now=now
    ).start()


def _moment(text: str) -> datetime:
    """`--now`: an ISO 8601 time (no zone means UTC)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-03-14T10:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _serve(ns: argparse.Namespace) -> int:
    token = os.environ.get(ns.token_env) if ns.token_env else None
    if ns.token_env and not token:
        print(f"error: --token-env {ns.token_env}: the variable is not set", file=sys.stderr)
        return 1
    try:
        server = start_server(
            ns.port,
            host=ns.host,
            seed=ns.seed,
            records=ns.records,
            minutes=ns.minutes,
            token=token,
            now=ns.now,
        )
    except OSError as exc:
        print(
            f"error: cannot listen on {ns.host}:{ns.port} ({exc.strerror or exc}); try --port 0",
            file=sys.stderr,
        )
        return 1
    try:  # the server answers from here on, so a Ctrl-C can come at any line below
        print(f"demo log API on {server.url}", flush=True)
        print(f"  logs:   {server.logs_url}?limit=100&level=ERROR", flush=True)
        print(f'  loki:   {server.loki_url}?query={{service="payment-service"}}', flush=True)
        print(f"  health: {server.url}/health", flush=True)
        records = server.store.records
        span = f", {records[0]['timestamp']} to {records[-1]['timestamp']}" if records else ""
        print(f"{len(records):,} records{span}, seed {ns.seed}; Ctrl-C to stop", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("stopped", flush=True)
    return 0


def _register_serve(sub: Any) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the demo log API until Ctrl-C",
        description="Serve generated logs with injected incidents over HTTP on 127.0.0.1.",
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--seed", type=int, default=42, help="generator seed: same seed, same logs (42)")
    serve.add_argument("--records", type=int, default=2000, help="records to generate (2000)")
    serve.add_argument("--minutes", type=int, default=60, help="time span the records cover (60)")
    serve.add_argument("--token-env", help="require a bearer token, read from this environment variable")
    serve.add_argument("--now", type=_moment, help="where the data ends (ISO 8601; default: now)")
    serve.set_defaults(func=_serve)


def register(subparsers: Any) -> None:
    """Add `demo` and its subcommands to the top-level CLI."""
    demo = subparsers.add_parser("demo", help="the demo log API and the monitoring agent")
    sub = demo.add_subparsers(dest="demo_command", metavar="DEMO_COMMAND")

    def usage(_: argparse.Namespace) -> int:
        demo.print_help(sys.stderr)
        return 2

    demo.set_defaults(func=usage)
    _register_serve(sub)
    _register_run(sub)


def _run(ns: argparse.Namespace) -> int:
    from .._errors import ConjureError
    from ..demo._main import run_main_job

    try:
        run_main_job(
            ns.out,
            backend=ns.backend,
            mode=ns.mode,
            since=ns.since,
            limit=ns.limit,
            records=ns.records,
            seed=ns.seed,
            url=ns.url,
            now=ns.now,
        )
    except ConjureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _register_run(sub: Any) -> None:
    run = sub.add_parser(
        "run",
        help="the monitoring agent end to end on the demo log API (the main job)",
        description="Start the demo log API, fetch and analyse its logs, write analysis.json and an xlsx/pdf report.",
    )
    run.add_argument("--out", default="out", help="output folder (default out/)")
    run.add_argument(
        "--backend", choices=["auto", "local", "docker"], default="auto", help="where skills run (auto)"
    )
    run.add_argument(
        "--mode", choices=["auto", "agent", "pipeline"], default="auto", help="agent needs a model (auto)"
    )
    run.add_argument("--since", default="1h", help="the time range to analyse, e.g. 15m, 1h, 2d (1h)")
    run.add_argument("--limit", type=int, help="at most this many records, the newest (default: no cap)")
    run.add_argument("--records", type=int, default=5000, help="records the demo API generates (5000)")
    run.add_argument("--seed", type=int, default=42, help="demo data seed (42)")
    run.add_argument("--url", help="analyse this log API instead of starting the demo one")
    run.add_argument("--now", type=_moment, help="where the demo data ends (ISO 8601; default: now)")
    run.set_defaults(func=_run)
