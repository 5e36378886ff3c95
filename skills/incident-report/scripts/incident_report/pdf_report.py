"""Write a Report as a pdf with reportlab, charts drawn by matplotlib, "Page N of M" footers.

The sections flow one after another (no forced page breaks, so no half-empty pages); a heading
stays with what follows it; cells wrap only between words, and times are printed short enough
for their columns. matplotlib needs a writable config dir; where HOME is read-only (the docker
sandbox) the caller sets MPLCONFIGDIR first (make_report.py does).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import CondPageBreak, Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .report_content import PRIORITY_COLORS, STATUS_COLORS, Fact, Report, window_words

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=9.5, leading=12.5, splitLongWords=0)
_CELL = ParagraphStyle("cell", parent=_BODY, fontSize=7.5, leading=9.2)
_HEAD = ParagraphStyle("head", parent=_CELL, textColor=colors.white, fontName="Helvetica-Bold")
_H1 = ParagraphStyle("h1", parent=_STYLES["Title"], fontSize=17, leading=21, alignment=0, spaceAfter=2)
_H2 = ParagraphStyle("h2", parent=_STYLES["Heading2"], fontSize=12.5, spaceBefore=8, spaceAfter=4)
_META = ParagraphStyle("meta", parent=_CELL, fontSize=8, leading=10, textColor=colors.HexColor("#444444"))
WIDTH = 26.7  # cm of text width on landscape A4 with 1.5 cm margins


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


def _p(text: Any, style: ParagraphStyle = _CELL, raw: bool = False) -> Paragraph:
    """A paragraph of `text`, escaped; `raw` markup is this module's own, its parts escaped by the caller."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = f"{text:,}"
    return Paragraph(str(text) if raw else escape(str(text)).replace("\n", "<br/>"), style)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], right: Sequence[int] = ()
) -> Table:
    data = [[_p(h, _HEAD) for h in header]] + [[_p(v) for v in row] for row in rows]
    table = Table(data, colWidths=[w * cm for w in widths], repeatRows=1, hAlign="LEFT")
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1F3864")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#B0B7C3")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F2F4F8")]),
    ]
    table.setStyle(TableStyle(style))
    return table


def _fact(report: Report, fact: Fact) -> str:
    if fact.kind == "time":
        return f"{report.stamp(fact.value)} UTC" if fact.value else "-"
    if fact.kind == "pct":
        return f"{fact.value:.1%}"
    if fact.kind in ("int", "minutes"):
        return f"{fact.value:,}"
    return str(fact.value)


def _png(fig: Any) -> io.BytesIO:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=140, bbox_inches="tight")
    plt.close(fig)
    buf.seek(0)
    return buf


