"""A loopback HTTP server that speaks the Anthropic Messages wire format.

Point `AnthropicModel(base_url=server.url)` (or the SDK itself) at it to test without a key or a
network: it records every request (path, headers, JSON body) and answers from a queue of replies,
as plain JSON or as server-sent events when the request asks to stream.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..models._base import mark_stand_in_server
from ._hosted_api import Fault, HostedState
from ._serve import serve_in_thread

__all__ = ["FakeAnthropicServer", "Fault", "RecordedRequest"]

Reply = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    raw: bytes = field(default=b"", repr=False)


def _message(reply: dict[str, Any], model: str) -> dict[str, Any]:
    content = reply.get("content", [])
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    stop = reply.get("stop_reason") or (
        "tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn"
    )
    msg = {
        "id": reply.get("id", f"msg_{uuid.uuid4().hex[:24]}"),
        "type": "message",
        "role": "assistant",
        "model": reply.get("model", model),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": reply.get("stop_sequence"),
        "usage": reply.get("usage", {"input_tokens": 12, "output_tokens": 7}),
    }
    if "container" in reply:
        msg["container"] = reply["container"]
    return msg


def _block_events(i: int, block: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The events that stream one content block: text in small deltas, tool input as JSON."""

    def delta(d: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}

    def start(b: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "content_block_start", {"type": "content_block_start", "index": i, "content_block": b}

    kind = block.get("type")
    if kind == "text":
        text = block["text"]
        events = [start({"type": "text", "text": ""})]
        events += [delta({"type": "text_delta", "text": text[j : j + 5]}) for j in range(0, len(text), 5)]
    elif kind in ("tool_use", "server_tool_use"):
        partial = json.dumps(block.get("input", {}))
        events = [start({**block, "input": {}}), delta({"type": "input_json_delta", "partial_json": partial})]
    else:  # result blocks of server tools arrive whole
        events = [start(block)]
    return [*events, ("content_block_stop", {"type": "content_block_stop", "index": i})]


def _sse(msg: dict[str, Any]) -> bytes:
    start = {**msg, "content": [], "stop_reason": None, "usage": {**msg["usage"], "output_tokens": 0}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start})
    ]
    for i, block in enumerate(msg["content"]):
        events += _block_events(i, block)
    delta = {"stop_reason": msg["stop_reason"], "stop_sequence": msg.get("stop_sequence")}
    usage = {"output_tokens": msg["usage"].get("output_tokens", 0)}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def error_reply(reply: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """An error answer: Anthropic's `{"type": "error", "error": {...}}` shape, or `body` as given.

    `body` lets a test replay what other servers send (llama.cpp and vLLM answer with OpenAI's
    `{"error": {"message", "type", "code"}}`); `headers` adds e.g. `retry-after`.
    """
    headers = {"request-id": "req_fake", **reply.get("headers", {})}
    if "body" in reply:
        body = reply["body"]
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    else:
        err = reply.get("error", {"type": "api_error", "message": "error"})
        payload = json.dumps({"type": "error", "error": err}).encode()
    return int(reply["status"]), headers, payload


STAND_IN_LABEL = "fake Anthropic server, offline"


class FakeAnthropicServer:
    """A Messages API on 127.0.0.1 answering from a queue.

    Queue items: a reply dict (`{"content": [...], "stop_reason": ...}`), a callable taking the
    request body and returning one, or an error `{"status": 529, "error": {"type": ..., "message": ...}}`
    (with optional `headers`, or a raw `body` in another server's shape: see `error_reply`).
    When the queue is empty the server answers 500 with a message saying so.
    """

    def __init__(
        self, replies: list[Reply] | None = None, *, model: str = "fake-claude", skills_shape: str = "2.x"
    ):
        self.replies: list[Reply] = list(replies or [])
        self.hosted = HostedState(skills_shape)
        """Skills, files and containers (see `conjure_nb.testing._hosted_api`)."""
        self.requests: list[RecordedRequest] = []
        self.model = model
        self.extra_routes: dict[
            tuple[str, str], Callable[[RecordedRequest], tuple[int, dict[str, str], bytes]]
        ] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAnthropicServer:
        """Serve in a thread. While it serves, a model pointed at `url` is named as this stand-in
        ("fake Anthropic server, offline") and its made-up token counts are not shown as usage."""
        self._thread = serve_in_thread(self._server, "fake-anthropic")
        mark_stand_in_server(self.url, STAND_IN_LABEL)
        return self

    def stop(self) -> None:
        mark_stand_in_server(self.url, None)
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self) -> FakeAnthropicServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_file(
        self,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        *,
        purpose: str | None = None,
    ) -> str:
        """Register a file a code-execution run "generated"; returns its file id.

        `purpose` is stored with it, so `list(purpose=...)` filters can be tested.
        """
        return self.hosted.add_file(filename, content, mime_type, purpose=purpose)

    def fail(self, method: str, path: str, status: int, message: str = "injected fault", **kw: Any) -> None:
        """Answer the next request(s) to `method path*` with this error (`kind`, `headers`, `times`)."""
        self.hosted.faults.append(Fault(method, path, status, message, **kw))

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path starts with `path`."""
        return [r for r in self.requests if r.method == method and r.path.split("?")[0].startswith(path)]

    def _next(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if not self.replies:
                return {
                    "status": 500,
                    "error": {"type": "api_error", "message": "FakeAnthropicServer has no reply queued"},
                }
            item = self.replies.pop(0)
        return item(body) if callable(item) else item

    def _respond(self, rec: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        route = self.extra_routes.get((rec.method, rec.path.split("?")[0]))
        if route is not None:
            return route(rec)
        fault = self.hosted.fault_for(rec.method, rec.path)
        if fault is not None:
            return fault
        hosted = self.hosted.route(rec.method, rec.path, rec.headers, rec.raw)
        if hosted is not None:
            return hosted
        if rec.path.split("?")[0] != "/v1/messages":
            return (
                404,
                {},
                json.dumps(
                    {"type": "error", "error": {"type": "not_found_error", "message": rec.path}}
                ).encode(),
            )
        container = self.hosted.container_for(rec.body or {})
        if isinstance(container, tuple):
            return container
        reply = self._next(rec.body or {})
        if "status" in reply:
            return error_reply(reply)
        if container is not None and "container" not in reply:
            reply = {**reply, "container": container}
        msg = _message(reply, (rec.body or {}).get("model", self.model))
        if (rec.body or {}).get("stream"):
            return 200, {"content-type": "text/event-stream"}, _sse(msg)
        return 200, {"content-type": "application/json"}, json.dumps(msg).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                rec = RecordedRequest(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw
                )
                with server._lock:
                    server.requests.append(rec)
                status, headers, payload = server._respond(rec)
                self.send_response(status)
                headers = {"content-type": "application/json", **headers}
                cut = headers.pop("x-fake-cut", None)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if cut is None:
                    self.wfile.write(payload)
                    return
                # a download cut off mid-body: announce it all, send part, drop the connection
                self.wfile.write(payload[: int(cut)])
                self.wfile.flush()
                self.close_connection = True

            do_POST = _handle
            do_GET = _handle
            do_DELETE = _handle

        return Handler
