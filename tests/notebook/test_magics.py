"""The %%conjure magics through a real IPython InteractiveShell."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.error import UsageError

import conjure_nb as cj
from conjure_nb.notebook import loaded_magics

from .conftest import Shell

S = cj.ScriptedModel


def _html(output: object) -> str:
    return str(output.data.get("text/html", ""))  # type: ignore[attr-defined]


def test_load_twice_then_unload_twice_closes_sessions(ip: Shell) -> None:
    ip.shell.run_line_magic("load_ext", "conjure_nb")
    ran = ip.run("%%conjure run\necho hi")
    assert ran.error is None
    session = loaded_magics(ip.shell).store.get("default").session
    workdir = session.working_dir
    assert workdir.is_dir()
    ip.shell.run_line_magic("unload_ext", "conjure_nb")
    assert session.closed and not workdir.exists()
    assert "conjure" not in ip.shell.magics_manager.magics["cell"]
    ip.shell.run_line_magic("unload_ext", "conjure_nb")  # safe to repeat
    ip.shell.run_line_magic("load_ext", "conjure_nb")  # and to load again
    assert ip.run("%%conjure run\necho again").error is None


def test_chat_streams_then_renders_the_response_with_metadata(ip: Shell) -> None:
    ip.ns["fake"] = S(
        [
            S.reply("Let me look.", S.tool_use("bash_tool", command="echo a,b; echo 1,2", description="t")),
            "**All good**",
        ]
    )
    ran = ip.run("%%conjure chat --model fake\nIs it fine?")
    assert ran.error is None
    # the first output is the live view, updated in place: running rows, then the final answer
    htmls = [_html(o) for o in ran.outputs]
    assert any("running" in h for h in htmls[:-1])
    assert any(">ok<" in h and "running…" in h for h in htmls[:-1]), "a finished tool row while the turn runs"
    final = ran.last
    assert ran.result.result is ip.ns["_conjure"], "the cell returns its Response (Out[n])"
    assert "<strong>All good</strong>" in _html(final)
    assert ran.io.outputs[-1].data == {"text/plain": ""}, (
        "the live view is emptied once Out[n] shows the answer"
    )
    assert "1 tool call(s)" in _html(final)
    # a scripted model is named in the live view and in the answer; its made-up tokens are not shown
    assert all("scripted model, offline" in h for h in htmls[:-1] if h)
    assert "scripted model, offline" in _html(final) and "Tokens" not in _html(final)
    assert not any("tokens" in h for h in htmls)
    meta = final.metadata["conjure_nb"]
    assert meta == {"session": "default", "backend": "local", "model": "ScriptedModel",
                    "usage": {"input_tokens": 20, "output_tokens": 10},
                    "fake_model": "scripted model, offline"}  # fmt: skip
    assert isinstance(ip.ns["_conjure"], cj.Response)
    assert ip.ns["_conjure"].text == "**All good**"


def test_no_stream_renders_once(ip: Shell) -> None:
    ip.ns["fake"] = S(["done"])
    ran = ip.run("%%conjure chat --model fake --no-stream -o answer\nhi")
    assert ran.error is None
    assert len(ran.outputs) == 1
    assert ip.ns["answer"] is ip.ns["_conjure"]
    assert ip.ns["answer"].text == "done"


def test_stream_trait_off_renders_once(ip: Shell) -> None:
    ip.ns["fake"] = S(["done"])
    ip.run("%config ConjureMagics.stream = False")
    assert len(ip.run("%%conjure chat --model fake\nhi").outputs) == 1


def test_body_fills_names_and_keeps_everything_else_as_written(ip: Shell) -> None:
    ip.ns["fake"] = S(["a", "b", "c", "d"])
    ip.ns["n"] = 3
    ip.run("%%conjure chat --model fake\nWhat is {n}? Not {n * 2}.")
    ip.run('%%conjure chat --model fake\nKeep {"a": 1} and {n}')
    ip.run("%%conjure chat --model fake\nUnknown {nope} stays, {{n}} is literal, $n is money")
    ip.run("%%conjure chat --model fake\n{n.__class__} {n!r} {n:>5}")
    sent = [r.messages[-1]["content"][-1]["text"] for r in ip.ns["fake"].requests]
    assert sent == [
        "What is 3? Not {n * 2}.",
        'Keep {"a": 1} and 3',
        "Unknown {nope} stays, {n} is literal, $n is money",
        "{n.__class__} {n!r} {n:>5}",
    ]


def test_cell_text_is_never_evaluated(ip: Shell, tmp_path: Path) -> None:
    """A body that IPython's var_expand would run (`{open(...).write(...)}`) stays text."""
    target = tmp_path / "pwned.txt"
    ip.ns["fake"] = S(["a", "b"])
    ip.ns["tmp"] = str(target)
    chat = f"%%conjure chat --model fake\nSummarise {{open({str(target)!r}, 'w').write('x')}} and {{tmp}}"
    assert ip.run(chat).error is None
    assert ip.run("%%conjure run --backend local\necho \"{__import__('os').getpid()}\"").error is None
    assert not target.exists()
    sent = ip.ns["fake"].requests[0].messages[-1]["content"][-1]["text"]
    assert sent.startswith(f"Summarise {{open({str(target)!r}, 'w').write('x')}} and {target}")
    assert "{__import__('os').getpid()}" in ip.ns["_conjure"].stdout


