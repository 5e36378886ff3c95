"""How conjure_nb's objects display: one `_repr_mimebundle_`, the formats from a table.

An object that shows itself in a notebook (a `Response`, a `ToolResult`, a `Skill`, ...) derives
from `Rendered` and lists its formats as a class table, format name -> {MIME type: renderer}.
IPython calls the one `_repr_mimebundle_`; it builds the bundle of the object's format from that
table (only the types the frontend asked for) and adds the object's output metadata:

```python
class Response(Rendered):
    formats = {
        "markdown": {"text/html": response_html, "text/plain": repr},   # the first is the default
        "text": {"text/plain": lambda r: r.text},
    }
```

A cell that asked for another format (`%%conjure chat -f text`) marks the very object it returns
with `show_as(obj, "text", metadata)`, so `Out[n]`, `_` and `_conjure` (one object) keep showing
it that way, with the cell's metadata. Another object, even an equal one, shows its default.

Every renderer that puts untrusted text into HTML does it through this package (escaped, or
Markdown made sanitized HTML): nothing here builds markup of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

__all__ = ["Formats", "Rendered", "Shown", "mimebundle", "show_as", "shown"]

Renderer = Callable[[Any], Any]
Formats = Mapping[str, Mapping[str, Renderer]]
"""format name -> {MIME type: renderer of the object}; the first format is the default."""

_T = TypeVar("_T")
_MARK = "_conjure_shown"


@dataclass(frozen=True)
class Shown:
    """How one object is to be displayed: a format of its table, output metadata, and a few
    plain-text facts a renderer may state (`%%conjure run`'s working directory, say)."""

    format: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, str] = field(default_factory=dict)


_DEFAULT = Shown()


class Rendered:
    """The one `_repr_mimebundle_` of an object whose formats come from its `formats` table."""

    formats: ClassVar[Formats] = {}

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return mimebundle(self, include, exclude)


def show_as(obj: _T, format: str | None = None, metadata: Mapping[str, Any] | None = None,
            **facts: str) -> _T:  # fmt: skip
    """Mark `obj` to display in `format` (a name in its table; None: its default), with output
    `metadata` and `facts` for its renderers; returns `obj`.

    Raises:
        ValueError: the object's table has no such format.
    """
    table = getattr(type(obj), "formats", {})
    if format is not None and format not in table:
        raise ValueError(f"{type(obj).__name__} has no display format {format!r}; it has {list(table)}")
    object.__setattr__(obj, _MARK, Shown(format, dict(metadata or {}), dict(facts)))
    return obj


def shown(obj: Any) -> Shown:
    """How `obj` was asked to display (its default when no cell marked it)."""
    mark = getattr(obj, "__dict__", {}).get(_MARK)
    return mark if isinstance(mark, Shown) else _DEFAULT


def mimebundle(
    obj: Any, include: Container[str] | None = None, exclude: Container[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, metadata) for `obj`: its format's renderers, limited to `include` minus `exclude`."""
    table: Formats = getattr(type(obj), "formats", {})
    how = shown(obj)
    name = how.format or next(iter(table), None)
    renderers = table.get(name, {}) if name is not None else {}
    data = {
        mime: render(obj)
        for mime, render in renderers.items()
        if (include is None or mime in include) and (exclude is None or mime not in exclude)
    }
    return data, dict(how.metadata)
