"""`AnthropicModel`: Claude through the official `anthropic` SDK (or any compatible server)."""

from __future__ import annotations

import os
import weakref
from typing import Any

from ..errors import ModelError, UsageError
from .base import BaseModel, ModelRequest, ensure_real_requests_allowed

__all__ = ["DEFAULT_MODEL", "AnthropicModel"]

DEFAULT_MODEL = os.environ.get("CONJURE_MODEL", "claude-sonnet-4-6")
DEFAULT_MAX_TOKENS = 8192

_STATUS_HINTS = {
    400: "the request was rejected as invalid",
    401: "authentication failed: check ANTHROPIC_API_KEY or the api_key argument",
    403: "permission denied for this key",
    404: "not found (check the model id and base_url)",
    413: "the request is too large",
    429: "rate limited; the SDK already retried with backoff, try again later",
    500: "the API had an internal error",
    529: "the API is overloaded; try again later",
}


class AnthropicModel(BaseModel):
    """Claude via the `anthropic` SDK, with the SDK's retries and backoff.

    Args:
        model: model id (default: a current Claude Sonnet; env CONJURE_MODEL overrides).
        api_key: the key; defaults to ANTHROPIC_API_KEY. It is never printed.
        base_url: any Anthropic-compatible server (Ollama, llama.cpp, vLLM, a LiteLLM proxy).
            Servers that need no key may be used without one when `base_url` is given.
        max_tokens: default max_tokens for each request.
        **client_options: passed to `anthropic.Anthropic` (max_retries, timeout, default_headers...).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        **client_options: Any,
    ):
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key and base_url is None:
            raise UsageError(
                "AnthropicModel needs an API key: pass api_key=... or set the ANTHROPIC_API_KEY "
                "environment variable (or give base_url= for a compatible server that needs none)"
            )
        try:
            import anthropic
        except ImportError as exc:  # pragma: no cover - anthropic is a core dependency
            raise ImportError("AnthropicModel needs the anthropic package: pip install conjure-nb") from exc
        self.model = model
        self.max_tokens = max_tokens
        self.base_url = base_url
        self._anthropic = anthropic
        self._opts = {"api_key": key or "no-key", "base_url": base_url, **client_options}
        self.client = anthropic.Anthropic(**self._opts)
        # close pooled connections when the model is dropped, not when the socket is collected
        weakref.finalize(self, self.client.close)

    def __repr__(self) -> str:
        where = f" at {self.base_url}" if self.base_url else ""
        return f"<AnthropicModel {self.model}{where}>"

    def _params(self, req: ModelRequest) -> dict[str, Any]:
        params = req.to_body()
        params["model"] = self.model
        params["max_tokens"] = req.max_tokens or self.max_tokens
        if req.betas:
            params["betas"] = list(req.betas)
        return params

    def _api(self, client: Any, req: ModelRequest) -> Any:
        return client.beta.messages if req.betas or req.container is not None else client.messages

    def request(self, req: ModelRequest) -> dict[str, Any]:
        ensure_real_requests_allowed(self.base_url)
        api = self._api(self.client, req)
        try:
            if req.on_text is None:
                return _dump(api.create(**self._params(req)))
            with api.stream(**self._params(req)) as stream:
                for event in stream:
                    _forward_text(event, req)
                return _dump(stream.get_final_message())
        except self._anthropic.APIError as exc:
            raise self._error(exc) from exc

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        ensure_real_requests_allowed(self.base_url)
        # An async client's connections belong to one event loop; notebooks and asyncio.run()
        # come and go, so each request gets its own client, closed when it is done.
        async with self._anthropic.AsyncAnthropic(**self._opts) as client:
            api = self._api(client, req)
            try:
                if req.on_text is None:
                    return _dump(await api.create(**self._params(req)))
                async with api.stream(**self._params(req)) as stream:
                    async for event in stream:
                        _forward_text(event, req)
                    return _dump(await stream.get_final_message())
            except self._anthropic.APIError as exc:
                raise self._error(exc) from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def _error(self, exc: Any) -> ModelError:
        status = getattr(exc, "status_code", None)
        if status is None:
            return ModelError(f"could not reach the model API at {self._where()}: {exc}")
        hint = _STATUS_HINTS.get(status, "the API returned an error")
        detail = getattr(exc, "api_message", None) or getattr(exc, "message", "") or ""
        body = getattr(exc, "body", None)
        return ModelError(f"model API error {status}: {hint}. {detail}".strip(), status=status, body=body)

    def _where(self) -> str:
        return self.base_url or "https://api.anthropic.com"


def _forward_text(event: Any, req: ModelRequest) -> None:
    if getattr(event, "type", None) == "content_block_delta":
        delta = event.delta
        if getattr(delta, "type", None) == "text_delta" and req.on_text is not None:
            req.on_text(delta.text)


def _dump(message: Any) -> dict[str, Any]:
    data: dict[str, Any] = message.model_dump(mode="json", exclude_none=True)
    data.pop("parsed_output", None)
    for block in data.get("content", []):
        if isinstance(block, dict):
            block.pop("parsed_output", None)
    return data
