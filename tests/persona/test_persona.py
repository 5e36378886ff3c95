"""The @Conjure persona against the real jupyterlab-chat document (YChat) and the real PersonaManager.

Only the model is scripted. Each test builds a chat file's YChat, a PersonaManager that loads the
persona from its `jupyter_ai.personas` entry point (configured through traitlets, as a server's
config would), sends messages as a person would, and reads what the chat document holds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jupyter_ai_persona_manager", reason="pip install -e '.[dev]' (the jupyter-ai extra)")

from jupyter_ai_persona_manager import PersonaManager
from jupyter_ai_persona_manager.awareness_models import ModelSpec
from jupyterlab_chat.models import Message, NewMessage, User
from jupyterlab_chat.ychat import YChat
from traitlets.config import Config

import conjure_nb as cj
from conjure_nb.notebook.persona import ConjurePersona
from conjure_nb.notebook.persona._settings import LOCAL_WARNING, NO_MODEL, docker_ready

PERSONA_ID = "jupyter-ai-personas::conjure_nb::ConjurePersona"
MODEL: Any = None  # the tests' scripted model, named to the persona as "<this module>:MODEL"
OTHER: Any = None
ME = User(username="me", name="me", display_name="Me")
SKILLS = Path(__file__).resolve().parents[2] / "skills"
use = cj.ScriptedModel.tool_use


class Chat:
    """One chat file: the YChat, its persona manager, and the Conjure persona in it."""

    def __init__(self, root: Path, settings: dict[str, Any]):
        self.root = root
        self.doc = YChat()
        self.doc.initial_path = "work/health.chat"
        self.doc.dirty = False  # loaded: from here on, new messages are reported to observers
        self.doc.set_user(ME)
        config = Config({"ConjurePersona": {"backend": "local", "skills": [], **settings}})
        self.manager = PersonaManager(
            chat=self.doc, root_dir=str(root), event_loop=asyncio.get_running_loop(), config=config
        )
        self.persona: ConjurePersona = self.manager.personas[PERSONA_ID]
        self.bodies: list[str] = []  # every state of the persona's messages, as they changed
        self.doc.ymessages.observe_deep(self._changed)

    def _changed(self, _events: Any) -> None:
        for message in self.doc.get_messages():
            if message.sender == PERSONA_ID and (not self.bodies or self.bodies[-1] != message.body):
                self.bodies.append(message.body)

    def post(self, text: str) -> Message:
        message_id = self.doc.add_message(NewMessage(body=text, sender="me"))
        found = self.doc.get_message(message_id)
        assert found is not None
        return found

    async def send(self, text: str) -> None:
        await self.persona.on_message(self.post(text))

    def replies(self) -> list[str]:
        return [m.body for m in self.doc.get_messages() if m.sender == PERSONA_ID]

    async def close(self) -> None:
        await self.manager.shutdown_personas()


def run(root: Path, settings: dict[str, Any], body: Callable[[Chat], Awaitable[None]]) -> None:
    async def main() -> None:
        chat = Chat(root, settings)
        try:
            await body(chat)
        finally:
            await chat.close()

    asyncio.run(main())


async def until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("CONJURE_PERSONA_")] + ["ANTHROPIC_API_KEY"]:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "work" / "logs").mkdir(parents=True)
    (tmp_path / "work" / "logs" / "app.log").write_text("INFO up\nERROR disk full\nINFO up\n")
    return tmp_path


def scripted(monkeypatch: pytest.MonkeyPatch, *replies: Any, name: str = "MODEL") -> cj.ScriptedModel:
    model = cj.ScriptedModel(list(replies))
    monkeypatch.setattr(sys.modules[__name__], name, model)
    return model


def as_real(model: cj.ScriptedModel) -> cj.FunctionModel:
    """`model`'s replies from a model said to be real (`real=True`): its token counts are usage."""
    return cj.FunctionModel(model.request, real=True)


