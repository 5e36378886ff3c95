"""`AnthropicModel`: Claude through the official `anthropic` SDK (or any compatible server).

Every option reaches the request body whatever the SDK version: an option the installed SDK knows
as a keyword parameter is passed as one, the others go through the SDK's `extra_body`. So
`temperature`, `top_k` or a server's own knobs (llama.cpp's `repeat_penalty`) arrive the same
way on SDK 1.x, which still has some of them as parameters, and on 2.x, which has none.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import weakref
from collections.abc import Callable
from typing import Any

from .._errors import ModelError, UsageError
from ._base import BaseModel, ModelRequest, ensure_real_requests_allowed, stand_in_server

__all__ = ["DEFAULT_MODEL", "AnthropicModel", "api_error", "check_options", "split_params"]

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

# Body fields a caller must not set through options, and where each one is set instead.
_RESERVED = {
    "model": "pass model= to AnthropicModel",
    "messages": "the session sends its own history",
    "max_tokens": "pass max_tokens= to the session or to AnthropicModel",
    "stream": "streaming is chosen per request (it is on when on_event= or astream() is used)",
    "extra_body": "give body fields as options directly",
    "extra_headers": "pass default_headers= to AnthropicModel",
    "extra_query": "pass default_query= to AnthropicModel",
    "timeout": "pass timeout= to AnthropicModel",
}
# Keyword parameters of the SDK's methods that are not body fields.
_NOT_BODY = {"extra_body", "extra_headers", "extra_query", "timeout", "betas"}


class AnthropicModel(BaseModel):
    """Claude via the `anthropic` SDK, with the SDK's retries and backoff.

    Sampling settings can be given here (`temperature=0`) or per session (`options=`); the
    session's options win. Anything else the server understands goes in `options`
    (`{"repeat_penalty": 1.1}` for llama.cpp, `{"thinking": {...}}` for Claude).

    Args:
        model: model id (default: a current Claude Sonnet; env CONJURE_MODEL overrides).
        api_key: the key; defaults to ANTHROPIC_API_KEY. It is never printed.
        base_url: any Anthropic-compatible server (Ollama, llama.cpp, vLLM, a LiteLLM proxy).
            Servers that need no key may be used without one when `base_url` is given.
        max_tokens: default max_tokens for each request.
        temperature: sampling temperature sent with every request (None: the server's default).
        top_p: nucleus sampling cut-off sent with every request.
        top_k: top-k sampling cut-off sent with every request.
        stop_sequences: strings that end the reply, sent with every request.
        options: other body fields sent with every request.
        **client_options: passed to `anthropic.Anthropic` (max_retries, timeout, default_headers...).

    Raises:
        UsageError: no key and no base_url, or an option that cannot be sent (named).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        api_key: str | None = None,
        base_url: str | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        stop_sequences: list[str] | None = None,
        options: dict[str, Any] | None = None,
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
        sampling = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": top_k,
            "stop_sequences": stop_sequences,
        }
        self.options: dict[str, Any] = {k: v for k, v in sampling.items() if v is not None}
        self.options.update(options or {})
        check_options(self.options)
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

    @property
    def fake(self) -> str | None:  # type: ignore[override]  # computed, not set
        """ "fake Anthropic server, offline" while `base_url` is a `FakeAnthropicServer` running in
        this process (its replies and token counts are made up); None for a real server."""
        return stand_in_server(self.base_url)

    @property
    def api_key(self) -> str | None:
        """The key this model sends (None for a keyless compatible server); never printed."""
        key = self._opts["api_key"]
        return None if key == "no-key" else str(key)

    def _params(self, method: Callable[..., Any], req: ModelRequest) -> dict[str, Any]:
        check_options(req.options)
        params = {**self.options, **req.to_body()}
        params["model"] = self.model
        params["max_tokens"] = req.max_tokens or self.max_tokens
        betas = [*req.betas, *params.pop("betas", [])]
        if betas:
            params["betas"] = list(dict.fromkeys(betas))
        return split_params(method, params)

    def _api(self, client: Any, req: ModelRequest) -> Any:
        beta = req.betas or "betas" in req.options or "betas" in self.options or req.container is not None
        return client.beta.messages if beta else client.messages

    def request(self, req: ModelRequest) -> dict[str, Any]:
        """Send `req` to the Messages API (streamed when `req.on_text` is set) and return the reply.

        The beta endpoint is used when the request carries betas or a hosted container. Options go
        as SDK parameters where the installed SDK knows them, otherwise in the body (`extra_body`).

        Returns:
            The final message as a dict (`content`, `stop_reason`, `usage`, `id`, `model`).

        Raises:
            ModelError: the API answered with an error (with its HTTP status) or could not be reached.
            UsageError: real requests are switched off in this process (`CONJURE_FORBID_REAL_MODELS`,
                as the test suite does) and no `base_url` points elsewhere.
        """
        ensure_real_requests_allowed(self.base_url)
        api = self._api(self.client, req)
        try:
            if req.on_text is None:
                return _dump(api.create(**self._params(api.create, req)))
            with api.stream(**self._params(api.stream, req)) as stream:
                for event in stream:
                    _forward_text(event, req)
                return _dump(stream.get_final_message())
        except self._anthropic.APIError as exc:
            raise self._error(exc) from exc

    async def arequest(self, req: ModelRequest) -> dict[str, Any]:
        """The async `request`, on a client of its own (an async client belongs to one event loop)."""
        ensure_real_requests_allowed(self.base_url)
        # An async client's connections belong to one event loop; notebooks and asyncio.run()
        # come and go, so each request gets its own client, closed when it is done.
        async with self._anthropic.AsyncAnthropic(**self._opts) as client:
            api = self._api(client, req)
            try:
                if req.on_text is None:
                    return _dump(await api.create(**self._params(api.create, req)))
                async with api.stream(**self._params(api.stream, req)) as stream:
                    async for event in stream:
                        _forward_text(event, req)
                    return _dump(await stream.get_final_message())
            except self._anthropic.APIError as exc:
                raise self._error(exc) from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()

    def _error(self, exc: Any) -> ModelError:
        return api_error(exc, self._where())

    def _where(self) -> str:
        return self.base_url or "https://api.anthropic.com"


