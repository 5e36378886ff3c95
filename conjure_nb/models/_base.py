"""The model seam: anything with `request(req) -> dict` (and `async arequest(req)`).

The reply is a Messages-API response dict: `{"role": "assistant", "content": [...],
"stop_reason": ..., "usage": {...}}`. Models that can stream call `req.on_text(delta)` for each
piece of text as it arrives and still return the whole message at the end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._errors import ModelError

__all__ = [
    "Model",
    "ModelRequest",
    "allow_real_requests",
    "ensure_real_requests_allowed",
    "normalize_response",
]


@dataclass
class ModelRequest:
    """One request to a model, as the loop builds it."""

    messages: list[dict[str, Any]]
    _: KW_ONLY
    system: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int | None = None
    container: Any = None
    betas: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    """Extra Messages-API parameters (tool_choice, temperature, stop_sequences, ...)."""
    on_text: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    """Set when the caller wants text deltas as they stream."""
    on_event: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)
    """Set when the caller wants live events; a model that learns of server-side tool calls and
    files (the hosted backend) reports them here as the tools layer's events."""

    def to_body(self) -> dict[str, Any]:
        """The JSON body fields (without model and max_tokens, which the model adds)."""
        body: dict[str, Any] = {"messages": self.messages}
        if self.system:
            body["system"] = self.system
        if self.tools:
            body["tools"] = self.tools
        if self.container is not None:
            body["container"] = self.container
        body.update(self.options)
        return body


@runtime_checkable
class Model(Protocol):
    """The one required method is `request`; `arequest` is its async twin.

    Any object with these methods is a model; so is a plain callable `fn(messages) -> dict`, which the
    session wraps in a `FunctionModel`. Subclass `conjure_nb.models._base.BaseModel` to get `arequest`
    for free.
    """

    def request(self, req: ModelRequest) -> dict[str, Any]:
        """Send one request and return the model's reply.

        Args:
            req: everything the loop wants sent: `messages`, `system`, `tools`, `container`, `betas`,
                `options`; `req.to_body()` gives them as Messages-API body fields. When `req.on_text`
                is set the caller wants the answer's text as it streams: call it with each piece.

        Returns:
            A Messages-API response dict: at least `content` (a list of blocks); usually also
            `stop_reason`, `usage` and `id`.

        Raises:
            ModelError: the API failed; a `ModelError` carries the HTTP status when there is one.
        """
        ...

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        """The async twin of `request`: same argument, same reply, same errors."""
        ...


class BaseModel:
    """Convenience base: `arequest` runs `request` in a thread.

    Attributes:
        fake: what a stand-in model is, in a few words ("scripted model, offline"), or None for a
            real one. The notebook shows it as a badge wherever the model's output shows, and
            shows no token usage or cost for it (a stand-in's counts are made up or unchecked);
            see `fake_label`.
    """

    fake: str | None = None

    def request(self, req: ModelRequest) -> dict[str, Any]:  # pragma: no cover - abstract
        """Send one request and return the reply (a Messages-API response dict); see `Model.request`."""
        raise NotImplementedError

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        """Run `request` in a worker thread, so a blocking model does not stall the event loop."""
        return await asyncio.to_thread(self.request, req)


def fake_label(model: Any) -> str | None:
    """What a stand-in model is ("scripted model, offline"), from its `fake`; None for a real one
    (or a model that does not say).

    This is the one rule every view follows. A model with a label is named by a badge wherever
    its output shows, and its token counts are never shown as usage or cost: the session keeps
    them apart (`Session.invented_usage`). The labels:

    - `ScriptedModel`: "scripted model, offline", always (it replays a list).
    - `FunctionModel(fn)`: "function model": what the function calls cannot be known, so it is not
      called offline and its counts are not taken as usage; `offline=True` says it answers by
      itself ("function model, offline"); `real=True` says it calls a real model (no label).
    - `AnthropicModel(base_url=...)` pointed at a `FakeAnthropicServer` running in this process:
      "fake Anthropic server, offline" (the server registers its address while it runs).
    """
    label = getattr(model, "fake", None)
    return label if isinstance(label, str) and label else None


_stand_in_servers: dict[tuple[str, int], str] = {}
_LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}


def _server_key(url: str | None) -> tuple[str, int] | None:
    from urllib.parse import urlparse

    if not url:
        return None
    try:
        parsed = urlparse(url)
        host, port = parsed.hostname or "", parsed.port
    except ValueError:
        return None
    if host not in _LOOPBACK or port is None:
        return None
    return _LOOPBACK[host], port


def mark_stand_in_server(url: str, label: str | None) -> None:
    """Say that the loopback server at `url` is a stand-in (`label`), or no longer runs (None).

    `FakeAnthropicServer` calls this while it serves, so a model pointed at it is named
    (`fake_label`); only loopback addresses are kept.
    """
    key = _server_key(url)
    if key is None:
        return
    if label:
        _stand_in_servers[key] = label
    else:
        _stand_in_servers.pop(key, None)


def stand_in_server(url: str | None) -> str | None:
    """The label of the stand-in server running at `url` in this process, or None."""
    key = _server_key(url)
    return None if key is None else _stand_in_servers.get(key)


_real_requests_allowed = os.environ.get("CONJURE_FORBID_REAL_MODELS", "") not in ("1", "true", "yes")


def allow_real_requests(allowed: bool) -> bool:
    """Allow or forbid requests to non-loopback model servers; returns the previous setting.

    Test suites call `allow_real_requests(False)` (or set CONJURE_FORBID_REAL_MODELS=1) so that no
    test can reach a paid API by accident; loopback servers stay allowed.
    """
    global _real_requests_allowed
    previous, _real_requests_allowed = _real_requests_allowed, allowed
    return previous


def ensure_real_requests_allowed(base_url: str | None) -> None:
    if _real_requests_allowed:
        return
    from urllib.parse import urlparse

    host = urlparse(base_url or "https://api.anthropic.com").hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        return
    raise ModelError(
        f"real model requests are forbidden here (conjure_nb.models.allow_real_requests(False)); "
        f"refused a request to {host}"
    )


def normalize_response(reply: Any) -> dict[str, Any]:
    """Accept what fakes return (a dict, a string, a list of blocks) and fill in the usual fields."""
    if isinstance(reply, str):
        reply = {"content": [{"type": "text", "text": reply}]}
    elif isinstance(reply, list):
        reply = {"content": reply}
    if not isinstance(reply, dict):
        raise ModelError(f"a model returned {type(reply).__name__}; expected a Messages-API response dict")
    content = reply.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise ModelError("a model's response has no 'content' list")
    out = dict(reply)
    out["content"] = content
    out.setdefault("type", "message")
    out.setdefault("role", "assistant")
    out.setdefault("id", f"msg_{uuid.uuid4().hex[:24]}")
    if not out.get("stop_reason"):
        has_tool = any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content)
        out["stop_reason"] = "tool_use" if has_tool else "end_turn"
    out.setdefault("usage", {"input_tokens": 0, "output_tokens": 0})
    return out
