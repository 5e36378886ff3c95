"""Telemetry around the model seam: `ObservedModel` wraps a turn's model and reports each request.

A session puts one around the model of each turn (the call's own `model=`, or its own), so neither
the tool loop nor any model (a user's included) emits an event itself:

- before each request, `("conjure","conversation","iteration")` and
  `("conjure","backend",<backend>,"iteration")`, numbered 1, 2, ... within the turn;
- when a reply comes back, `("conjure","model","request")` with its duration and the reply's
  integer usage fields (a request that raises reports nothing here: the error reaches the caller);
  its `fake_model` metadata names a stand-in model (`fake_label`), whose counts are not real.

docs/telemetry.md lists every event with its measurements and metadata.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from .. import telemetry
from ._base import Model, ModelRequest, fake_label

__all__ = ["ObservedModel"]


class ObservedModel:
    """`inner` with telemetry around each request; the requests and replies are untouched.

    Args:
        inner: the model of the turn.
        labels: the metadata of every event (the session's id and backend).
    """

    def __init__(self, inner: Model, labels: Mapping[str, Any]):
        self.inner = inner
        self.labels = dict(labels)
        self.iteration = 0

    def _start(self) -> tuple[int, float]:
        self.iteration += 1
        step = {"iteration": self.iteration}
        telemetry.emit(("conjure", "conversation", "iteration"), step, self.labels)
        telemetry.emit(
            ("conjure", "backend", str(self.labels.get("backend")), "iteration"), step, self.labels
        )
        return self.iteration, time.perf_counter()

    def _stop(self, reply: Any, iteration: int, t0: float) -> None:
        ms = (time.perf_counter() - t0) * 1000
        reply = reply if isinstance(reply, dict) else {}
        usage = reply.get("usage") if isinstance(reply.get("usage"), dict) else {}
        telemetry.emit(
            ("conjure", "model", "request"),
            {"duration_ms": ms, **{k: v for k, v in usage.items() if isinstance(v, int)}},
            {
                **self.labels,
                "model": repr(self.inner),
                "stop_reason": reply.get("stop_reason"),
                "iteration": iteration,
                "fake_model": fake_label(self.inner),  # a stand-in's token counts are made up
            },
        )

    def request(self, req: ModelRequest) -> dict[str, Any]:
        """The inner model's reply, reported."""
        iteration, t0 = self._start()
        reply = self.inner.request(req)
        self._stop(reply, iteration, t0)
        return reply

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        """The inner model's async reply (its `request` in a thread when it has no `arequest`), reported."""
        iteration, t0 = self._start()
        arequest = getattr(self.inner, "arequest", None)
        reply = await (arequest(req) if arequest else asyncio.to_thread(self.inner.request, req))
        self._stop(reply, iteration, t0)
        return reply

    def __repr__(self) -> str:
        return f"<ObservedModel around {self.inner!r}>"
