"""The `%conjure` line commands: skills, tools, files, sessions, reset, usage, help, version."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from ...models._base import fake_label as fake_model
from ...tools._render import summarize_input
from ...tools._usage import counted, not_usage_note
from ._parsers import line_parser

if TYPE_CHECKING:  # pragma: no cover
    from ._conjure import ConjureMagics

__all__ = ["HELP", "run_line"]

HELP = """\
**conjure_nb magics**

| command | what it does |
|---|---|
| `%%conjure chat [--backend B] [--skills P ...] [--model M] [--session S] [-f markdown\\|text\\|json\\|html] [--max-iterations N] [--no-stream] [--approve [TOOL,...]] [-i a,b] [-o NAME]` | the body is the message; tools run on the backend (`--approve`: ask in the cell before tools run) |
| `%%conjure run [--backend B] [--skills P ...] [--session S] [--no-stream] [-i a,b] [-o NAME]` | the body is a command run through the executor, no model; gives a `ToolResult` |
| `%conjure skills [PATH ...]` | skills with their validation status |
| `%conjure tools [--session S]` | the session's tool log |
| `%conjure files [--session S]` | the files its tools created, rendered |
| `%conjure sessions` | the open sessions |
| `%conjure session [--session S]` | the `cj.Session` object itself (e.g. `s = %conjure session`) |
| `%conjure reset [--session S]` | close a session; the next cell opens a new one |
| `%conjure usage` | tokens per session and per skill (a stand-in model's made-up counts are left out and named) |
| `%conjure help` · `%conjure version` | this help · versions |

Backends: `local`, `docker`, `native` (`--skills` names NativeSkill objects), `anthropic`.
`--model` is a model id or the name of a Model / callable in the notebook (`cj.ScriptedModel` works
offline). `{name}` in a body is filled from the notebook; `-i df` writes a DataFrame into the
session's working dir as `df.jsonl` and `{df}` becomes that file name. The last result is `_conjure`.
Defaults: `%config ConjureMagics.backend / .model / .skills / .max_iterations / .stream`.
"""


def run_line(magics: ConjureMagics, command: str, rest: str) -> Any:
    handlers = {
        "skills": _skills,
        "tools": _tools,
        "files": _files,
        "sessions": _sessions,
        "session": _session,
        "reset": _reset,
        "usage": _usage,
        "help": _help,
        "version": _version,
    }
    if command in ("chat", "run"):
        raise UsageError(
            f"%conjure {command} is a cell magic: write %%conjure {command} on the first line of a cell"
        )
    handler = handlers.get(command)
    if handler is None:
        raise UsageError(f"%conjure {command}: unknown command; the commands are {', '.join(handlers)}")
    args = line_parser(command).parse_argstring(rest)
    return handler(magics, args)


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def _opened(magics: ConjureMagics, name: str) -> Any:
    opened = magics.store.get(name)
    if opened is None:
        open_names = [n for n, _ in magics.store] or ["none"]
        raise UsageError(f"no session named {name!r}; open sessions: {', '.join(open_names)}")
    return opened


def _skills(magics: ConjureMagics, args: Any) -> Any:
    from ...skills._loader import scan
    from ...skills._validate import validate

    paths = list(args.path) or list(magics.skills)
    if not paths:
        raise UsageError("%conjure skills PATH: give a skills folder (or set %config ConjureMagics.skills)")
    result = scan(paths)
    rows = []
    for skill in result.sorted():
        report = validate(skill.path)
        rows.append({"name": skill.name, "description": skill.description[:100], "ok": report.ok,
                     "errors": "; ".join(map(str, report.errors)), "warnings": len(report.warnings),
                     "path": str(skill.path)})  # fmt: skip
    for problem in result.problems:
        rows.append(
            {
                "name": "(invalid)",
                "description": "",
                "ok": False,
                "errors": str(problem),
                "warnings": 0,
                "path": "",
            }
        )
    return _frame(rows, ["name", "description", "ok", "errors", "warnings", "path"])


def _tools(magics: ConjureMagics, args: Any) -> Any:
    session = _opened(magics, args.session).session
    rows = [
        {
            "tool": r.tool,
            "input": summarize_input(r.tool, r.input),
            "is_error": r.is_error,
            "exit_code": r.exit_code,
            "duration_ms": round(r.duration_ms, 1),
            "backend": r.backend,
        }
        for r in session.tool_log
    ]
    return _frame(rows, ["tool", "input", "is_error", "exit_code", "duration_ms", "backend"])


def _files(magics: ConjureMagics, args: Any) -> None:
    from ..render import show

    session = _opened(magics, args.session).session
    show(session)


def _sessions(magics: ConjureMagics, args: Any) -> Any:
    cols = [
        "session",
        "backend",
        "model",
        "skills",
        "messages",
        "tool_calls",
        "files",
        "input_tokens",
        "output_tokens",
    ]
    return _frame(magics.store.as_records(), cols)


def _session(magics: ConjureMagics, args: Any) -> Any:
    return _opened(magics, args.session).session


def _reset(magics: ConjureMagics, args: Any) -> None:
    if not magics.store.close(args.session):
        raise UsageError(f"no session named {args.session!r} to reset")
    print(f"session {args.session!r} closed; the next cell that names it opens a new one")


def _skills_used(response: Any, skills: list[Any]) -> list[str]:
    used = []
    for skill in skills:
        marks = (str(skill.path), f"/{skill.name}/")
        if any(m in str(call.input) for call in response.tool_calls for m in marks):
            used.append(skill.name)
    return used


def _usage(magics: ConjureMagics, args: Any) -> Any:
    """Tokens per session, and per skill: a turn's tokens count for every skill its tools used.

    Only a real model's tokens are counted: a stand-in's made-up counts (`fake_label`) are left out
    and the `note` column names the stand-in instead.
    """
    rows = []
    for name, opened in magics.store:
        session = opened.session
        labels = [r.fake_model for r in opened.turns]
        if session.invented_usage and not any(labels):
            labels.append(fake_model(session.model) or "a stand-in model")
        shown = counted(session.usage, session.invented_usage)
        rows.append(
            {"scope": "session", "name": name, **_tokens(shown), "turns": len(opened.turns),
             "note": not_usage_note(labels)}
        )  # fmt: skip
    per_skill: dict[str, dict[str, Any]] = {}
    for _, opened in magics.store:
        for response in opened.turns:
            for skill in _skills_used(response, opened.session.skills) or ["(no skill)"]:
                acc = per_skill.setdefault(
                    skill, {"input_tokens": 0, "output_tokens": 0, "turns": 0, "by": []}
                )
                if response.fake_model is None:
                    for k, v in _tokens(response.usage).items():
                        acc[k] += v
                acc["turns"] += 1
                acc["by"].append(response.fake_model)
    rows += [
        {"scope": "skill", "name": k, **{f: v[f] for f in ("input_tokens", "output_tokens", "turns")},
         "note": not_usage_note(v["by"])}
        for k, v in sorted(per_skill.items())
    ]  # fmt: skip
    return _frame(rows, ["scope", "name", "input_tokens", "output_tokens", "turns", "note"])


def _tokens(usage: dict[str, Any]) -> dict[str, int]:
    return {
        "input_tokens": int(usage.get("input_tokens", 0)),
        "output_tokens": int(usage.get("output_tokens", 0)),
    }


def _help(magics: ConjureMagics, args: Any) -> Any:
    from IPython.display import Markdown

    return Markdown(HELP)


def _version(magics: ConjureMagics, args: Any) -> str:
    from importlib.metadata import PackageNotFoundError, version

    import IPython

    try:
        __version__ = version("conjure-nb")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        __version__ = "unknown"
    here = Path(__file__).resolve().parent.parent
    return f"conjure_nb {__version__} (Python {platform.python_version()}, IPython {IPython.__version__}) at {here}"
