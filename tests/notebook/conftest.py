"""A real IPython InteractiveShell with the extension loaded, and helpers to run cells in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, RichOutput, capture_output


@dataclass
class Ran:
    result: Any
    io: CapturedIO
    shell: InteractiveShell

    @property
    def outputs(self) -> list[Any]:
        """The cell's displays, then its Out[n] as the displayhook formats it (if it returned one)."""
        outputs = list(self.io.outputs)
        if self.result.result is not None:
            data, metadata = self.shell.display_formatter.format(self.result.result)
            outputs.append(RichOutput(data, metadata))
        return outputs

    @property
    def last(self) -> Any:
        return self.outputs[-1]

    @property
    def error(self) -> BaseException | None:
        return self.result.error_in_exec or self.result.error_before_exec


class Shell:
    def __init__(self, shell: InteractiveShell):
        self.shell = shell

    def run(self, cell: str) -> Ran:
        with capture_output() as io:
            result = self.shell.run_cell(cell, store_history=True)
        return Ran(result, io, self.shell)

    @property
    def ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return]


@pytest.fixture
def ip(monkeypatch: pytest.MonkeyPatch) -> Iterator[Shell]:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    shell = InteractiveShell.instance()
    shell.config.pop("ConjureMagics", None)  # %config settings of another test must not leak in
    shell.run_line_magic("load_ext", "conjure_nb")
    try:
        yield Shell(shell)
    finally:
        shell.run_line_magic("unload_ext", "conjure_nb")
        shell.config.pop("ConjureMagics", None)
        shell.reset(new_session=False)