def timeline_chart(report: Report) -> io.BytesIO:
    """Records, errors and warnings per bucket on a time axis with round ticks; bursts shaded."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 3.1))
    if report.per_minute:
        x = [row[0].replace(tzinfo=None) for row in report.per_minute]
        for col, label, color in (
            (1, "records", "#5B7DB1"),
            (2, "errors", "#C62828"),
            (3, "warnings", "#F9A825"),
        ):
            ax.plot(x, [row[col] for row in report.per_minute], label=label, color=color, linewidth=1.4)
        for n, incident in enumerate(report.incidents):
            ax.axvspan(
                incident.start.replace(tzinfo=None),
                incident.end.replace(tzinfo=None),
                color="#C62828",
                alpha=0.10,
                label="incident" if n == 0 else None,
            )
            if incident.first_warning:
                ax.axvline(
                    incident.first_warning.replace(tzinfo=None),
                    color="#F9A825",
                    linestyle=":",
                    linewidth=1.2,
                    label="first warning sign" if n == 0 else None,
                )
        locator = mdates.AutoDateLocator(minticks=6, maxticks=14)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b %H:%M" if report.multi_day else "%H:%M"))
        ax.set_xlim(x[0], x[-1] + timedelta(minutes=report.bucket_minutes))
        ax.legend(loc="upper right", fontsize=8, ncol=5)
    else:
        ax.text(0.5, 0.5, "no timestamped records", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel(f"per {report.bucket_minutes} min")
    ax.set_xlabel("time (UTC)")
    ax.grid(alpha=0.3)
    return _png(fig)


def bar_chart(rows: Sequence[tuple[str, int]], title: str) -> io.BytesIO:
    """Errors per service or host, largest at the top."""
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r[1]][:10]
    fig, ax = plt.subplots(figsize=(6, 0.22 * max(len(rows), 3) + 0.8))
    if rows:
        ax.barh([r[0] for r in rows][::-1], [r[1] for r in rows][::-1], color="#C62828")
        for y, (_, n) in enumerate(rows[::-1]):
            ax.text(n, y, f" {n:,}", va="center", fontsize=8)
        ax.set_xlim(0, max(n for _, n in rows) * 1.15)
    else:
        ax.text(0.5, 0.5, "no errors", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def _badge(report: Report) -> Table:
    color = colors.HexColor("#" + STATUS_COLORS.get(report.status, "757575"))
    style = ParagraphStyle(
        "badge", parent=_STYLES["Heading2"], textColor=colors.white, spaceBefore=0, spaceAfter=0
    )
    badge = Table(
        [
            [
                _p(report.status.upper(), style),
                _p(f"<b>{escape(report.headline)}.</b> {escape(report.status_reason)}", _BODY, raw=True),
            ]
        ],
        colWidths=[4 * cm, (WIDTH - 4) * cm],
        hAlign="LEFT",
    )
    badge.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (0, 0), color),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.5, color),
            ]
        )
    )
    return badge


def _impact(report: Report) -> Table:
    """The main incident's facts on the left, the whole range's on the right."""
    left = [(f.label, _fact(report, f)) for f in report.facts if not f.whole_range]
    right = [(f.label, _fact(report, f)) for f in report.facts if f.whole_range]
    rows = [
        [*(left[i] if i < len(left) else ("", "")), *(right[i] if i < len(right) else ("", ""))]
        for i in range(max(len(left), len(right)))
    ]
    return _table(("Main incident", "", "Window analysed", ""), rows, (4.2, 10.3, 4.2, 8.0))


def _section(title: str, need: float = 2.5) -> list[Any]:
    """A heading that starts a new page only when less than `need` cm are left: tables flow on."""
    return [CondPageBreak(need * cm), _p(title, _H2)]


def _story(report: Report) -> list[Any]:
    meta = (
        f"Generated {report.generated_at:%Y-%m-%d %H:%M} UTC. Source: {report.source}. Query: {report.query}."
    )
    story: list[Any] = [_p(report.title, _H1), _p(meta, _META), Spacer(1, 6), _badge(report)]
    story += [
        Spacer(1, 4),
        _p(f"<b>Window analysed:</b> {escape(window_words(report.window))}", _BODY, raw=True),
    ]
    story += [*_section("Summary"), _p(report.summary, _BODY), *_section("Impact"), _impact(report)]
    events = [(report.stamp(e.time), e.service, e.hosts, e.kind, e.text) for e in report.events]
    story += [
        *_section("Timeline"),
        _table(
            Report.TIMELINE_HEADER,
            events or [("-", "", "", "", "no notable events")],
            (2.1, 4.2, 3.2, 2.3, 14.9),
        ),
        Spacer(1, 6),
        Image(timeline_chart(report), width=WIDTH * cm, height=WIDTH * 3.1 / 12.4 * cm),
    ]
    evidence = [
        (
            s.finding or "-",
            s.level,
            s.count,
            f"{s.share:.2%}",
            report.stamp(s.first),
            report.stamp(s.last),
            report.stamp(s.example_time),
            s.example_host or "-",
            s.example,
        )
        for s in report.evidence
    ]
    header = (
        "Finding",
        "Level",
        "Count",
        "Share",
        "First seen",
        "Last seen",
        "Example at",
        "Example host",
        "Example line (unmasked)",
    )
    story += [*_section("Where it hit", 6.5), _where(report)]
    story += [
        *_section("Evidence: one example line per message signature, as logged", 4),
        _table(header, evidence or [("-",) * 9], (4.2, 1.2, 1.2, 1.3, 1.7, 1.7, 1.7, 1.9, 11.8)),
    ]
    actions = [(a.priority, a.action, a.why, a.services, a.owner, a.due, a.status) for a in report.actions]
    table = _table(
        ("Priority", "Action", "Why", "Services", "Owner", "Due", "Status"),
        actions,
        (1.5, 8.3, 8.6, 3.1, 2.0, 1.6, 1.6),
    )
    table.setStyle(
        TableStyle(
            [
                (
                    "BACKGROUND",
                    (0, r),
                    (0, r),
                    colors.HexColor("#" + PRIORITY_COLORS.get(a.priority, "757575")),
                )
                for r, a in enumerate(report.actions, 1)
            ]
        )
    )
    story += [*_section("Action items"), table]
    story += [
        *_section("Appendix: how this report was made"),
        _table(Report.APPENDIX_HEADER, report.appendix, (5, 21.7)),
    ]
    story += [_p(f"Note: {note}", _META) for note in report.notes]
    return story


def _bar_image(rows: list[tuple[str, int]], title: str) -> Image:
    """A bar chart at its own aspect ratio, 11 cm wide."""
    shown = max(len([r for r in rows if r[1]][:10]), 3)
    return Image(bar_chart(rows, title), width=11 * cm, height=11 * cm * (0.22 * shown + 0.8) / 6 * 1.05)


def _where(report: Report) -> Table:
    services = [(n, e) for n, _, e, _ in report.services]
    hosts = [(h, e) for h, _, e, _ in report.hosts]
    charts = [_bar_image(services, "Errors by service"), _bar_image(hosts, "Errors by host")]
    svc = _table(
        Report.SERVICE_HEADER,
        [(n, r, e, f"{rate:.1%}") for n, r, e, rate in report.services],
        (4.6, 2.6, 2.6, 2.6),
    )
    hst = _table(
        Report.HOST_HEADER,
        [(h, s, e, f"{share:.1%}") for h, s, e, share in report.hosts],
        (2.2, 5.6, 2.0, 2.6),
    )
    grid = Table([charts, [svc, hst]], colWidths=[13.35 * cm, 13.35 * cm], hAlign="LEFT")
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return grid


def write_pdf(report: Report, path: Path) -> dict[str, Any]:
    """Write the pdf; returns facts for the summary (pages)."""
    doc = SimpleDocTemplate(
        str(path),
        pagesize=landscape(A4),
        title=report.title,
        author="incident-report skill",
        leftMargin=1.5 * cm,
        rightMargin=1.5 * cm,
        topMargin=1.3 * cm,
        bottomMargin=1.6 * cm,
    )
    doc.build(_story(report), canvasmaker=NumberedCanvas)
    return {"pages": doc.page}
