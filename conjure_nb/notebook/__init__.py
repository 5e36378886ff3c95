"""The notebook layer: `%%conjure` magics, inline rendering (`cj.show`), live turn views.

`%load_ext conjure_nb` calls `load_ipython_extension` below. Loading twice is a no-op and
unloading closes every session the magics opened (so no container outlives the extension);
sessions are closed at interpreter exit too, which covers a kernel shutdown.
"""

from __future__ import annotations

import atexit
from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_LOADED: dict[int, Any] = {}


def load_ipython_extension(shell: Any) -> None:
    """Register the magics, their `%config` traits, the renderers and the one-line cell errors."""
    if id(shell) in _LOADED:
        return
    from .magics import ConjureMagics
    from .magics import _failure as failure

    magics = ConjureMagics(shell)
    shell.register_magics(magics)
    if magics not in shell.configurables:
        shell.configurables.append(magics)
    failure.install(shell)
    atexit.register(magics.store.close_all)
    _LOADED[id(shell)] = magics


def unload_ipython_extension(shell: Any) -> None:
    """Close the magics' sessions and remove everything `load_ipython_extension` added."""
    magics = _LOADED.pop(id(shell), None)
    if magics is None:
        return
    from .magics import _failure as failure

    try:
        magics.store.close_all()
    finally:
        atexit.unregister(magics.store.close_all)
        shell.magics_manager.magics["line"].pop("conjure", None)
        shell.magics_manager.magics["cell"].pop("conjure", None)
        shell.magics_manager.registry.pop(type(magics).__name__, None)
        if magics in shell.configurables:
            shell.configurables.remove(magics)
        failure.uninstall(shell)


def loaded_magics(shell: Any) -> Any:
    """The ConjureMagics instance loaded into `shell`, or None."""
    return _LOADED.get(id(shell))
