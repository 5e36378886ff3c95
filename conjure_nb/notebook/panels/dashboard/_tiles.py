"""The dashboard's HTML pieces: health tiles and the incidents, signatures and sources tables.

The same pieces fill the live widgets and the static copy that nbconvert keeps, so a notebook
exported to HTML shows the last run rather than a blank cell. Every value read from a run goes
through `esc`.
"""

from __future__ import annotations

from typing import Any

from ._markup import esc, img_png, note
from ._state import Snapshot, source_name

__all__ = ["incidents_html", "signatures_html", "sources_html", "static_html", "tiles_html"]

STATUS_COLORS = {"healthy": "#2e7d32", "degraded": "#ef6c00", "critical": "#c62828", "unknown": "#757575"}
_TILE = (
    "flex:1 1 118px;min-width:118px;box-sizing:border-box;padding:6px 10px;border-radius:6px;"
    "border:1px solid rgba(127,127,127,0.35);background:rgba(127,127,127,0.06)"
)
_LABEL = "font-size:11px;text-transform:uppercase;letter-spacing:0.04em;opacity:0.7"
_NOWRAP = "white-space:nowrap"


def _tile(label: str, value_html: str, sub_html: str = "", color: str = "inherit", wrap: bool = False) -> str:
    nowrap = "" if wrap else _NOWRAP
    return (
        f'<div class="conjure-tile" style="{_TILE}"><div style="{_LABEL}">{esc(label)}</div>'
        f'<div style="font-size:20px;font-weight:600;color:{color};{nowrap}">{value_html}</div>'
        f'<div style="font-size:11px;opacity:0.8">{sub_html}</div></div>'
    )


def _stamp(value: Any) -> str:
    """An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC), to the second."""
    text = str(value or "")
    return text.replace("T", " ")[:19] if text else "?"


def _rate_sub(snap: Snapshot) -> str:
    t = snap.thresholds
    if not t:
        return f"{snap.errors:,} errors"
    return (
        f"{snap.errors:,} errors · degraded ≥ {t.get('error_degraded', 0):.0%}"
        f" · critical ≥ {t.get('error_critical', 0):.0%}"
    )


def _rate_color(snap: Snapshot) -> str:
    t = snap.thresholds
    if t and snap.error_rate >= t.get("error_critical", 1.0):
        return STATUS_COLORS["critical"]
    if t and snap.error_rate >= t.get("error_degraded", 1.0):
        return STATUS_COLORS["degraded"]
    return "inherit"


def _window_tile(snap: Snapshot) -> str:
    w = snap.window
    start, end = _stamp(w.get("start")), _stamp(w.get("end"))
    label = "window analysed" if w.get("stated") else "records span"
    bits = [f"{int(w.get('records') or snap.records):,} records"]
    if w.get("query"):
        bits.append(f"query {esc(w['query'])}")
    if w.get("truncated"):
        bits.append("<b>truncated</b>: the newest records only")
    if not w.get("stated"):
        bits.append("first to last record seen")
    value = f'<span style="font-size:12px">{esc(start)}<br>→ {esc(end)}</span>'
    return _tile(label, value, " · ".join(bits), wrap=True)


def tiles_html(snap: Snapshot) -> str:
    """Health at a glance: status, error rate vs thresholds, incidents, records and the window."""
    color = STATUS_COLORS.get(snap.status, "inherit")
    incidents = f"{snap.ongoing} ongoing · {snap.resolved} resolved" if snap.incidents else "none found"
    tiles = [
        _tile("status", esc(snap.status), esc(snap.rule), color),
        _tile("error rate", f"{snap.error_rate:.1%}", _rate_sub(snap), _rate_color(snap)),
        _tile(
            "incidents",
            f"{snap.ongoing} ongoing"
            if snap.ongoing
            else f"{snap.resolved} resolved"
            if snap.incidents
            else "0",
            incidents,
            STATUS_COLORS["critical"] if snap.ongoing else "inherit",
        ),
        _tile("records", f"{snap.records:,}", f"{snap.warnings:,} warnings"),
        _window_tile(snap),
    ]
    return (
        '<div class="conjure-health-tiles" style="display:flex;flex-wrap:wrap;gap:8px;'
        f'align-items:stretch">{"".join(tiles)}</div>'
    )


