"""Write a Report as an xlsx workbook with openpyxl: one sheet per table, native charts.

Numbers are stored as numbers (rates with a percent format), times as datetimes (UTC, without a
zone: Excel has none), every table has its header row frozen and a filter, and the timeline,
errors by service and errors by host have native Excel charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .report_content import PRIORITY_COLORS, STATUS_COLORS, Report, window_words

SHEETS = (
    "Summary",
    "Timeline",
    "Per minute",
    "Evidence",
    "By service",
    "By host",
    "Action items",
    "Appendix",
)
_HEADER_FILL = PatternFill("solid", fgColor="1F3864")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_WRAP = Alignment(wrap_text=True, vertical="top")
TIME = "yyyy-mm-dd hh:mm:ss"
PCT = "0.0%"


def _value(value: Any) -> Any:
    """Cells as Excel wants them: naive UTC datetimes, text never read as a formula."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        return "'" + value if value.startswith("=") else value
    return value


def _table(
    ws: Worksheet,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[int],
    formats: dict[int, str] | None = None,
) -> None:
    """A table from A1: styled header, frozen, filtered; `formats` maps column number to a number format."""
    for col, name in enumerate(header, 1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.fill, cell.font = _HEADER_FILL, _HEADER_FONT
    for r, values in enumerate(rows, 2):
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=r, column=col, value=_value(value))
            cell.alignment = _WRAP
            if formats and col in formats:
                cell.number_format = formats[col]
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(len(rows), 1) + 1}"
    for col, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.page_setup.orientation = "landscape"  # printed (or converted to pdf): one page wide
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"


def _summary(ws: Worksheet, report: Report) -> None:
    rows: list[tuple[str, Any, str | None]] = [
        ("Title", report.title, None),
        ("Generated (UTC)", report.generated_at, TIME),
        ("Source", report.source, None),
        ("Query", report.query, None),
        ("Health", report.status.upper(), None),
        ("Why", report.status_reason, None),
        ("Verdict", report.headline, None),
        ("Window analysed", window_words(report.window), None),
        ("Summary", report.summary, None),
    ]
    for fact in report.facts:
        fmt = {"time": TIME, "pct": PCT, "int": "#,##0", "minutes": "0"}.get(fact.kind)
        rows.append((fact.label, fact.value, fmt))
    rows += [("Note", note, None) for note in report.notes]
    _table(ws, ("Item", "Value"), [(k, v) for k, v, _ in rows], (30, 110))
    for r, (_, _, fmt) in enumerate(rows, 2):
        if fmt:
            ws.cell(row=r, column=2).number_format = fmt
            ws.cell(row=r, column=2).alignment = Alignment(horizontal="left", vertical="top")
    ws["B2"].font = Font(bold=True, size=14)
    health = ws["B6"]
    health.fill = PatternFill("solid", fgColor=STATUS_COLORS.get(report.status, "757575"))
    health.font = Font(bold=True, color="FFFFFF")
    for r, (_, value, _) in enumerate(rows, 2):  # LibreOffice does not grow wrapped rows by itself
        if isinstance(value, str) and len(value) > 100:
            ws.row_dimensions[r].height = 15 * (len(value) // 100 + 1)


def _timeline(ws: Worksheet, report: Report) -> None:
    rows = [(e.time, e.service, e.hosts, e.kind, e.text) for e in report.events]
    _table(ws, Report.TIMELINE_HEADER, rows, (20, 28, 20, 14, 100), {1: TIME})
    minutes = len(report.per_minute)
    if minutes:
        chart = LineChart()
        chart.title = f"Records, errors and warnings per {report.bucket_minutes} minute(s), UTC"
        chart.y_axis.title = "records"
        chart.x_axis.number_format = "hh:mm"
        chart.x_axis.title = "time (UTC)"
        chart.height, chart.width = 9, 26
        data = report_sheet_ref(ws, minutes)
        chart.add_data(data[0], titles_from_data=True)
        chart.set_categories(data[1])
        ws.add_chart(chart, f"A{len(rows) + 4}")


def report_sheet_ref(ws: Worksheet, minutes: int) -> tuple[Reference, Reference]:
    """The 'Per minute' sheet's counts and minutes, for the timeline chart."""
    book = ws.parent
    per_minute = book["Per minute"]
    return (
        Reference(per_minute, min_col=2, max_col=4, min_row=1, max_row=minutes + 1),
        Reference(per_minute, min_col=1, min_row=2, max_row=minutes + 1),
    )


def _bar(ws: Worksheet, title: str, rows: int, value_col: int, anchor: str) -> None:
    if not rows:
        return
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    chart.legend = None
    chart.height, chart.width = max(6, 0.8 * rows + 3), 16
    chart.add_data(Reference(ws, min_col=value_col, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=rows + 1))
    chart.y_axis.title = "errors"
    ws.add_chart(chart, anchor)


def _actions(ws: Worksheet, report: Report) -> None:
    rows = [
        (a.priority, a.action, a.why, a.services, a.events, a.owner, None, a.status) for a in report.actions
    ]
    _table(ws, Report.ACTION_HEADER, rows, (9, 70, 70, 26, 9, 18, 13, 14), {5: "#,##0", 7: "yyyy-mm-dd"})
    for r, action in enumerate(report.actions, 2):
        cell = ws.cell(row=r, column=1)
        cell.fill = PatternFill("solid", fgColor=PRIORITY_COLORS.get(action.priority, "757575"))
        cell.font = Font(bold=True, color="FFFFFF")
    status = DataValidation(type="list", formula1='"Open,In progress,Done,Won\'t do"', allow_blank=True)
    ws.add_data_validation(status)
    status.add(f"H2:H{len(rows) + 1}")


def write_xlsx(report: Report, path: Path) -> dict[str, Any]:
    """Write the workbook; returns facts for the summary (sheets, charts)."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    _summary(sheets["Summary"], report)
    per_minute = [
        (m, total, errors, warnings, "yes" if burst else "no")
        for m, total, errors, warnings, burst in report.per_minute
    ]
    _table(sheets["Per minute"], Report.MINUTE_HEADER, per_minute, (20, 10, 10, 10, 15), {1: TIME})
    _timeline(sheets["Timeline"], report)
    evidence = [
        (
            s.finding or "-",
            s.level,
            s.count,
            s.share,
            s.first,
            s.last,
            s.example_time,
            s.example_host or "-",
            ", ".join(s.services),
            s.example,
        )
        for s in report.evidence
    ]
    _table(
        sheets["Evidence"],
        Report.EVIDENCE_HEADER,
        evidence,
        (30, 8, 9, 9, 20, 20, 20, 13, 30, 100),
        {3: "#,##0", 4: "0.00%", 5: TIME, 6: TIME, 7: TIME},
    )
    _table(
        sheets["By service"],
        Report.SERVICE_HEADER,
        report.services,
        (24, 10, 10, 11),
        {2: "#,##0", 3: "#,##0", 4: PCT},
    )
    _bar(sheets["By service"], "Errors by service", len(report.services), 3, "F2")
    _table(sheets["By host"], Report.HOST_HEADER, report.hosts, (12, 34, 10, 15), {3: "#,##0", 4: PCT})
    _bar(sheets["By host"], "Errors by host", len(report.hosts), 3, "F2")
    _actions(sheets["Action items"], report)
    _table(sheets["Appendix"], Report.APPENDIX_HEADER, report.appendix, (34, 120))
    wb.save(path)
    charts = sum(len(ws._charts) for ws in sheets.values())
    return {"sheets": list(SHEETS), "charts": charts}
