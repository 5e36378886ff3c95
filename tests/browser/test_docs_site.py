"""The documentation site in a real chromium: the landing page, a how-to guide and two tutorial
pages, served over HTTP on 127.0.0.1 the way a reader's browser gets them.

The tutorial pages must show what the notebooks' outputs hold: images that decode (pdf pages, charts)
and tables with rows (xlsx sheets, DataFrames). Screenshots land in test-artifacts/browser/.
"""

from __future__ import annotations

import functools
import http.server
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conjure_nb.testing._serve import serve_in_thread

pytestmark = [pytest.mark.browser]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(docs_site: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(docs_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = serve_in_thread(server, "docs-http")
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    """The page at `url`, loaded, and the script errors it raises (a theme script failing, say)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    return page, errors


def _loaded_images(page: Any, scope: str) -> int:
    """Images under `scope` that decoded to a real picture (not a broken icon)."""
    return int(
        page.evaluate(
            """scope => [...document.querySelectorAll(scope + ' img')]
                .filter(img => img.complete && img.naturalWidth > 50 && img.naturalHeight > 50).length""",
            scope,
        )
    )


def _table_rows(page: Any, scope: str) -> list[int]:
    """Body rows of each table under `scope`."""
    return list(
        page.evaluate(
            "scope => [...document.querySelectorAll(scope + ' table')].map(t => t.querySelectorAll('tbody tr').length)",
            scope,
        )
    )


def test_landing_page(browser: Any, site_url: str, artifacts: Path) -> None:
    page, errors = _open(browser, f"{site_url}/index.html")
    try:
        assert page.locator("h1").first.inner_text().startswith("conjure_nb")
        backends = page.locator("article table").first.inner_text()
        for name in ("local", "docker", "native", "anthropic"):
            assert name in backends
        nav = page.locator(".sidebar-tree").inner_text()
        for section in ("Getting started", "Tutorials", "How-to guides", "Concepts", "Reference"):
            assert section in nav, f"{section} missing from the navigation"
        assert errors == []
        page.screenshot(path=str(artifacts / "docs-landing.png"), full_page=True)
    finally:
        page.close()


def test_a_how_to_page(browser: Any, site_url: str, artifacts: Path) -> None:
    page, errors = _open(browser, f"{site_url}/howto/native-skill.html")
    try:
        assert "Write a native skill" in page.locator("h1").first.inner_text()
        assert page.locator("article div.highlight-python pre").count() >= 2  # highlighted examples
        link = page.locator("article a", has_text="03 · Native skills")
        assert link.count() >= 1
        assert errors == []
        page.screenshot(path=str(artifacts / "docs-howto-native-skill.png"), full_page=True)
    finally:
        page.close()


def test_tutorial_04_shows_the_report_pages_and_sheets(browser: Any, site_url: str, artifacts: Path) -> None:
    page, errors = _open(browser, f"{site_url}/tutorials/04_documents.html")
    try:
        outputs = "article .cell_output"
        assert _loaded_images(page, outputs) >= 2, "the pdf pages are not shown as images"
        rows = _table_rows(page, outputs)
        assert any(n >= 3 for n in rows), f"no xlsx sheet rendered as a table (rows per table: {rows})"
        assert errors == []
        page.screenshot(path=str(artifacts / "docs-tutorial-04.png"), full_page=False)
        page.locator(f"{outputs} img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "docs-tutorial-04-report.png"))
    finally:
        page.close()


def test_tutorial_06_shows_charts_and_tables(browser: Any, site_url: str, artifacts: Path) -> None:
    page, errors = _open(browser, f"{site_url}/tutorials/06_monitoring_agent.html")
    try:
        outputs = "article .cell_output"
        assert _loaded_images(page, outputs) >= 1, "no chart or report page shown"
        assert any(n >= 2 for n in _table_rows(page, outputs)), "no table in the outputs"
        assert errors == []
        page.screenshot(path=str(artifacts / "docs-tutorial-06.png"), full_page=False)
        page.locator(f"{outputs} img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "docs-tutorial-06-chart.png"))
    finally:
        page.close()
