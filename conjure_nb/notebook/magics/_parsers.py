"""Argument parsers of the magics: IPython's MagicArgumentParser, whose errors are IPython's own
`UsageError` (one line, no traceback)."""

from __future__ import annotations

from IPython.core.magic_arguments import MagicArgumentParser

__all__ = ["BACKENDS", "FORMATS", "chat_parser", "line_parser", "run_parser"]

BACKENDS = ("local", "docker", "native", "anthropic")
FORMATS = ("markdown", "text", "json", "html")


def _common(p: MagicArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="where tools run (default: %config ConjureMagics.backend)",
    )
    p.add_argument("--skills", nargs="+", metavar="PATH", default=None,
                   help="skill folders, .skill files, or notebook names (NativeSkill objects for --backend native)")  # fmt: skip
    p.add_argument(
        "--session", default="default", metavar="NAME", help="a named session keeps its history across cells"
    )
    p.add_argument(
        "-i", action="append", metavar="NAME[,NAME...]", default=None, help="notebook variables to pass in"
    )
    p.add_argument(
        "-o", metavar="NAME", default=None, help="store the cell's result in this notebook variable"
    )
    p.add_argument(
        "--no-stream", dest="stream", action="store_false", default=None, help="render once, at the end"
    )


def chat_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(
        prog="%%conjure chat", description="Send the cell body to the model; tools run on the backend."
    )
    _common(p)
    p.add_argument("--model", default=None, metavar="ID_OR_NAME",
                   help="a model id, or the notebook name of a Model or callable")  # fmt: skip
    p.add_argument("-f", "--format", choices=FORMATS, default="markdown", help="how the answer is shown")
    p.add_argument(
        "--max-iterations", type=int, default=None, metavar="N", help="model requests allowed in this turn"
    )
    p.add_argument("--approve", nargs="?", const="*", default=None, metavar="TOOL[,TOOL...]",
                   help="ask in the cell before each tool call (or only these tools) runs")  # fmt: skip
    return p


def run_parser() -> MagicArgumentParser:
    p = MagicArgumentParser(
        prog="%%conjure run",
        description="Run the cell body as a command through the session's executor (no model).",
    )
    _common(p)
    p.add_argument("--cwd", default=None, metavar="DIR",
                   help="run in this directory (relative to the session's working dir, or absolute)")  # fmt: skip
    p.add_argument("--pipefail", action="store_true",
                   help="a pipeline fails when any stage fails (bash's set -o pipefail); "
                   "by default its status is its last command's, as in a terminal")  # fmt: skip
    return p


def line_parser(command: str) -> MagicArgumentParser:
    p = MagicArgumentParser(prog=f"%conjure {command}")
    if command == "skills":
        p.add_argument("path", nargs="*", help="skill folders (default: %config ConjureMagics.skills)")
    elif command in ("tools", "files", "reset", "session"):
        p.add_argument("--session", default="default", metavar="NAME")
    return p