def test_inputs_with_duplicate_columns_are_a_one_line_usage_error(ip: Shell) -> None:
    ip.ns["df"] = pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"])
    ip.ns["fake"] = S(["never"])
    ran = ip.run("%%conjure chat --model fake -i df\nLook at {df}")
    assert type(ran.error) is UsageError
    assert "duplicate column names ('a')" in str(ran.error) and "\n" not in str(ran.error)
    assert ip.ns["fake"].requests == []


def test_named_sessions_keep_history(ip: Shell) -> None:
    ip.ns["fake"] = S(["one", "two", "three"])
    ip.run("%%conjure chat --model fake --session a\nfirst")
    ip.run("%%conjure chat --session a\nsecond")
    ip.run("%%conjure chat --model fake --session b\nother")
    store = loaded_magics(ip.shell).store
    assert len(store.get("a").session.messages) == 4
    assert len(store.get("b").session.messages) == 2


def test_changing_backend_of_a_named_session_is_refused(ip: Shell) -> None:
    ip.ns["fake"] = S(["one"])
    ip.run("%%conjure chat --model fake --session a\nfirst")
    ran = ip.run("%%conjure run --backend native --session a\necho x")
    assert type(ran.error) is UsageError
    assert "session 'a' is already open" in str(ran.error) and "%conjure reset --session a" in str(ran.error)
    assert "a" in [n for n, _ in loaded_magics(ip.shell).store]


def test_no_model_names_the_three_fixes(ip: Shell) -> None:
    ran = ip.run("%%conjure chat\nhello")
    assert type(ran.error) is UsageError  # IPython's own class: one line, no traceback
    message = str(ran.error)
    for fix in ("ANTHROPIC_API_KEY", "--model", "%config ConjureMagics.model"):
        assert fix in message
    assert "\n" not in message


def test_model_from_config_trait(ip: Shell) -> None:
    ip.ns["fake"] = S(["configured"])
    ip.run("%config ConjureMagics.model = 'fake'")
    assert ip.run("%%conjure chat\nhello").error is None
    assert ip.ns["_conjure"].text == "configured"


def test_model_as_plain_function(ip: Shell) -> None:
    ip.ns["echo_model"] = lambda messages: "you said " + messages[-1]["content"][-1]["text"]
    ip.run("%%conjure chat --model echo_model\nping")
    assert ip.ns["_conjure"].text == "you said ping"


