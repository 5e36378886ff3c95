"""Write a Report as an xlsx workbook with openpyxl: four sheets and a native line chart.

Sheets: Executive Summary (key metrics), Error Details (signatures and errors by service),
Recommendations (action items), Timeline (per-minute counts, bursts, and a chart of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from report_content import SEVERITY_COLORS, STATUS_COLORS, Report

SHEETS = ("Executive Summary", "Error Details", "Recommendations", "Timeline")
_HEADER_FILL = PatternFill("solid", fgColor="1F3864")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _cell_value(value: Any) -> Any:
    """Text as text: no control characters (openpyxl refuses them) and never a formula."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        return "'" + value if value.startswith("=") else value
    return value


def _table(ws: Worksheet, top: int, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A header row and the data rows from row `top`; returns the next free row."""
    for col, name in enumerate(header, 1):
        cell = ws.cell(row=top, column=col, value=name)
        cell.fill, cell.font = _HEADER_FILL, _HEADER_FONT
    row = top
    for row, values in enumerate(rows, top + 1):
        for col, value in enumerate(values, 1):
            ws.cell(row=row, column=col, value=_cell_value(value)).alignment = _WRAP
    return row + 2


def _widths(ws: Worksheet, widths: Sequence[int]) -> None:
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _summary(ws: Worksheet, report: Report) -> None:
    ws["A1"] = _cell_value(report.title)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A2"] = _cell_value(f"Source: {report.source}   Period: {report.period}")
    ws["A4"], ws["B4"] = "Health", report.status.upper()
    ws["B4"].fill = PatternFill("solid", fgColor=STATUS_COLORS.get(report.status, "757575"))
    ws["B4"].font = Font(bold=True, color="FFFFFF", size=13)
    next_row = _table(ws, 6, ("Metric", "Value"), report.metrics)
    ws.cell(row=next_row, column=1, value="Why this status").font = Font(bold=True)
    for offset, reason in enumerate(report.reasons or [report.rule], 1):
        ws.cell(row=next_row + offset, column=1, value=_cell_value(f"- {reason}"))
    for offset, note in enumerate(report.notes, len(report.reasons or [report.rule]) + 2):
        ws.cell(row=next_row + offset, column=1, value=_cell_value(f"Note: {note}"))
    _widths(ws, (28, 80))


def _errors(ws: Worksheet, report: Report) -> None:
    end = _table(ws, 1, Report.ERROR_HEADER, report.error_rows)
    ws.freeze_panes = "A2"
    if report.error_rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(Report.ERROR_HEADER))}{len(report.error_rows) + 1}"
    ws.cell(row=end, column=1, value="Errors by service").font = Font(bold=True)
    _table(ws, end + 1, Report.SERVICE_HEADER, report.service_rows)
    _widths(ws, (60, 10, 10, 10, 26, 26, 36, 80))


def _recommendations(ws: Worksheet, report: Report) -> None:
    _table(ws, 1, Report.RECOMMENDATION_HEADER, report.recommendations)
    for row, values in enumerate(report.recommendations, 2):
        color = SEVERITY_COLORS.get(str(values[1]), "757575")
        ws.cell(row=row, column=2).fill = PatternFill("solid", fgColor=color)
        ws.cell(row=row, column=2).font = Font(bold=True, color="FFFFFF")
    ws.freeze_panes = "A2"
    _widths(ws, (9, 11, 40, 10, 36, 80, 60))


def _timeline(ws: Worksheet, report: Report) -> None:
    end = _table(ws, 1, Report.TIMELINE_HEADER, report.timeline)
    _widths(ws, (20, 10, 10, 10, 4, 22, 22, 10, 10, 10, 50))
    if report.anomalies:
        ws.cell(row=1, column=6, value="Error bursts").font = Font(bold=True)
        for col, name in enumerate(Report.ANOMALY_HEADER, 6):
            cell = ws.cell(row=2, column=col, value=name)
            cell.fill, cell.font = _HEADER_FILL, _HEADER_FONT
        for row, values in enumerate(report.anomalies, 3):
            for col, value in enumerate(values, 6):
                ws.cell(row=row, column=col, value=_cell_value(value))
    chart = LineChart()
    chart.title = f"Log records per {report.bucket_minutes} minute(s)"
    chart.y_axis.title = "records"
    chart.x_axis.title = "minute (UTC)"
    chart.height, chart.width = 9, 24
    last = max(end - 2, 2)
    chart.add_data(Reference(ws, min_col=2, max_col=4, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    ws.add_chart(chart, f"F{len(report.anomalies) + 5}")


def write_xlsx(report: Report, path: Path) -> dict[str, Any]:
    """Write the workbook; returns facts for the summary (sheets, charts)."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    for name, fill in zip(SHEETS, (_summary, _errors, _recommendations, _timeline)):
        fill(wb.create_sheet(name), report)
    wb.save(path)
    return {"sheets": list(SHEETS), "charts": 1}


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    import sys

    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by make_report.py, not a command; run those with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
