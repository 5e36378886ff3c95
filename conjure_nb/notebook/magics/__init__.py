"""The `%%conjure` magics: the cell magic, its line commands, its arguments and its live view.

`%load_ext conjure_nb` registers `ConjureMagics` (see `conjure_nb.notebook`). The modules here are
internal; the public surface is the magic itself, its `%config` traits and `%conjure help`.
"""

from ._conjure import ConjureMagics
from ._parsers import chat_parser, line_parser, run_parser

__all__ = ["ConjureMagics", "chat_parser", "line_parser", "run_parser"]
