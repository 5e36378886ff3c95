#!/usr/bin/env python3
"""Turn analyze.py's JSON into an incident report: an xlsx workbook and/or a pdf.

    python3 make_report.py analysis.json --out-dir reports --format xlsx,pdf

The source and query come from the fetch summary saved beside the logs (`logs.jsonl.fetch.json`,
found through the analysis' `source`) or `--fetch FILE`; the example lines' times and hosts from
the analysed logs file when it is there. Prints one JSON object on stdout: the title, health,
summary paragraph and the files written (path, format, bytes, sheets/pages); errors go to stderr. Exit codes: 0 ok, 1 bad input or a missing library, 2 usage error.
Needs openpyxl (xlsx), reportlab and matplotlib (pdf).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .report_content import Report, build

FORMATS = ("xlsx", "pdf")


def _prepare_matplotlib() -> None:
    """Headless backend, and a writable config dir when HOME is read-only (sandbox containers)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    if "MPLCONFIGDIR" in os.environ:
        return
    home = os.path.expanduser("~")
    if os.access(home, os.W_OK):
        return
    scratch = tempfile.mkdtemp(prefix="mplconfig-")
    atexit.register(shutil.rmtree, scratch, True)
    os.environ["MPLCONFIGDIR"] = scratch


def _load(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON ({exc}); pass the output of analyze.py") from None


def _write(report: Report, fmt: str, path: Path) -> dict[str, Any]:
    try:
        if fmt == "xlsx":
            from .xlsx_report import write_xlsx

            facts = write_xlsx(report, path)
        else:
            _prepare_matplotlib()
            from .pdf_report import write_pdf

            facts = write_pdf(report, path)
    except ImportError as exc:
        need = "openpyxl" if fmt == "xlsx" else "reportlab and matplotlib"
        raise ValueError(
            f"writing {fmt} needs {need}: {exc}; install with pip install {need.replace(' and ', ' ')}"
        ) from None
    return {"path": str(path), "format": fmt, "bytes": path.stat().st_size, **facts}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make_report.py",
        description="Write an incident report (xlsx and/or pdf) from analyze.py's JSON.",
        epilog="Exit codes: 0 ok, 1 bad input or missing library, 2 usage error.",
    )
    parser.add_argument("analysis", help="analyze.py's JSON output file, or - for stdin")
    parser.add_argument("--out-dir", default=".", help="directory for the report files (created if missing)")
    parser.add_argument("--format", default="xlsx,pdf", help="comma-separated: xlsx, pdf (default both)")
    parser.add_argument("--title", help="report title (default: one naming the main incident and its window)")
    parser.add_argument(
        "--fetch", help="the fetch summary (default: <analysed file>.fetch.json when it exists)"
    )
    parser.add_argument(
        "--logs", help="the analysed logs, to place each example (default: the analysis' source)"
    )
    parser.add_argument("--generated-at", help="the report's generation time, ISO 8601 (default: now)")
    parser.add_argument(
        "--name", default="incident-report", help="file name without extension (incident-report)"
    )
    args = parser.parse_args(argv)
    args.formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    unknown = sorted(set(args.formats) - set(FORMATS))
    if unknown or not args.formats:
        parser.error(f"--format takes xlsx and/or pdf, got {args.format!r}")
    return args


def _inputs(args: argparse.Namespace, analysis: Any) -> tuple[dict[str, Any] | None, str | None, datetime]:
    """The fetch summary, the logs file and the generation time, found or given."""
    base = Path(args.analysis).parent if args.analysis != "-" else Path(".")
    source = analysis.get("source") if isinstance(analysis, dict) else None
    logs = args.logs or (str(base / source) if isinstance(source, str) and source else None)
    if logs and not Path(logs).is_file() and isinstance(source, str) and Path(source).is_file():
        logs = source
    fetch_path = args.fetch or (
        f"{logs}.fetch.json" if logs and Path(f"{logs}.fetch.json").is_file() else None
    )
    fetch = _load(fetch_path) if fetch_path else None
    try:
        moment = (
            datetime.fromisoformat(args.generated_at.replace("Z", "+00:00")) if args.generated_at else None
        )
    except ValueError:
        raise ValueError(f"--generated-at {args.generated_at!r} is not an ISO 8601 time") from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return fetch if isinstance(fetch, dict) else None, logs, moment or datetime.now(timezone.utc)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        analysis = _load(args.analysis)
        fetch, logs, moment = _inputs(args, analysis)
        report = build(analysis, args.title, fetch=fetch, generated_at=moment, logs=logs)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = [_write(report, fmt, out_dir / f"{args.name}.{fmt}") for fmt in dict.fromkeys(args.formats)]
    except ValueError as exc:
        print(f"make_report.py: error: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "title": report.title,
                "health": report.status,
                "why": report.status_reason,
                "summary": report.summary,
                "first_action": report.actions[0].action if report.actions else None,
                "files": files,
            }
        )
    )
    return 0


def run() -> None:
    """Run as a command: exit with `main()`'s status."""
    sys.exit(main())
