"""`FunctionModel`: a plain callable as a model (the original library's `api_callback`)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .._errors import UsageError
from ._base import BaseModel, ModelRequest, normalize_response

__all__ = ["FunctionModel", "as_model"]

_REQUEST_NAMES = ("request", "req")


class FunctionModel(BaseModel):
    """Wrap `fn(messages) -> dict` or `fn(request) -> dict` (sync or async) as a model.

    The function gets the request object when its first parameter is named `request`/`req` or is
    annotated as `ModelRequest`; otherwise it gets the list of messages. It may return a response
    dict, a plain string (a final text answer) or a list of content blocks.

    What the function calls cannot be seen from outside, so by default the notebook names it with a
    "function model" badge and does not show its token counts as usage or cost. Say what it is:

    Args:
        fn: the function.
        offline: it answers by itself (a stand-in for tests and offline tutorials): the badge says
            "function model, offline".
        real: it calls a real model (the original library's `api_callback`, e.g. the SDK or a local
            server): no badge, and the token counts it returns count as usage.

    Raises:
        UsageError: both `offline` and `real`: a function is either a stand-in or a real model.
    """

    def __init__(self, fn: Callable[..., Any], *, offline: bool = False, real: bool = False):
        if not callable(fn):
            raise TypeError(f"FunctionModel needs a callable, got {type(fn).__name__}")
        if offline and real:
            raise UsageError(
                "FunctionModel(offline=True, real=True): offline says the function answers by itself, "
                "real says it calls a real model; pass the one that is true"
            )
        self.fn = fn
        self.offline = offline
        self.real = real
        self.fake = None if real else "function model, offline" if offline else "function model"
        self._wants_request = _wants_request(fn)
        self._is_async = inspect.iscoroutinefunction(fn)

    def _arg(self, req: ModelRequest) -> Any:
        return req if self._wants_request else req.messages

    def request(self, req: ModelRequest) -> dict[str, Any]:
        """Call the function with the request or its messages and normalise what it returns.

        Example:
            >>> from conjure_nb.models._base import ModelRequest
            >>> model = FunctionModel(lambda messages: f"{len(messages)} message(s) so far")
            >>> model.request(ModelRequest([{"role": "user", "content": "hi"}]))["content"]
            [{'type': 'text', 'text': '1 message(s) so far'}]
        """
        if self._is_async:
            return normalize_response(_run_coroutine(self.fn(self._arg(req))))
        return normalize_response(self.fn(self._arg(req)))

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        """Await an async function; run a sync one in a worker thread."""
        if self._is_async:
            return normalize_response(await self.fn(self._arg(req)))
        return await asyncio.to_thread(self.request, req)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        if self.real:
            return f"<FunctionModel {name} (a function calling a real model)>"
        if self.offline:
            return f"<FunctionModel {name} (a local function standing in for a model, offline)>"
        return f"<FunctionModel {name} (a function: what it calls is not known)>"


def _wants_request(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    first = params[0]
    ann = first.annotation
    return first.name in _REQUEST_NAMES or ann is ModelRequest or ann == "ModelRequest"


def _run_coroutine(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def as_model(model: Any) -> Any:
    """A model as given, or a plain callable wrapped in a FunctionModel."""
    if model is None or hasattr(model, "request"):
        return model
    if callable(model):
        return FunctionModel(model)
    raise TypeError(
        f"model must have a request(req) method or be a callable fn(messages) -> dict, "
        f"not {type(model).__name__}"
    )