def test_bad_arguments_are_ipython_usage_errors(ip: Shell) -> None:
    for cell in (
        "%%conjure chat --bogus\nx",
        "%%conjure chat --backend mars\nx",
        "%%conjure chat -f yaml\nx",
        "%%conjure chat --max-iterations 0 --model m\nx",
        "%%conjure chat --model not_a_model_and_no_key\nx",
        "%%conjure dance\nx",
        "%conjure dance",
        "%conjure chat",
        "%conjure tools --session nope",
    ):
        ran = ip.run(cell)
        assert type(ran.error) is UsageError, (cell, ran.error)
    ip.ns["number"] = 5
    ran = ip.run("%%conjure chat --model number\nx")
    assert type(ran.error) is UsageError and "is a int, not a model" in str(ran.error)


def test_model_failure_is_one_line(ip: Shell) -> None:
    ip.ns["fake"] = S([])
    ran = ip.run("%%conjure chat --model fake\nhi")
    assert ran.error is not None
    assert "ModelError" in ran.io.stdout and "ran out of replies" in ran.io.stdout
    assert "Traceback" not in ran.io.stdout
    assert "failed" in _html(ran.last)


def test_inputs_dataframe_and_scalars(ip: Shell) -> None:
    ip.ns["df"] = pd.DataFrame({"level": ["ERROR", "INFO"], "n": [1, 2]})
    ip.ns["threshold"] = 0.05
    ip.ns["who"] = "ops team"
    ip.ns["fake"] = S(["ok"])
    assert ip.run("%%conjure chat --model fake -i df,threshold -i who\nLook at {df}").error is None
    text = ip.ns["fake"].requests[0].messages[-1]["content"][-1]["text"]
    lines = text.splitlines()
    assert lines[0] == "Look at df.jsonl"
    assert "`df` is the file `df.jsonl`" in text and "2 rows; columns: level, n" in text
    assert "`threshold` = 0.05" in text and '`who` = "ops team"' in text
    workdir = loaded_magics(ip.shell).store.get("default").session.working_dir
    rows = [json.loads(line) for line in (workdir / "df.jsonl").read_text().splitlines()]
    assert rows == [{"level": "ERROR", "n": 1}, {"level": "INFO", "n": 2}]


def test_inputs_records_long_text_and_missing(ip: Shell) -> None:
    ip.ns["recs"] = [{"a": 1}, {"a": 2, "b": "x"}]
    ip.ns["essay"] = "line\n" * 100
    ran = ip.run("%%conjure run -i recs,essay\nwc -l {recs} {essay}")
    assert ran.error is None
    out = ip.ns["_conjure"].content
    assert "2 recs.jsonl" in out and "100 essay.txt" in out
    ran = ip.run("%%conjure run -i missing\ntrue")
    assert type(ran.error) is UsageError and "missing" in str(ran.error)
    ip.ns["obj"] = object()
    ran = ip.run("%%conjure run -i obj\ntrue")
    assert type(ran.error) is UsageError and "cannot pass a object" in str(ran.error)


def test_run_gives_a_tool_result_and_its_dataframe(ip: Shell) -> None:
    ran = ip.run("%%conjure run -o res\nprintf 'a,b\\n1,2\\n3,4\\n'")
    assert ran.error is None
    res = ip.ns["res"]
    assert isinstance(res, cj.ToolResult) and res.exit_code == 0
    assert res.dataframe is not None and list(res.dataframe.columns) == ["a", "b"]
    html = _html(ran.last)
    assert "<table" in html and "DataFrame: 2 rows x 2 columns" in html
    assert ran.last.metadata["conjure_nb"]["backend"] == "local"


def test_run_failure_shows_as_error(ip: Shell) -> None:
    ran = ip.run("%%conjure run --no-stream\necho oops >&2; exit 3")
    assert ran.error is None  # a failing command is data, not a failing cell
    assert ip.ns["_conjure"].is_error and ip.ns["_conjure"].exit_code == 3
    assert "tool failed" in _html(ran.last) and "oops" in _html(ran.last)


