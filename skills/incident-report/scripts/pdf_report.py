"""Write a Report as a pdf with reportlab, charts drawn by matplotlib, "Page N of M" footers.

matplotlib needs a writable config dir; where HOME is read-only (the docker sandbox) the caller
sets MPLCONFIGDIR first (make_report.py does).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from report_content import STATUS_COLORS, Report
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

_STYLES = getSampleStyleSheet()
_CELL = ParagraphStyle("cell", parent=_STYLES["BodyText"], fontSize=7.5, leading=9)
_HEAD = ParagraphStyle("head", parent=_CELL, textColor=colors.white, fontName="Helvetica-Bold")


class NumberedCanvas(Canvas):  # type: ignore[misc]
    """Holds every page until the end, so each footer can say how many pages there are."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(colors.grey)
            self.drawRightString(self._pagesize[0] - 1.5 * cm, 1 * cm, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _p(text: Any, style: ParagraphStyle = _CELL) -> Paragraph:
    if isinstance(text, int) and not isinstance(text, bool):
        text = f"{text:,}"
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> Table:
    data = [[_p(h, _HEAD) for h in header]] + [[_p(v) for v in row] for row in rows]
    table = Table(data, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F3864")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#B0B7C3")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F4F8")]),
            ]
        )
    )
    return table


def _png(fig: Any) -> io.BytesIO:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    buf.seek(0)
    return buf


def timeline_chart(report: Report) -> io.BytesIO:
    """Records, errors and warnings per bucket, error bursts shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.4))
    if report.timeline:
        x = list(range(len(report.timeline)))
        for col, label, color in (
            (1, "total", "#5B7DB1"),
            (2, "errors", "#C62828"),
            (3, "warnings", "#F9A825"),
        ):
            ax.plot(x, [row[col] for row in report.timeline], label=label, color=color, linewidth=1.4)
        index = {row[0]: i for i, row in enumerate(report.timeline)}
        for start, end, *_ in report.anomalies:
            if start in index and end in index:
                ax.axvspan(index[start] - 0.5, index[end] + 0.5, color="#C62828", alpha=0.12)
        step = max(1, len(x) // 8)
        ax.set_xticks(x[::step], [str(row[0])[11:16] for row in report.timeline][::step])
        ax.legend(loc="upper left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no timestamped records", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"Log records per {report.bucket_minutes} minute(s), UTC (bursts shaded)", fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def services_chart(report: Report) -> io.BytesIO:
    """Errors per service, largest first."""
    import matplotlib.pyplot as plt

    rows = [r for r in report.service_rows if r[2]][:10]
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(len(rows), 2) + 1))
    if rows:
        ax.barh([r[0] for r in rows][::-1], [r[2] for r in rows][::-1], color="#C62828")
        ax.set_xlabel("errors")
    else:
        ax.text(0.5, 0.5, "no errors", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Errors by service", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _status_badge(report: Report) -> Table:
    color = colors.HexColor("#" + STATUS_COLORS.get(report.status, "757575"))
    style = ParagraphStyle("badge", parent=_STYLES["Heading2"], textColor=colors.white)
    badge = Table(
        [[_p(f"Health: {report.status.upper()}", style), _p(report.rule)]], colWidths=[6 * cm, 19 * cm]
    )
    badge.setStyle(
        TableStyle([("BACKGROUND", (0, 0), (0, 0), color), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    return badge


def _story(report: Report) -> list[Any]:
    h1, h2 = _STYLES["Title"], _STYLES["Heading2"]
    story: list[Any] = [
        _p(report.title, h1),
        _p(f"Source: {report.source} - period {report.period}"),
        Spacer(1, 8),
        _status_badge(report),
        Spacer(1, 10),
        _p("Executive summary", h2),
        _table(("Metric", "Value"), report.metrics, (7, 18)),
    ]
    if report.reasons:
        story += [Spacer(1, 6), _p("Why this status: " + "; ".join(report.reasons))]
    story += [_p(f"Note: {note}") for note in report.notes]
    story += [PageBreak(), _p("Timeline", h2), Image(timeline_chart(report), width=25 * cm, height=8.5 * cm)]
    if report.anomalies:
        story += [Spacer(1, 6), _table(Report.ANOMALY_HEADER, report.anomalies, (4, 4, 2, 2, 2, 11))]
    story += [
        PageBreak(),
        _p("Error details", h2),
        _table(Report.ERROR_HEADER, report.error_rows, (7, 1.4, 1.4, 1.4, 3.3, 3.3, 3.6, 4.6)),
    ]
    rows = len([r for r in report.service_rows if r[2]])
    story += [
        Spacer(1, 10),
        Image(services_chart(report), width=18 * cm, height=(0.45 * max(rows, 2) + 1) * 1.8 * cm),
        _table(Report.SERVICE_HEADER, report.service_rows, (8, 4, 4, 4)),
    ]
    story += [
        PageBreak(),
        _p("Recommendations", h2),
        _table(Report.RECOMMENDATION_HEADER, report.recommendations, (1.5, 1.7, 4.5, 1.5, 4, 7.3, 5.5)),
    ]
    return story


def write_pdf(report: Report, path: Path) -> dict[str, Any]:
    """Write the pdf; returns facts for the summary (pages)."""
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        title=report.title,
        author="incident-report skill",
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.5 * cm,
        bottomMargin=1.8 * cm,
    )
    doc.build(_story(report), canvasmaker=NumberedCanvas)
    return {"pages": doc.page}


if __name__ == "__main__":  # a helper module, not a command: say so, and where to go instead
    import sys

    print(
        f"usage: {__file__.rsplit('/', 1)[-1]} is a module used by make_report.py, not a command; run those with --help"
    )
    sys.exit(0 if sys.argv[1:] in ([], ["--help"], ["-h"]) else 2)