def api_error(exc: Any, where: str = "https://api.anthropic.com") -> ModelError:
    """An SDK exception as a `ModelError`: status, a hint, the server's own message, retry-after."""
    status = getattr(exc, "status_code", None)
    if status is None:
        return ModelError(f"could not reach the model API at {where}: {exc}")
    hint = _STATUS_HINTS.get(status, "the API returned an error")
    body = getattr(exc, "body", None)
    detail = server_message(body) or getattr(exc, "message", "") or ""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return ModelError(
        f"model API error {status}: {hint}. {detail}".strip(),
        status=status,
        body=body,
        retry_after=retry_after(headers),
    )


def check_options(options: dict[str, Any]) -> None:
    """Refuse, by name, an option that cannot go into a request body.

    Raises:
        UsageError: a reserved name (with where to set it instead) or a value that is not JSON.
    """
    for key, value in options.items():
        if not isinstance(key, str) or not key:
            raise UsageError(f"model option names must be non-empty strings, not {key!r}")
        if key in _RESERVED:
            raise UsageError(f"model option {key!r} cannot be set through options: {_RESERVED[key]}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise UsageError(
                f"model option {key!r} cannot be sent: its value {value!r} is not JSON ({exc})"
            ) from exc


@functools.lru_cache(maxsize=64)
def _keywords(func: Callable[..., Any]) -> frozenset[str]:
    params = inspect.signature(func).parameters.values()
    return frozenset(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def split_params(method: Callable[..., Any], params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for `method`: the names it knows as-is, every other field in `extra_body`."""
    func = getattr(method, "__func__", method)
    known = _keywords(func) - (_NOT_BODY - {"betas"})
    kwargs = {k: v for k, v in params.items() if k in known}
    extra = {k: v for k, v in params.items() if k not in known}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def server_message(body: Any) -> str | None:
    """The human message in an error body: Anthropic's and OpenAI's shapes (llama.cpp, vLLM)."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


def retry_after(headers: Any) -> float | None:
    """Seconds the server asked to wait (`retry-after-ms` or `retry-after`), if it said."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            continue
    return None


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