def test_run_on_native_backend(ip: Shell) -> None:
    class Greeter(cj.NativeSkill):
        name = "greeter"
        description = "Says hello."

        def execute(self, command: str, context: cj.Context) -> str:
            return f"hello {command}"

    ip.ns["greeter"] = Greeter()
    ran = ip.run("%%conjure run --backend native --skills greeter --session n\nworld")
    assert ran.error is None and ip.ns["_conjure"].content == "hello world"


def test_line_commands(ip: Shell, tmp_path: Path) -> None:
    ip.ns["fake"] = S(["hi"])
    ip.run("%%conjure chat --model fake\nhello")
    ip.run("%%conjure run\necho x > made.txt")
    sessions = ip.shell.run_line_magic("conjure", "sessions")
    assert list(sessions["session"]) == ["default"] and sessions["messages"][0] == 2
    tools = ip.shell.run_line_magic("conjure", "tools")
    assert list(tools.columns) == ["tool", "input", "is_error", "exit_code", "duration_ms", "backend"]
    assert tools["input"][0] == "echo x > made.txt"
    ran = ip.run("%conjure files")
    assert "made.txt" in _html(ran.last)
    usage = ip.shell.run_line_magic("conjure", "usage")
    assert usage.iloc[0].to_dict()["turns"] == 1
    assert "conjure_nb" in ip.shell.run_line_magic("conjure", "version")
    assert "%%conjure chat" in ip.shell.run_line_magic("conjure", "help").data
    assert (
        ip.shell.run_line_magic("conjure", "session --session default")
        is loaded_magics(ip.shell).store.get("default").session
    )
    ran = ip.run("%conjure reset")
    assert "closed" in ran.io.stdout and len(loaded_magics(ip.shell).store) == 0


def test_usage_and_sessions_leave_out_a_stand_in_models_made_up_tokens(ip: Shell) -> None:
    def real(messages: object) -> dict[str, object]:
        return {"content": "measured", "usage": {"input_tokens": 7, "output_tokens": 3}}

    ip.ns["fake"] = S(["made up"])  # reports 10 in / 5 out tokens for every reply: invented
    ip.ns["real"] = cj.FunctionModel(real, real=True)
    assert ip.run("%%conjure chat --model fake\nhello").error is None
    usage = ip.shell.run_line_magic("conjure", "usage")
    row = usage.iloc[0].to_dict()
    assert (row["scope"], row["input_tokens"], row["output_tokens"], row["turns"]) == ("session", 0, 0, 1)
    assert "scripted model, offline" in row["note"] and "not real" in row["note"]
    skill = usage.iloc[1].to_dict()
    assert (skill["name"], skill["input_tokens"], skill["turns"]) == ("(no skill)", 0, 1)
    assert "scripted model, offline" in skill["note"]
    sessions = ip.shell.run_line_magic("conjure", "sessions").iloc[0].to_dict()
    assert (sessions["input_tokens"], sessions["output_tokens"]) == (0, 0)
    assert sessions["model"] == "ScriptedModel (scripted model, offline)"
    # a real model's turn on the same session counts, and only it
    assert ip.run("%%conjure chat --model real\nagain").error is None
    row = ip.shell.run_line_magic("conjure", "usage").iloc[0].to_dict()
    assert (row["input_tokens"], row["output_tokens"], row["turns"]) == (7, 3, 2)
    assert "scripted model, offline" in row["note"], "the stand-in's turn is still named"
    assert ip.shell.run_line_magic("conjure", "sessions").iloc[0]["input_tokens"] == 7


