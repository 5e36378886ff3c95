"""Issue 20 item 3: a hostile file cannot crash or exhaust the kernel.

Each file is generated here (small and fast); each preview must come back quickly with a one-line
reason and a download, in this very process: a parser aborting in-process would end the test run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.display import limits
from conjure_nb.display._limits import PreviewRefused
from conjure_nb.display._xlsx import read_sheets_isolated
from conjure_nb.notebook.render import to_html

from .hostile import shared_strings_bomb, sparse_png, sparse_xlsx, tall_pdf


def _reason(html: str) -> str:
    assert "cannot preview" in html or "not rendered" in html, html[:500]
    return html


@pytest.mark.parametrize("dimension", [None, "A1:XFD1048576"], ids=["cell-refs", "dimension"])
def test_xlsx_with_cells_a1_and_xfd1048576_is_refused(tmp_path: Path, dimension: str | None) -> None:
    path = sparse_xlsx(tmp_path / "two-cells.xlsx", [("A1", "a"), ("XFD1048576", "b")], dimension)
    assert path.stat().st_size < 2500
    html = _reason(to_html(path))
    assert "1,048,576 rows x 16,384 columns" in html and "limits.max_xlsx_cells" in html
    assert 'download="two-cells.xlsx"' in html, "a refused preview still offers the download"


def test_a_small_sparse_workbook_still_previews(tmp_path: Path) -> None:
    html = to_html(sparse_xlsx(tmp_path / "ok.xlsx", [("A1", "head"), ("B3", "value")], "A1:B3"))
    assert "cannot preview" not in html and "value" in html


def test_shared_strings_bomb_is_refused_from_the_zip_directory(tmp_path: Path) -> None:
    path = shared_strings_bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 10 * 1024 * 1024
    html = _reason(to_html(path))
    assert "xl/sharedStrings.xml" in html and "limits.max_xlsx_inflated_bytes" in html


def test_an_xlsx_reader_that_dies_is_a_refusal_not_a_dead_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with the cell checks switched off, calamine itself meets the 17-billion-cell sheet: it dies in
    # the reader process, and this process gets one line
    path = sparse_xlsx(tmp_path / "two-cells.xlsx", [("A1", "a"), ("XFD1048576", "b")])
    monkeypatch.setattr(limits, "max_xlsx_cells", 10**12)
    monkeypatch.setattr(limits, "max_xlsx_columns", 10**6)
    with open(path, "rb") as f, pytest.raises(PreviewRefused, match="the xlsx reader") as info:
        read_sheets_isolated(f)
    assert "killed by SIG" in str(info.value) and "\n" not in str(info.value)
    monkeypatch.undo()
    with open(sparse_xlsx(tmp_path / "fine.xlsx", [("A1", "fine")]), "rb") as f:
        assert read_sheets_isolated(f)[0].rows == [["fine"]], "the reader starts again after a crash"
    monkeypatch.setattr(limits, "max_xlsx_cells", 10**12)
    slow = sparse_xlsx(tmp_path / "slow.xlsx", [("A1", "a")])
    monkeypatch.setattr(limits, "parse_timeout_s", 0.001)
    with open(slow, "rb") as f, pytest.raises(PreviewRefused, match="parse_timeout_s"):
        read_sheets_isolated(f)


def test_pdf_with_a_1_by_1200_inch_page_is_not_rendered(tmp_path: Path) -> None:
    path = tall_pdf(tmp_path / "tall.pdf")
    assert path.stat().st_size < 256
    html = _reason(to_html(path))
    assert "page 1 is 1 x 1200 in" in html and "limits.max_pdf_page_pixels" in html
    assert "<img" not in html


def test_sparse_3_gb_png_is_refused_by_its_size(tmp_path: Path) -> None:
    path = sparse_png(tmp_path / "huge.png")
    assert os.stat(path).st_blocks * 512 < 1024 * 1024, "sparse: a few KB on disk"
    html = _reason(to_html(path))
    assert "limits.max_image_bytes" in html and "<img" not in html
    assert "too big to embed" in html, "the file is named for download instead of embedded"


def test_png_whose_header_claims_a_giant_bitmap_is_refused(tmp_path: Path) -> None:
    path = sparse_png(tmp_path / "wide.png", size=4096, width=100_000, height=100_000)
    html = _reason(to_html(path))
    assert "100,000 x 100,000 pixels" in html and "<img" not in html
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<svg onload=alert(1)>")
    assert "not a PNG image" in _reason(to_html(fake))


def test_300k_column_json_output_is_capped() -> None:
    content = json.dumps([{f"c{i}": i for i in range(300_000)}])
    result = cj.ToolResult(content, stdout=content, exit_code=0)
    html = to_html(result)
    assert len(html) < 100_000
    assert f"{limits.max_table_cols:,} of 300,000 columns shown" in html
    assert "DataFrame: 1 rows x 300,000 columns" in html


def test_the_reader_process_imports_this_package_not_one_in_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conjure_nb.display._isolated import IsolatedReader
    from conjure_nb.display._xlsx import SMALL_XLSX

    planted = tmp_path / "conjure_nb"
    planted.mkdir()
    (planted / "__init__.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    book = sparse_xlsx(tmp_path / "ok.xlsx", [("A1", "head"), ("B2", "value")], "A1:B2")
    monkeypatch.chdir(tmp_path)  # a kernel whose working dir holds a package of the same name
    reader = IsolatedReader("conjure_nb.display._xlsx:_read_request", "the xlsx reader")
    try:
        with open(book, "rb") as f:
            reply = reader.call(f, {"max_rows": 5, "small": SMALL_XLSX, "caps": limits.__dict__}, timeout=60,
                                memory=1 << 30)  # fmt: skip
    finally:
        reader.close()
    assert reply["sheets"][0]["rows"][1] == ["", "value"]
    assert not (tmp_path / "imported").exists(), "the planted package ran in the reader process"
