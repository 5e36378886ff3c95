"""`ScriptedModel`: a fake model that replays a list of replies, for offline runs and tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from .._errors import ModelError
from ._base import BaseModel, ModelRequest, normalize_response

__all__ = ["ScriptedModel"]

Reply = str | dict[str, Any] | list[dict[str, Any]] | Callable[[ModelRequest], Any]


class ScriptedModel(BaseModel):
    """Replies from a list, in order: no network, no API key, not a real model.

    Each item is a string (a final text answer), a list of content blocks, a full response dict,
    or a callable `fn(request)` returning one of those (to react to tool results). Build tool
    calls with `ScriptedModel.tool_use(name, **input)` and mix blocks with `ScriptedModel.reply`.

    Args:
        replies: the scripted replies.
        chunk_size: when the caller streams, text is delivered in pieces of this many characters.
        usage: token counts reported for every reply: made up (they let usage code be tested), so a
            session also keeps them in `invented_usage` and the notebook never shows them as usage.
    """

    fake = "scripted model, offline"

    def __init__(
        self,
        replies: Iterable[Reply],
        *,
        chunk_size: int = 8,
        usage: dict[str, int] | None = None,
    ):
        self.replies = list(replies)
        self.chunk_size = max(1, chunk_size)
        self.usage = usage or {"input_tokens": 10, "output_tokens": 5}
        self.requests: list[ModelRequest] = []
        self._lock = threading.Lock()

    @staticmethod
    def text(text: str) -> dict[str, Any]:
        """A text content block.

        Example:
            >>> ScriptedModel.text("done")
            {'type': 'text', 'text': 'done'}
        """
        return {"type": "text", "text": text}

    @staticmethod
    def tool_use(name: str, id: str | None = None, /, **input: Any) -> dict[str, Any]:
        """A `tool_use` block asking for tool `name` with `input` (a fresh id unless `id` is given).

        Example:
            >>> ScriptedModel.tool_use("bash_tool", "toolu_1", command="ls", description="list")
            {'type': 'tool_use', 'id': 'toolu_1', 'name': 'bash_tool', 'input': {'command': 'ls', 'description': 'list'}}
        """
        return {
            "type": "tool_use",
            "id": id or f"toolu_{uuid.uuid4().hex[:20]}",
            "name": name,
            "input": input,
        }

    @staticmethod
    def reply(*blocks: dict[str, Any] | str, stop_reason: str | None = None) -> dict[str, Any]:
        """One reply made of blocks, strings becoming text blocks: text before tool calls, say.

        Example:
            >>> ScriptedModel.reply("Let me look.", ScriptedModel.tool_use("view", "toolu_2", path="SKILL.md"))["content"][0]
            {'type': 'text', 'text': 'Let me look.'}
        """
        content = [ScriptedModel.text(b) if isinstance(b, str) else b for b in blocks]
        out: dict[str, Any] = {"content": content}
        if stop_reason:
            out["stop_reason"] = stop_reason
        return out

    @property
    def remaining(self) -> int:
        """How many scripted replies are left: 0 at the end of a script that was used up exactly."""
        return len(self.replies) - len(self.requests)

    def request(self, req: ModelRequest) -> dict[str, Any]:
        """The next scripted reply (a callable one is called with `req`), streamed in chunks when asked.

        Every request is kept in `requests`, so a test can check what the loop sent.

        Raises:
            ModelError: the script has no reply left.
        """
        with self._lock:
            index = len(self.requests)
            if index >= len(self.replies):
                raise ModelError(
                    f"ScriptedModel ran out of replies: {len(self.replies)} scripted, "
                    f"request {index + 1} asked for another"
                )
            self.requests.append(req)
            item = self.replies[index]
        if callable(item):
            item = item(req)
        reply = normalize_response(item)
        reply.setdefault("model", "scripted")
        if not (isinstance(item, dict) and "usage" in item):
            reply["usage"] = dict(self.usage)
        if req.on_text is not None:
            for block in reply["content"]:
                if block.get("type") == "text":
                    text = block["text"]
                    for i in range(0, len(text), self.chunk_size):
                        req.on_text(text[i : i + self.chunk_size])
        return reply

    def __repr__(self) -> str:
        return (
            f"<ScriptedModel: offline fake model replaying {len(self.replies)} scripted replies "
            f"({len(self.requests)} used); not a real model>"
        )