def test_skills_command_validates(ip: Shell, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    df = ip.shell.run_line_magic("conjure", f"skills {repo / 'skills'}")
    assert {"log-analyzer", "incident-report", "echo"} <= set(df["name"])
    assert bool(df["ok"].all())


def test_a_toolresult_renders_itself_with_or_without_the_extension(ip: Shell) -> None:
    data, _ = ip.shell.display_formatter.format(cj.ToolResult("x", is_error=True, exit_code=1))
    assert "tool failed" in data["text/html"]
    ip.shell.run_line_magic("unload_ext", "conjure_nb")
    again, _ = ip.shell.display_formatter.format(cj.ToolResult("x", is_error=True, exit_code=1))
    assert again == data, "its one _repr_mimebundle_, not a formatter the extension registers"
    ip.shell.run_line_magic("load_ext", "conjure_nb")


def test_cells_return_their_result_shown_in_the_format_asked(ip: Shell) -> None:
    import dataclasses

    ip.ns["fake"] = S(["**plain** answer", "**json** answer"])
    ran = ip.run("%%conjure chat --model fake --no-stream -f text\nhi")
    assert ran.io.outputs == [], "nothing is displayed besides Out[n]"
    assert ran.result.result is ip.ns["_conjure"] and ip.ns["_"] is ip.ns["_conjure"]
    # the plain answer, with the stand-in that wrote it named on a line of its own
    assert ran.last.data == {"text/plain": "**plain** answer\n\n[scripted model, offline]"}
    assert ran.last.metadata["conjure_nb"]["session"] == "default"
    # the same Response shown again keeps the cell's format; another one (even equal) its default
    data, meta = ip.shell.display_formatter.format(ip.ns["_conjure"])
    assert data == ran.last.data and meta["conjure_nb"]["session"] == "default"
    other = dataclasses.replace(ip.ns["_conjure"])
    assert other == ip.ns["_conjure"]
    data, meta = ip.shell.display_formatter.format(other)
    assert {"text/html", "text/plain"} <= set(data) and "text/markdown" not in set(data) and meta == {}
    ran = ip.run("%%conjure chat --no-stream -f json\nagain")
    assert ran.last.data["application/json"]["text"] == "**json** answer"
    ran = ip.run("%%conjure run --no-stream\necho hi")
    assert isinstance(ran.result.result, cj.ToolResult) and "hi" in ran.last.data["text/html"]


def test_config_traits_listed(ip: Shell) -> None:
    ran = ip.run("%config ConjureMagics")
    for trait in ("backend", "model", "skills", "max_iterations", "stream"):
        assert f"ConjureMagics.{trait}" in ran.io.stdout
    ip.run("%config ConjureMagics.backend = 'native'")
    assert loaded_magics(ip.shell).backend == "native"


def test_max_iterations_option(ip: Shell) -> None:
    loop = [S.reply(S.tool_use("bash_tool", command="true", description="x")) for _ in range(5)]
    ip.ns["fake"] = S(loop)
    ran = ip.run("%%conjure chat --model fake --max-iterations 2\ngo")
    assert "MaxIterationsError" in ran.io.stdout
    session = loaded_magics(ip.shell).store.get("default").session
    assert session.max_iterations == 25  # the option is for this cell only
    assert os.environ.get("ANTHROPIC_API_KEY") is None


def _sleepers(marker: str) -> list[str]:
    import subprocess

    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def test_kernel_interrupt_stops_the_turn_cleanly(ip: Shell) -> None:
    import signal
    import threading

    marker = "31.4159"
    ip.ns["fake"] = S(
        [S.reply("Running.", S.tool_use("bash_tool", command=f"sleep {marker}", description="wait")), "never"]
    )
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))  # what Jupyter's interrupt sends
    timer.start()
    try:
        ran = ip.run("%%conjure chat --model fake\nwait for it")
    finally:
        timer.cancel()
    # said once: the row reads "interrupted", the cell's one error line says the rest
    assert ran.io.stdout.count("KeyboardInterrupt") == 1 and "history so far is kept" in ran.io.stdout
    live = _html(ran.last)
    assert live.count("interrupted") == 1 and ">interrupted<" in live, live
    assert "running" not in live and "history so far" not in live
    session = loaded_magics(ip.shell).store.get("default").session
    uses = [
        b["id"]
        for m in session.messages
        if m["role"] == "assistant"
        for b in m["content"]
        if b["type"] == "tool_use"
    ]
    results = [b["tool_use_id"] for m in session.messages if m["role"] == "user" for b in m["content"]
               if isinstance(b, dict) and b.get("type") == "tool_result"]  # fmt: skip
    assert uses and uses == results  # every tool_use has its result: the history stays consistent
    assert not _sleepers(marker)
    # the session goes on with the next cell
    ip.ns["fake"].replies.append("after")
    assert ip.run("%%conjure chat\nstill there?").error is None


