"""Secrets stay where they belong: credentials go only to the origin they were given for, and a
source URL's credentials are never shown or saved (issue 20, item 5)."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.monitoring._agent import MonitoringAgent
from conjure_nb.monitoring._fetcher import LogFetcher, redacted
from conjure_nb.testing._demo_server import DemoLogServer
from conjure_nb.testing._serve import serve_in_thread

from .conftest import ANALYZER, NOW, run_script

SECRET = "s3cr3t-TOKEN-value"


class _Recorder:
    """A loopback HTTP server that answers with `answer(path)` and keeps every request's headers."""

    def __init__(self, answer: Any):
        self.seen: list[tuple[str, dict[str, str]]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorder.seen.append((self.path, dict(self.headers)))
                status, headers, body = answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = serve_in_thread(self.httpd, "secrets-api")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def attacker() -> Iterator[_Recorder]:
    rows = [{"timestamp": "2026-03-14T09:00:00.000Z", "level": "INFO", "message": "x"}]
    live = _Recorder(lambda path: (200, {}, json.dumps({"logs": rows, "direction": "backward"}).encode()))
    yield live
    live.close()


def _api(next_link: str | None = None, redirect: str | None = None) -> _Recorder:
    rows = [
        {"timestamp": f"2026-03-14T09:{m:02d}:00.000Z", "level": "INFO", "message": str(m)} for m in range(3)
    ]

    def answer(path: str) -> tuple[int, dict[str, str], bytes]:
        if redirect:
            return 302, {"Location": redirect}, b""
        body = {"logs": rows, "direction": "backward", "next_cursor": next_link}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    return _Recorder(answer)


def _tokens(recorder: _Recorder) -> list[str]:
    return [h.get("Authorization", "") for _, h in recorder.seen if "Authorization" in h]


def test_redact_url_hides_credentials_and_keeps_the_rest() -> None:
    cases = {
        "https://user:pa55@logs.example.com:8443/api/logs?service=a": "https://***@logs.example.com:8443/api/logs?service=a",
        "https://tok@logs.example.com/x": "https://***@logs.example.com/x",
        "http://h/api?api_key=K1&level=ERROR&token=T2": "http://h/api?api_key=***&level=ERROR&token=***",
        "http://h/api?access_token=A&key=B&password=C&secret=D&X-Amz-Signature=E&apiKey=F": (
            "http://h/api?access_token=***&key=***&password=***&secret=***&X-Amz-Signature=***&apiKey=***"
        ),
        "http://h/cb#access_token=Z&state=1": "http://h/cb#access_token=***&state=1",
        "http://h/api/logs?since=1h": "http://h/api/logs?since=1h",
    }
    for url, shown in cases.items():
        assert redacted(url) == shown
    text = f"GET http://u:{SECRET}@h/x failed; see https://h/y?token={SECRET}."
    assert SECRET not in redacted(text) and "http://***@h/x" in redacted(text)


def test_a_cross_origin_next_link_never_gets_the_token(tmp_path: Path, attacker: _Recorder) -> None:
    api = _api(next_link=f"{attacker.url}/steal?page=2")
    try:
        fetcher = LogFetcher(token=SECRET, retries=0)
        context = cj.Context(session_id="t", working_dir=tmp_path)
        with pytest.raises(cj.ToolError, match="another origin") as caught:
            fetcher.execute(f"fetch {api.url}/api/logs --limit 50 --page-size 3", context)
        env = {**os.environ, "LOG_API_TOKEN": SECRET}
        done = run_script(
            ANALYZER / "fetch_logs.py", f"{api.url}/api/logs", "--limit", "50", "--page-size", "3", env=env
        )
    finally:
        api.close()
    assert _tokens(api) == [f"Bearer {SECRET}"] * 2  # the real API got it, twice (native, script)
    assert attacker.seen == []  # the other origin got nothing at all
    assert "credentials" in str(caught.value) and SECRET not in str(caught.value)
    assert done.returncode == 1 and "another origin" in done.stderr


def test_a_redirect_to_another_origin_is_not_followed_with_the_token(attacker: _Recorder) -> None:
    api = _api(redirect=f"{attacker.url}/steal")
    try:
        env = {**os.environ, "LOG_API_TOKEN": SECRET}
        done = run_script(ANALYZER / "fetch_logs.py", f"{api.url}/api/logs", "--retries", "0", env=env)
        with pytest.raises(cj.ToolError, match="redirect to another origin"):
            LogFetcher(token=SECRET, retries=0).execute(
                f"fetch {api.url}/api/logs", cj.Context(session_id="t", working_dir=Path("."))
            )
    finally:
        api.close()
    assert done.returncode == 1 and "redirect to another origin" in done.stderr
    assert attacker.seen == []


def test_user_and_password_in_the_url_are_sent_as_basic_auth_and_shown_redacted(tmp_path: Path) -> None:
    api = _api()
    try:
        out = tmp_path / "logs.jsonl"
        done = run_script(
            ANALYZER / "fetch_logs.py", f"http://ops:{SECRET}@{api.url[7:]}/api/logs", "-o", str(out)
        )
    finally:
        api.close()
    assert done.returncode == 0, done.stderr
    assert _tokens(api)[0].startswith("Basic ")
    saved = Path(f"{out}.fetch.json").read_text()
    assert SECRET not in done.stderr and SECRET not in saved and "***@" in saved


def _everything_written(root: Path) -> str:
    """Every file under root as text; xlsx members unzipped (pdf text is checked by its own test)."""
    texts = []
    for path in root.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        elif path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def test_a_source_urls_credentials_never_reach_progress_results_or_reports(tmp_path: Path) -> None:
    lines: list[str] = []
    with DemoLogServer(records=200, seed=7, now=NOW) as live:
        url = f"{live.logs_url}?api_key={SECRET}&token={SECRET}"
        fast = LogFetcher(backoff=0.005)  # the unreachable source's retries, without 3.5 s of waiting
        with MonitoringAgent(
            out_dir=tmp_path / "out", progress=lines.append, backend="local", fetcher=fast
        ) as agent:
            result = agent.analyze(url, since=None, limit=100)  # pinned data: ask for all of it
            fleet = agent.analyze_many(
                [url, f"http://ops:{SECRET}@127.0.0.1:1/api/logs"], since=None, limit=50
            )
        assert result.logs_fetched == 100
    shown = [*lines, repr(result), result.html(), repr(fleet), fleet.html()]
    shown += [json.dumps(x) for x in (result.to_dict(), result.analysis, fleet.analysis, fleet.failures)]
    shown += list(fleet.sources)
    text = "\n".join(shown)
    assert SECRET not in text
    assert SECRET not in _everything_written(tmp_path / "out")
    import pypdfium2

    pdfs = list((tmp_path / "out").glob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        document = pypdfium2.PdfDocument(pdf)
        try:
            text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
        finally:
            document.close()
        assert "***" in text and SECRET not in text
    assert "api_key=***" in result.url and len(fleet.failures) == 1
