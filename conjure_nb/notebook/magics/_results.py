"""What a `%%conjure` cell returns, and how that object displays as the cell's `Out[n]`.

A cell returns its `Response` or `ToolResult`, so `_`, `Out[n]` and `_conjure` all hold the
object itself. How the cell shows it depends on the cell (`-f text`, the session's metadata), not
on the object, so the magics remember the bundle they chose for that very object here, and the
extension's formatters (see `notebook/__init__.py`) hand IPython's displayhook that bundle,
metadata included. Any other Response or ToolResult displays with its own reprs as usual.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

__all__ = ["RESULTS", "CellResults"]

Bundle = dict[str, Any]


class CellResults:
    """The display bundles of the latest cell results, by object identity (the newest `keep`).

    The object is held beside its bundle, so its id cannot be reused while the entry exists.
    """

    def __init__(self, keep: int = 64):
        self.keep = keep
        self._items: OrderedDict[int, tuple[Any, Bundle, Bundle]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, obj: Any, data: Bundle, metadata: Bundle) -> Any:
        """Display `obj` with `data` and `metadata` from now on; returns `obj`."""
        with self._lock:
            self._items[id(obj)] = (obj, data, metadata)
            self._items.move_to_end(id(obj))
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
        return obj

    def bundle(self, obj: Any) -> tuple[Bundle, Bundle] | None:
        """The (data, metadata) a cell chose for `obj`, or None if no cell returned it."""
        with self._lock:
            entry = self._items.get(id(obj))
        if entry is None or entry[0] is not obj:
            return None
        return dict(entry[1]), dict(entry[2])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


RESULTS = CellResults()
