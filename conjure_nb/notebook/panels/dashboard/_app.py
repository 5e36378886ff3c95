"""The dashboard as a standalone app: what `conjure-nb dashboard` serves with Voilà.

Voilà runs a notebook, so the package ships one (`app.ipynb` beside this module) whose only cell
calls `app()`. Everything it needs comes from the environment the command sets:

| variable | meaning | default |
|---|---|---|
| `CONJURE_DASHBOARD_SOURCES` | log API URLs or files, one per line (several: a fleet) | required |
| `CONJURE_DASHBOARD_INTERVAL` | auto-refresh period in seconds (0, 30, 60, 300) | 60 |
| `CONJURE_DASHBOARD_LIMIT` | records fetched per source on each refresh | 2000 |

The chat talks to Claude when ANTHROPIC_API_KEY is set; without a key it says so and answers from
the numbers on the dashboard (no model is involved).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...._errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from . import Dashboard

__all__ = ["NOTEBOOK", "app", "offline_answer"]

NOTEBOOK = Path(__file__).with_name("app.ipynb")


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    try:
        return int(text) if text else default
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a whole number") from None


def offline_answer(board: Dashboard) -> Any:
    """A stand-in for the model that reads the dashboard's numbers back (no API key)."""

    def answer(messages: list[dict[str, Any]]) -> str:
        snap = board.monitor.snapshot if board.monitor is not None else None
        head = "(offline: no ANTHROPIC_API_KEY, so no model answers; these are the dashboard's numbers)"
        if snap is None:
            return f"{head} No run has finished yet."
        window = snap.window
        return (
            f"{head}\n\nStatus **{snap.status}**: {snap.rule}. Error rate {snap.error_rate:.1%} over "
            f"{snap.records:,} records ({window.get('start')} to {window.get('end')}); incidents: "
            f"{snap.ongoing} ongoing, {snap.resolved} resolved."
        )

    return answer


def app(
    sources: list[str] | None = None, *, interval: int | None = None, limit: int | None = None
) -> Dashboard:
    """The dashboard over `sources` (default: `CONJURE_DASHBOARD_SOURCES`), its chat ready."""
    from ....models._function import FunctionModel
    from ....monitoring._agent import default_skills_dir
    from ....session import Session
    from ....skills._registry import Registry
    from . import dashboard

    if sources is None:
        sources = [
            s.strip() for s in os.environ.get("CONJURE_DASHBOARD_SOURCES", "").splitlines() if s.strip()
        ]
    if not sources:
        raise UsageError("no log source: pass sources=[...] or set CONJURE_DASHBOARD_SOURCES")
    registry = Registry([default_skills_dir()])
    session = Session.new_local(registry.list())
    board = dashboard(
        session,
        skills=registry,
        sources=sources,
        interval=_env_int("CONJURE_DASHBOARD_INTERVAL", 60) if interval is None else interval,
        limit=_env_int("CONJURE_DASHBOARD_LIMIT", 2000) if limit is None else limit,
    )
    if os.environ.get("ANTHROPIC_API_KEY"):
        from ....models._anthropic import AnthropicModel

        session.model = AnthropicModel()
    else:
        session.model = FunctionModel(offline_answer(board), offline=True)
        board.chat_note.value = (
            "<b style='font-size:15px'>Ask</b> <span style='padding:1px 6px;border-radius:8px;"
            "background:rgba(239,108,0,0.15);color:#ef6c00;font-size:12px'>offline: no model</span> "
            "<span style='opacity:0.75'>without ANTHROPIC_API_KEY the answers read the dashboard's numbers back</span>"
        )
    board.closers += [session.close, registry.close]
    return board
