"""Bounded work for bounded asks (issue 20, item 9): `--limit 10` against a 150 MB page reads a
little of it and stops; a page past --max-page-bytes is cut there and the summary says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.monitoring._fetcher import LogFetcher
from conjure_nb.testing._serve import serve_in_thread

from .conftest import ANALYZER, run_script

PAGE_BYTES = 150 * 1024 * 1024


def _record(i: int) -> bytes:
    stamp = f"2026-03-14T09:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z"
    return json.dumps(
        {"timestamp": stamp, "level": "INFO", "service": "web", "message": f"line {i} " + "x" * 90}
    ).encode()


class HugePage:
    """An API that ignores `limit` and answers one 150 MB page, written as the client reads it;
    `sent` counts the bytes the client actually took before it hung up."""

    def __init__(self, envelope: bool):
        self.sent = 0
        huge = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()  # HTTP/1.0: the body ends when the connection closes
                head = b'{"direction":"backward","logs":[' if envelope else b"["
                try:
                    self._write(head)
                    i, batch = 0, []
                    while huge.sent < PAGE_BYTES:
                        batch.append(_record(i))
                        i += 1
                        if len(batch) == 2000:
                            self._write((b"," if i > 2000 else b"") + b",".join(batch))
                            batch = []
                    self._write(b"]}" if envelope else b"]")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _write(self, data: bytes) -> None:
                self.wfile.write(data)
                huge.sent += len(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/logs"
        self.thread = serve_in_thread(self.httpd, "bounded-api")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def envelope_page() -> Iterator[HugePage]:
    live = HugePage(envelope=True)
    yield live
    live.close()


@pytest.fixture
def bare_page() -> Iterator[HugePage]:
    live = HugePage(envelope=False)
    yield live
    live.close()


def _messages(lines: str) -> list[str]:
    return [json.loads(line)["message"].split(" x")[0] for line in lines.splitlines()]


def test_the_script_stops_reading_once_it_has_its_ten_records(
    envelope_page: HugePage, tmp_path: Path
) -> None:
    out = tmp_path / "logs.jsonl"
    done = run_script(ANALYZER / "fetch_logs.py", envelope_page.url, "--limit", "10", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert _messages(out.read_text()) == [f"line {i}" for i in range(9, -1, -1)]
    summary = json.loads(Path(f"{out}.fetch.json").read_text())
    assert summary["records"] == 10 and summary["more_available"] is True
    assert envelope_page.sent < 16 * 1024 * 1024, (
        f"read {envelope_page.sent:,} of a 150 MB page for 10 records"
    )


def test_the_native_fetcher_stops_reading_too(envelope_page: HugePage, tmp_path: Path) -> None:
    context = cj.Context(session_id="t", working_dir=tmp_path)
    got = json.loads(LogFetcher(retries=0).execute(f"fetch {envelope_page.url} --limit 10", context))
    assert [r["message"].split(" x")[0] for r in got] == [f"line {i}" for i in range(9, -1, -1)]
    assert envelope_page.sent < 16 * 1024 * 1024


def test_a_page_past_the_byte_cap_is_cut_and_the_summary_says_so(bare_page: HugePage, tmp_path: Path) -> None:
    """A bare array (no direction): the newest are at its end, so it is read to the cap, not whole."""
    out = tmp_path / "logs.jsonl"
    cap = str(4 * 1024 * 1024)
    done = run_script(
        ANALYZER / "fetch_logs.py", bare_page.url, "--limit", "10", "--max-page-bytes", cap, "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(Path(f"{out}.fetch.json").read_text())
    assert summary["records"] == 10 and summary["more_available"] is True
    assert any("cut at 4,194,304 bytes (--max-page-bytes)" in note for note in summary["notes"])
    assert bare_page.sent < 16 * 1024 * 1024
    numbers = [int(m.split()[1]) for m in _messages(out.read_text())]
    assert numbers == sorted(numbers) and numbers[0] > 10, "the last records read before the cut, in order"


@pytest.mark.parametrize(("limit", "more"), [(30, False), (29, True)])
def test_stopping_early_still_says_truly_whether_there_was_more(
    tmp_path: Path, limit: int, more: bool
) -> None:
    from conjure_nb.testing._demo_server import DemoLogServer

    out = tmp_path / "logs.jsonl"
    with DemoLogServer(records=30) as live:
        done = run_script(ANALYZER / "fetch_logs.py", live.logs_url, "--limit", str(limit), "-o", str(out))
    assert done.returncode == 0, done.stderr
    summary = json.loads(Path(f"{out}.fetch.json").read_text())
    assert (summary["records"], summary["more_available"]) == (limit, more)