def _table(header: list[str], rows: list[list[str]], text: dict[int, str] | None = None) -> str:
    """A table as wide as its box. Columns in `text` (index: least width) hold prose and wrap,
    never narrower than that; every other column (status, times, counts) keeps to one line."""
    text = text or {}

    def style(i: int) -> str:
        return f"min-width:{text[i]}" if i in text else _NOWRAP

    head = "".join(f'<th style="text-align:left;{_NOWRAP}">{esc(h)}</th>' for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="text-align:left;vertical-align:top;{style(i)}">{c}</td>' for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return (
        f'<table class="conjure-table" style="width:100%"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _when(start: Any, end: Any) -> str:
    """An incident's span in one short cell: `10:14 → 10:15` (UTC), the date below it."""

    def split(value: Any) -> tuple[str, str]:
        text = str(value or "").replace("T", " ")
        return text[:10], text[11:19].rstrip("Z") or "?"

    (day, begins), (last_day, ends) = split(start), split(end) if end else ("", "still going")
    days = day if last_day in ("", day) else f"{day} → {last_day}"
    return f'{esc(begins)} → {esc(ends)}<br><span style="font-size:11px;opacity:0.7">{esc(days)}</span>'


def incidents_html(snap: Snapshot) -> str:
    if not snap.incidents:
        return note("No incidents: no burst of errors stood out in the window analysed.")
    rows = [
        [
            f'<b style="color:{STATUS_COLORS["critical"] if i["status"] == "ongoing" else "inherit"}">'
            f"{esc(i['status'])}</b>",
            _when(i["start"], i["end"]),
            f"{i['errors']:,}",
            f"{i['peak']:,}",
            esc(i["what"]),
        ]
        for i in snap.incidents
    ]
    return _table(["status", "when (UTC)", "errors", "peak", "what"], rows, text={4: "12em"})


def signatures_html(snap: Snapshot, limit: int = 10) -> str:
    if not snap.signatures:
        return note("No error signatures in the window analysed.")
    rows = []
    for s in snap.signatures[:limit]:
        services = ", ".join(str(k) for k in (s.get("services") or {}))
        rows.append(
            [
                f"{int(s.get('count', 0)):,}",
                esc(services),
                f'<code style="white-space:pre-wrap">{esc(str(s.get("signature", ""))[:300])}</code>',
            ]
        )
    more = len(snap.signatures) - limit
    tail = note(f"{more} more signatures in the report") if more > 0 else ""
    return _table(["count", "services", "signature"], rows, text={1: "8em", 2: "14em"}) + tail


def sources_html(snap: Snapshot) -> str:
    if not snap.sources:
        return note("One source.")
    rows = []
    for row in snap.sources:
        rate = f"{row['error_rate']:.1%}" if "error_rate" in row else ""
        health = str(row.get("health", ""))
        why = f": {row['error']}" if "error" in row else ""
        rows.append(
            [
                esc(source_name(str(row["source"]))),
                f"{int(row.get('records', 0)):,}",
                f"{int(row.get('errors', 0)):,}" if "errors" in row else "",
                rate,
                f'<span style="color:{STATUS_COLORS.get(health, "#c62828")}">{esc(health + why)}</span>',
                f'<code style="font-size:11px">{esc(row["source"])}</code>',
            ]
        )
    return _table(
        ["source", "records", "errors", "error rate", "health", "where"], rows, text={4: "8em", 5: "10em"}
    )


def static_html(snap: Snapshot, chart: bytes | None, last_run: str, live_note: str) -> str:
    """The whole dashboard as one static page, for nbconvert HTML and other frontends with no
    widget state: the tiles, the chart and the tables, and a line saying what needs a kernel."""
    parts = [
        f'<div style="font-size:15px;font-weight:600">Monitoring dashboard'
        f' <span style="font-weight:400;opacity:0.75;font-size:12px">last run {esc(last_run)}</span></div>',
        tiles_html(snap),
        img_png(chart, "errors over time by service") if chart else "",
        "<h4>Incidents</h4>",
        incidents_html(snap),
        "<h4>Top error signatures</h4>",
        signatures_html(snap),
    ]
    if snap.sources:
        parts += ["<h4>Sources</h4>", sources_html(snap)]
    parts.append(note(live_note))
    return '<div class="conjure-nb conjure-dashboard-static">' + "".join(parts) + "</div>"