SPEC = f"{__name__}:MODEL"


def test_a_message_runs_a_turn_streaming_tool_rows_answer_and_files(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = root / "work" / "logs" / "app.log"
    model = scripted(
        monkeypatch,
        cj.ScriptedModel.reply(
            "Reading the log.",
            use("bash_tool", command=f"sleep 0.2; grep -c ERROR {log} > errors.txt", description="count"),
        ),
        "One ERROR line: **disk full**. <img src=x onerror=alert(1)> <script>alert(2)</script>",
    )

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure check the health of logs/app.log")
        assert model.requests[0].messages[0]["content"][0]["text"] == "check the health of logs/app.log"
        assert str(root / "work") in model.requests[0].system  # the chat's folder, for relative paths
        final = chat.replies()[-1]
        # the tool row was shown running before it finished, then with its status and duration
        assert any("bash_tool" in b and "running" in b and "disk full" not in b for b in chat.bodies)
        assert "✓ <b>bash_tool</b> <code>sleep 0.2; grep -c ERROR" in final
        assert " ms</div>" in final
        # model text is shown, never live markup
        assert "<strong>disk full</strong>" in final
        assert "<script>" not in final and "<img src=x" not in final
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in final
        assert "\n\n" not in final  # one HTML block: the chat's Markdown parser cannot get in
        # the created file was copied beside the chat and linked by its name there
        assert (root / "work" / "errors.txt").read_text().strip() == "1"
        assert '<a href="/lab/tree/work/errors.txt"' in final and ">errors.txt</a>" in final
        message = [m for m in chat.doc.get_messages() if m.sender == PERSONA_ID][-1]
        attached = [chat.doc.get_attachments()[a] for a in message.attachments or []]
        assert [a.value for a in attached] == ["work/errors.txt"]  # a chip that opens it in JupyterLab
        # the scripted model is named, and its made-up token counts are not reported as usage or cost
        assert "scripted model, offline" in final and "conjure-fake-model" in final
        usage = chat.persona.get_usage()
        assert (usage.input_tokens, usage.output_tokens, usage.cost_amount) == (0, 0, None)
        assert "tokens" not in final and "$" not in final

    run(root, {"model": SPEC}, body)


def test_text_streams_into_the_message_before_the_model_is_done(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = threading.Event()

    def model(request: Any) -> str:
        request.on_text("First half, ")
        shown.wait(20)  # the model goes on only once the chat shows the first half
        request.on_text("second half.")
        return "First half, second half."

    monkeypatch.setattr(sys.modules[__name__], "MODEL", cj.FunctionModel(model))

    async def body(chat: Chat) -> None:
        task = asyncio.ensure_future(chat.send("@Conjure stream please"))
        await until(lambda: any("First half," in b for b in chat.bodies), "the first half in the chat")
        assert not any("second half" in b for b in chat.bodies)
        shown.set()
        await task
        assert "<p>First half, second half.</p>" in chat.replies()[-1]

    run(root, {"model": SPEC}, body)


def test_the_session_is_kept_across_messages_and_closed_with_the_chat(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(monkeypatch, "first answer", "second answer")
    holder: dict[str, Any] = {}

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure one")
        session = chat.persona.conjure.session
        await chat.send("@Conjure two")
        assert chat.persona.conjure.session is session and session is not None
        assert [m["role"] for m in session.messages] == ["user", "assistant", "user", "assistant"]
        assert len(model.requests[1].messages) == 3  # the second request carried the history
        holder["session"] = session

    run(root, {"model": SPEC}, body)
    session = holder["session"]
    assert session.closed and not session.working_dir.exists()


def test_no_model_and_no_key_answers_with_the_fixes(root: Path) -> None:
    async def body(chat: Chat) -> None:
        await chat.send("@Conjure hello")
        assert chat.replies() == [NO_MODEL]
        assert chat.persona.conjure.session is None  # nothing was started

    run(root, {}, body)
    assert "ANTHROPIC_API_KEY" in NO_MODEL and "c.ConjurePersona.model" in NO_MODEL


def test_stop_kills_the_running_tool_and_keeps_the_history_consistent(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted(
        monkeypatch,
        cj.ScriptedModel.reply(use("bash_tool", command="echo $$ > pid; exec sleep 60", description="wait")),
        "after the stop",
    )

    async def body(chat: Chat) -> None:
        task = asyncio.ensure_future(chat.send("@Conjure wait a minute"))
        session = await _session(chat)
        pid_file = session.working_dir / "pid"
        await until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "the tool to start")
        pid = int(pid_file.read_text())
        assert chat.persona.processing
        await chat.persona.cancel_response()
        await asyncio.wait_for(task, 30)
        final = chat.replies()[-1]
        assert "Stopped." in final and "■ <b>bash_tool</b>" in final
        await until(lambda: not _alive(pid), "the tool's process to be gone")
        uses = [b["id"] for m in session.messages if m["role"] == "assistant" for b in m["content"]]
        results = [
            b["tool_use_id"]
            for m in session.messages
            if m["role"] == "user"
            for b in m["content"]
            if b.get("type") == "tool_result"
        ]
        assert uses and uses == results  # every tool_use has its result
        await chat.send("@Conjure go on")  # the session takes the next turn
        assert "after the stop" in chat.replies()[-1]

    run(root, {"model": SPEC}, body)


def test_a_stopped_call_whose_result_comes_first_still_says_stopped(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The killed call's ToolCallFinished (an error, exit -9) may reach the view before the turn's
    end marks open rows as stopped: the row says stopped either way (it once said error: exit -9)."""
    scripted(
        monkeypatch,
        cj.ScriptedModel.reply(use("bash_tool", command="echo $$ > pid; exec sleep 60", description="wait")),
        "after the stop",
    )
    finish = ConjurePersona._finish

    async def finish_after_the_result(self: ConjurePersona, task: Any, view: Any) -> None:
        rows = [s for s in view.segments if not isinstance(s, str)]
        await until(lambda: all(r.status != "running" for r in rows), "the killed call's result")
        await finish(self, task, view)

    monkeypatch.setattr(ConjurePersona, "_finish", finish_after_the_result)

    async def body(chat: Chat) -> None:
        task = asyncio.ensure_future(chat.send("@Conjure wait a minute"))
        session = await _session(chat)
        pid_file = session.working_dir / "pid"
        await until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", "the tool to start")
        await chat.persona.cancel_response()
        await asyncio.wait_for(task, 30)
        final = chat.replies()[-1]
        assert "Stopped." in final and "■ <b>bash_tool</b>" in final and "exit -9" not in final

    run(root, {"model": SPEC}, body)


async def _session(chat: Chat) -> cj.Session:
    await until(lambda: chat.persona.conjure.session is not None, "the session")
    session = chat.persona.conjure.session
    assert session is not None
    return session


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_approvals_are_asked_in_the_chat_and_answered_by_reply(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(
        monkeypatch,
        cj.ScriptedModel.reply(use("bash_tool", command="echo yes > approved.txt", description="write")),
        cj.ScriptedModel.reply(
            use("bash_tool", command="echo no > denied.txt # \u202e", description="write")
        ),
        "done",
    )

    async def body(chat: Chat) -> None:
        task = asyncio.ensure_future(chat.send("@Conjure write two files"))
        await until(lambda: any("Approve tool call #1?" in r for r in chat.replies()), "question #1")
        assert any("? <b>bash_tool</b>" in b and "reply approve 1 or deny 1" in b for b in chat.bodies)
        reply = chat.post("approve 1")  # the person answers while the turn holds the persona
        await until(lambda: any("Approve tool call #2?" in r for r in chat.replies()), "question #2")
        question = next(r for r in chat.replies() if "Approve tool call #2?" in r)
        assert "\\u202e" in question and "\u202e" not in question and "Warning:" in question  # shown, flagged
        assert "\n\n" not in question and "&quot;command&quot;: &quot;echo no &gt; denied.txt" in question
        chat.post("@Conjure deny 2 not that one")
        await asyncio.wait_for(task, 30)
        assert (root / "work" / "approved.txt").exists() and not (root / "work" / "denied.txt").exists()
        final = [r for r in chat.replies() if "conjure-turn" in r][-1]
        assert "✓ <b>bash_tool</b> <code>echo yes" in final and "⊘ <b>bash_tool</b> <code>echo no" in final
        denial = model.requests[2].messages[-1]["content"][0]["content"]
        assert "denied" in denial and "not that one" in denial
        before = len(chat.replies())
        await chat.persona.on_message(reply)  # the router delivers the reply later: it is not a new turn
        assert len(chat.replies()) == before

    run(root, {"model": SPEC, "approvals": "bash_tool=ask"}, body)


def test_slash_commands(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = scripted(
        monkeypatch, cj.ScriptedModel.reply(use("bash_tool", command="echo a > a.txt", description="w")), "ok"
    )
    monkeypatch.setattr(sys.modules[__name__], "MODEL", as_real(model))
    (root / "work" / "a.txt").write_text("the person's own file")

    async def body(chat: Chat) -> None:
        await chat.send("/files")
        assert "No files yet" in chat.replies()[-1]
        await chat.send("@Conjure /skills")
        assert "<b>log-analyzer</b>" in chat.replies()[-1] and "local backend" in chat.replies()[-1]
        await chat.send("@Conjure make a file")
        await chat.send("/files")
        assert ">a (1).txt</a>" in chat.replies()[-1]  # never overwrites the person's a.txt
        assert (root / "work" / "a.txt").read_text() == "the person's own file"
        await chat.send("/usage")
        assert "20 in / 10 out tokens" in chat.replies()[-1]
        session = chat.persona.conjure.session
        assert session is not None and session.messages
        await chat.send("/reset")
        assert session.messages == [] and chat.persona.get_usage().input_tokens == 0
        await chat.send("/backend nowhere")
        assert "choose one of local, docker, native" in chat.replies()[-1]
        await chat.send("/backend native")
        assert "name the NativeSkill objects first" in chat.replies()[-1]
        await chat.send("/backend local")
        assert session.closed and chat.persona.conjure.session is None
        await chat.send("/help")
        assert all(c in chat.replies()[-1] for c in ("/skills", "/files", "/reset", "/backend", "/usage"))
        names = [c.name for c in chat.persona.get_slash_commands()]
        assert {"/skills", "/files", "/reset", "/backend", "/usage"} <= set(names)

    run(root, {"model": SPEC, "skills": [str(SKILLS)]}, body)


def test_the_model_picker_lists_the_configured_models_and_switches(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted(monkeypatch, "from the first")
    other = scripted(monkeypatch, "from the other", name="OTHER")
    other_spec = f"{__name__}:OTHER"

    async def body(chat: Chat) -> None:
        config = chat.persona.get_model_configuration()
        assert [o.id for o in config.options] == [SPEC, other_spec] and config.current == SPEC
        await chat.persona.apply_model_spec(ModelSpec(id=other_spec))
        assert chat.persona.get_model() == other_spec
        await chat.send("@Conjure hi")
        assert "from the other" in chat.replies()[-1] and len(other.requests) == 1

    run(root, {"model": SPEC, "models": [other_spec]}, body)


def test_a_failing_turn_is_reported_in_the_chat(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch)  # no replies: the first request fails

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure hi")
        assert "The turn failed:" in chat.replies()[-1] and "ran out of replies" in chat.replies()[-1]

    run(root, {"model": SPEC}, body)


def test_without_a_backend_setting_it_is_local_with_the_warning_when_docker_is_not_there(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{root}/no-engine.sock")
    scripted(monkeypatch, "hello")

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure hi")
        assert chat.persona.conjure.backend == "local"
        assert chat.replies()[0] == LOCAL_WARNING and "hello" in chat.replies()[1]

    run(root, {"model": SPEC, "backend": None}, body)


@pytest.mark.docker
def test_without_a_backend_setting_it_is_the_docker_sandbox_when_ready(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not docker_ready(None):
        if os.environ.get("CONJURE_REQUIRE_DOCKER") == "1":
            pytest.fail("CONJURE_REQUIRE_DOCKER=1 but no engine with the sandbox image", pytrace=False)
        pytest.skip("no Docker engine with the sandbox image")
    monkeypatch.setenv("CONJURE_DOCKER_POOL", "0")  # one sandbox, made and removed by this test
    command = "grep -c ERROR /mnt/chat/logs/app.log > n.txt; touch /mnt/chat/logs/x 2>/dev/null || echo ro"
    scripted(monkeypatch, cj.ScriptedModel.reply(use("bash_tool", command=command, description="c")), "done")
    seen: dict[str, Any] = {}

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure count the errors")
        session = chat.persona.conjure.session
        assert session is not None and session.backend == "docker" and session.container_id
        assert LOCAL_WARNING not in chat.replies()
        assert "ro" in str(session.messages[2]["content"][0]["content"])  # the write was refused
        assert (root / "work" / "n.txt").read_text().strip() == "1"  # made in the sandbox, copied here
        assert not (root / "work" / "logs" / "x").exists()  # the chat's folder is mounted read-only
        seen["container"] = session.container_id

    run(root, {"model": SPEC, "backend": None}, body)
    import docker

    client = docker.from_env()
    try:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(seen["container"])  # closed with the chat
    finally:
        client.close()


def test_usage_is_reported_with_its_cost_from_the_panels_price_table(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conjure_nb.notebook.panels._pricing import estimate_cost

    real = as_real(scripted(monkeypatch, "priced"))
    real.model = "claude-sonnet-4-6"  # type: ignore[attr-defined]  # priced like the real one
    monkeypatch.setattr(sys.modules[__name__], "MODEL", real)

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure hi")
        usage = chat.persona.get_usage()
        cost = estimate_cost("claude-sonnet-4-6", {"input_tokens": 10, "output_tokens": 5})
        assert cost is not None and usage.cost_amount == pytest.approx(cost) and usage.cost_currency == "USD"
        assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (10, 5, 15)
        assert "at claude-sonnet-4-6 list prices" in chat.replies()[-1]

    run(root, {"model": SPEC}, body)


def test_a_scripted_models_tokens_are_not_reported_as_usage_or_cost(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = scripted(monkeypatch, "one", "two")
    model.model = "claude-sonnet-4-6"  # type: ignore[attr-defined]  # would be priced if it were real

    async def body(chat: Chat) -> None:
        await chat.send("@Conjure hi")
        await chat.send("/usage")
        said = chat.replies()[-1]
        assert "scripted model, offline" in said and "not real" in said
        assert "tokens" not in said and "$" not in said
        usage = chat.persona.get_usage()
        assert (usage.input_tokens, usage.output_tokens, usage.cost_amount) == (0, 0, None)

    run(root, {"model": SPEC}, body)


def test_with_only_a_key_the_picker_offers_the_default_claude_model(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conjure_nb.models._anthropic import DEFAULT_MODEL

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-not-used")

    async def body(chat: Chat) -> None:
        config = chat.persona.get_model_configuration()
        assert [o.id for o in config.options] == [DEFAULT_MODEL] and config.current == DEFAULT_MODEL
        assert isinstance(chat.persona.conjure.model(), cj.AnthropicModel)  # no request is made

    run(root, {}, body)
