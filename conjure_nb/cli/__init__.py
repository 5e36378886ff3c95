"""The `conjure-nb` command line (also `python -m conjure_nb`).

Each group of subcommands lives in its own module with a `register(subparsers)` function; every
subparser sets `func`, which takes the parsed `argparse.Namespace` and returns the exit code.
`skills` (validate, init, package, prompt, list) is always there; `sandbox` and `demo` are added
when their modules are present.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from .._errors import ConjureError

__all__ = ["build_parser", "main"]

_OPTIONAL_GROUPS = ("sandbox", "demo", "dashboard")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every available group of subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="conjure-nb",
        description="Run, check and package Agent Skills.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import _skills as skills

    skills.register(subparsers)
    for name in _OPTIONAL_GROUPS:
        module_name = f"{__name__}._{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 1 failure, 2 bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = func(args)
    except ConjureError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
