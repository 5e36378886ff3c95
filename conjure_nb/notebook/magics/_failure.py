"""How a failed `%%conjure` cell reads: one line naming the error and the fix, not a traceback.

A model or backend failure inside a magic is the user's to act on, and the frames of the magic's
machinery would only bury the message. The magics raise `CellFailure`; the extension installs an
IPython custom-exception handler for that class alone (never for the user's own code, and only
when no other handler is installed) that shows `ModelError: <message>` as the cell's error output.
Bad arguments use IPython's own `UsageError`, which prints one line by itself.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CellFailure", "install", "uninstall"]


class CellFailure(Exception):
    """A `%%conjure` cell failed; `name` is the error's kind, `error` the original exception."""

    def __init__(self, name: str, message: str, error: BaseException | None = None):
        super().__init__(message)
        self.name = name
        self.error = error


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    """Show the one line as the cell's error output (IPython's run_code path does not show it)."""
    name = value.name if isinstance(value, CellFailure) else etype.__name__
    shell._showtraceback(etype, value, [f"\x1b[0;31m{name}\x1b[0m: {value}"])
    return []


def install(shell: Any) -> bool:
    """Show CellFailure as one line; True when installed (another handler already there: False)."""
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current and current != (CellFailure,):
        return False
    shell.set_custom_exc((CellFailure,), _handler)
    return True


def uninstall(shell: Any) -> None:
    if tuple(getattr(shell, "custom_exceptions", ()) or ()) == (CellFailure,):
        shell.set_custom_exc((), None)
