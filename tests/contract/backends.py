"""How each backend expresses the contract scenarios' actions as tool calls.

The scenarios in test_contract.py speak of actions ("print this", "fail with code 3", "sleep");
each backend turns an action into the tool call it offers: `bash_tool` for local and docker, the
`contract_execute` tool of a native skill for native.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import conjure_nb as cj

S = cj.ScriptedModel

# a JSON table of n log-like records, as a fetch step prints it (the same text on every backend)
RECORDS = (
    "import json, sys; print(json.dumps([{'i': i, 'level': 'error' if i % 7 == 0 else 'info', "
    "'msg': 'request served in %d ms' % (i % 500)} for i in range(int(sys.argv[1]))]))"
)
COUNT = "import json, sys; print(len(json.load(open(sys.argv[1]))))"


def records(n: int) -> list[dict[str, Any]]:
    return [
        {"i": i, "level": "error" if i % 7 == 0 else "info", "msg": f"request served in {i % 500} ms"}
        for i in range(n)
    ]


class ContractSkill(cj.NativeSkill):
    """A native skill with the same actions the shell backends express as commands."""

    name = "contract"
    description = "Test actions for the contract suite."

    def execute(self, command: str, context: cj.Context) -> Any:
        op, *args = shlex.split(command)
        if op == "echo":
            return " ".join(args)
        if op == "fail":
            raise cj.ToolError(f"exit {args[0]}: out={args[1]} err={args[2]}")
        if op == "sleep":
            time.sleep(float(args[0]))
            return "slept"
        if op == "write":
            path = Path(context.working_dir, args[0])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(args[1])
            return f"wrote {args[0]}"
        if op == "swap":  # replace a folder by a link to somewhere else
            folder = Path(context.working_dir, args[0])
            shutil.rmtree(folder)
            os.symlink(args[1], folder)
            return "swapped"
        if op == "env":
            return f"{args[0]}={context.env.get(args[0], '')}"
        if op == "big":
            return "a" * int(args[0])
        if op == "records":
            return json.dumps(records(int(args[0])))
        if op == "count":
            return str(len(json.loads(Path(context.working_dir, args[0]).read_text())))
        if op == "wait":
            ev = context.state.setdefault(args[0], threading.Event())
            return "waited" if ev.wait(5) else "not signalled"
        if op == "signal":
            context.state.setdefault(args[0], threading.Event()).set()
            return "signalled"
        if op == "raise":
            raise RuntimeError("boom from a native skill")
        raise cj.ToolError(f"unknown op {op}")


class Shell:
    """Actions as bash_tool calls (local, docker)."""

    name = "shell"
    file_tools = True

    def call(self, op: str, *args: Any) -> dict[str, Any]:
        cmd = {
            "echo": lambda: f"echo {shlex.quote(' '.join(map(str, args)))}",
            "fail": lambda: f"echo {args[1]}; echo {args[2]} >&2; exit {args[0]}",
            "sleep": lambda: f"sleep {args[0]}; echo slept",
            "write": lambda: (
                f"mkdir -p $(dirname {shlex.quote(args[0])}) && printf %s {shlex.quote(args[1])} > {shlex.quote(args[0])}"
            ),
            "env": lambda: f'echo "{args[0]}=${{{args[0]}:-}}"',
            "swap": lambda: (
                f"rm -rf {shlex.quote(args[0])} && ln -s {shlex.quote(args[1])} {shlex.quote(args[0])}"
            ),
            "big": lambda: f"head -c {args[0]} /dev/zero | tr '\\0' a",
            "records": lambda: f"python3 -c {shlex.quote(RECORDS)} {args[0]}",
            "count": lambda: f"python3 -c {shlex.quote(COUNT)} {shlex.quote(args[0])}",
            "wait": lambda: (
                f"for i in $(seq 500); do [ -f .{args[0]} ] && echo waited && exit 0; sleep 0.01; done; echo not signalled"
            ),
            "signal": lambda: f"touch .{args[0]}; echo signalled",
            "raise": lambda: "kill -9 $$",
        }[op]()
        return S.tool_use("bash_tool", command=cmd, description=f"contract action {op}")

    def session(self, backend: str, model: Any, **kw: Any) -> cj.Session:
        return cj.Session.new(backend, kw.pop("skills", ()), model, **kw)


class Native:
    name = "native"
    file_tools = False

    def call(self, op: str, *args: Any) -> dict[str, Any]:
        return S.tool_use("contract_execute", command=shlex.join([op, *map(str, args)]))

    def session(self, backend: str, model: Any, **kw: Any) -> cj.Session:
        kw.pop("skills", None)
        kw.pop("allowed_paths", None)
        return cj.Session.new_native([ContractSkill()], model, **kw)