def test_parallel_tool_calls_each_get_a_live_row(ip: Shell) -> None:
    ip.ns["fake"] = S(
        [
            S.reply(
                S.tool_use("bash_tool", command="sleep 0.3; echo one", description="a"),
                S.tool_use("bash_tool", command="echo two; exit 4", description="b"),
            ),
            "both ran",
        ]
    )
    ran = ip.run("%%conjure chat --model fake\ngo")
    assert ran.error is None
    live = [_html(o) for o in ran.outputs[:-1]]
    assert any("sleep 0.3; echo one" in h and "echo two; exit 4" in h for h in live)
    assert any("(exit 4)" in h for h in live), "the failing call's row says error with its exit code"
    assert "both ran" in _html(ran.last)


def test_hosted_skill_specs_for_the_anthropic_backend(tmp_path: Path) -> None:
    from conjure_nb.notebook.magics._resolve import resolve_skills

    skills, labels = resolve_skills(
        ["xlsx", "anthropic:pdf:2", "custom:skill_01", str(tmp_path)], "anthropic", {}
    )
    assert skills == [
        ("anthropic", "xlsx", "latest"),
        ("anthropic", "pdf", "2"),
        ("custom", "skill_01", "latest"),
        str(tmp_path),
    ]
    assert labels[0] == "xlsx"
    with pytest.raises(UsageError):
        resolve_skills(["weird:a:b:c"], "anthropic", {})


def test_a_cells_model_and_limit_are_for_that_cell_only(ip: Shell) -> None:
    """--model and --max-iterations do not change the session: the next plain cell uses its own."""
    ip.ns["own"] = S(["own model, turn 1", "own model, turn 2"])
    ip.ns["other"] = S(["the other model"])
    assert ip.run("%%conjure chat --model own --session keep\nfirst").error is None
    session = loaded_magics(ip.shell).store.get("keep").session
    own = session.model
    ran = ip.run("%%conjure chat --model other --max-iterations 3 --session keep --no-stream -f text\nsecond")
    assert "the other model" in ran.io.stdout or "the other model" in str(ran.outputs)
    assert session.model is own and session.max_iterations == 25
    assert ip.ns["_conjure"].text == "the other model"
    assert ip.run("%%conjure chat --session keep --no-stream\nthird").error is None
    assert ip.ns["_conjure"].text == "own model, turn 2"


def test_run_says_where_it_ran_and_takes_a_directory(ip: Shell, tmp_path: Path) -> None:
    ip.shell.run_line_magic("load_ext", "conjure_nb")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "analysis.json").write_text('{"ok": true}')
    ip.shell.run_line_magic("config", f"ConjureMagics.working_dir = {str(tmp_path)!r}")
    ran = ip.run("%%conjure run --no-stream --session here\ncat out/analysis.json; pwd")
    assert ran.error is None and ip.ns["_conjure"].exit_code == 0
    assert str(tmp_path) in ip.ns["_conjure"].stdout
    assert f"ran in <code>{tmp_path}</code>" in _html(ran.last)
    ran = ip.run("%%conjure run --no-stream --session here --cwd out\npwd")
    assert ip.ns["_conjure"].stdout.strip() == str(tmp_path / "out")
    assert f"ran in <code>{tmp_path / 'out'}</code>" in _html(ran.last)


def test_pipefail_is_asked_for_not_assumed(ip: Shell) -> None:
    ip.shell.run_line_magic("load_ext", "conjure_nb")
    ip.run("%%conjure run --no-stream\nfalse | cat")
    assert ip.ns["_conjure"].exit_code == 0, "bash's own rule by default: the last stage's status"
    ip.run("%%conjure run --no-stream --pipefail\nfalse | cat")
    assert ip.ns["_conjure"].is_error and ip.ns["_conjure"].exit_code == 1
