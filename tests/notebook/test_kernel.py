"""The magics in a real Jupyter kernel: sessions they opened are gone after the kernel shuts down."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

import pytest

jupyter_client = pytest.importorskip("jupyter_client")


def _execute(kc: object, code: str) -> list[dict[str, object]]:
    msg_id = kc.execute(code)  # type: ignore[attr-defined]
    outputs = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=5)  # type: ignore[attr-defined]
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return outputs
        outputs.append({"type": msg["msg_type"], **msg["content"]})
    raise AssertionError(f"no reply to {code!r}")


def _text(outputs: list[dict[str, object]]) -> str:
    parts = []
    for out in outputs:
        if out["type"] == "stream":
            parts.append(str(out["text"]))
        elif out["type"] in ("execute_result", "display_data"):
            parts.append(str(out["data"].get("text/plain", "")))  # type: ignore[attr-defined]
        elif out["type"] == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


def test_kernel_shutdown_closes_the_magics_sessions(tmp_path: Path) -> None:
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        _execute(kc, "%load_ext conjure_nb")
        outs = _execute(kc, "%%conjure run --no-stream\necho hi")
        assert "hi" in _text(outs)
        # the cell returns its ToolResult: Out[n], with the cell's metadata
        result = next(o for o in outs if o["type"] == "execute_result")
        assert result["metadata"]["conjure_nb"]["backend"] == "local"  # type: ignore[index]
        assert "hi" in result["data"]["text/html"]  # type: ignore[index]
        assert _text(_execute(kc, "print(Out[2] is _conjure, _ is _conjure)")).strip() == "True True"
        where = _text(
            _execute(
                kc,
                "print(_conjure.content.strip(), get_ipython().run_line_magic('conjure', 'sessions').shape)",
            )
        )
        assert where.startswith("hi (1,")
        workdir = _text(_execute(kc, "from conjure_nb.notebook import loaded_magics\n"
                                     "print(loaded_magics(get_ipython()).store.get('default').session.working_dir)")).strip()  # fmt: skip
        assert Path(workdir).is_dir()
        error = _execute(kc, "%%conjure chat\nhello")
        assert [o["ename"] for o in error if o["type"] == "error"] == [] and "UsageError: no model" in _text(
            error
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not Path(workdir).exists()


def _docker_or_skip() -> None:
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.images.get("conjure-nb/sandbox:latest")
        client.close()
    except Exception as exc:
        if os.environ.get("CONJURE_REQUIRE_DOCKER") == "1":
            pytest.fail(
                f"CONJURE_REQUIRE_DOCKER=1 but no engine with the sandbox image: {exc}", pytrace=False
            )
        pytest.skip(f"needs a Docker engine and conjure-nb/sandbox:latest ({exc})")


@pytest.mark.docker
def test_kernel_shutdown_leaves_no_sandbox_container(tmp_path: Path) -> None:
    _docker_or_skip()
    import docker

    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    container = ""
    try:
        kc.wait_for_ready(timeout=60)
        _execute(kc, "%load_ext conjure_nb")
        outs = _execute(kc, "%%conjure run --backend docker --session box --no-stream\nid -u")
        assert "65534" in _text(outs)
        container = _text(
            _execute(kc, "box = %conjure session --session box\nprint(box.container_id)")
        ).strip()
        client = docker.from_env(timeout=10)
        assert client.containers.get(container).status == "running"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert container
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(container)
    client.close()


_OPEN = """
import conjure_nb as cj
box = cj.Session.new_docker([], pool=False)
box.run_tool("bash_tool", command="true", description="start")
here = cj.Session.new_local([])
print(box.container_id, box.working_dir, here.working_dir)
"""
_DASK = """
from dask.distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
dask_client = Client(cluster)
print(dask_client.submit(sum, [1, 2]).result())
"""


def _open_sessions(kc: object) -> tuple[str, Path, Path]:
    said = _text(_execute(kc, _OPEN)).split()
    assert len(said) == 3, said
    return said[0], Path(said[1]), Path(said[2])


def _gone(container: str, *dirs: Path) -> None:
    import docker

    client = docker.from_env(timeout=10)
    try:
        deadline = time.monotonic() + 30  # the kernel is gone; its cleanup has finished or never ran
        while time.monotonic() < deadline and (
            client.containers.list(all=True, filters={"id": container}) or any(d.exists() for d in dirs)
        ):
            time.sleep(0.2)
        assert client.containers.list(all=True, filters={"id": container}) == [], (
            "the sandbox outlived the kernel"
        )
        assert [d for d in dirs if d.exists()] == [], "a working dir outlived the kernel"
    finally:
        client.close()


@pytest.mark.docker
@pytest.mark.parametrize("how", ["sigterm", "restart"])
def test_sessions_end_with_the_kernel_also_after_a_dask_cluster(tmp_path: Path, how: str) -> None:
    """A Dask LocalCluster slows a kernel's exit; Jupyter then sends SIGTERM, which skips every
    finalizer: the sessions must still close (issue 20, item 8)."""
    import signal

    _docker_or_skip()
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        container, box_dir, local_dir = _open_sessions(kc)
        assert _text(_execute(kc, _DASK)).strip().endswith("3")
        if how == "sigterm":
            km.signal_kernel(signal.SIGTERM)
            deadline = time.monotonic() + 60
            while km.is_alive() and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not km.is_alive()
        else:
            km.restart_kernel(now=False)
            kc.wait_for_ready(timeout=60)
        _gone(container, box_dir, local_dir)
        if how == "restart":  # the new kernel's sessions end with it too
            container, box_dir, local_dir = _open_sessions(kc)
            kc.stop_channels()
            km.shutdown_kernel(now=False)
            _gone(container, box_dir, local_dir)
    finally:
        kc.stop_channels()
        if km.has_kernel:
            km.shutdown_kernel(now=True)


def _run_until(kc: object, code: str, act: object = None, timeout: float = 90) -> list[dict[str, object]]:
    """Run `code` and gather its iopub messages; `act(outputs)` is called as they come (and may
    interrupt the kernel); each message is kept with its type."""
    msg_id = kc.execute(code)  # type: ignore[attr-defined]
    outputs: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=0.5)  # type: ignore[attr-defined]
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return outputs
        outputs.append({"type": msg["msg_type"], **msg["content"]})
        if callable(act):
            act(outputs)
    raise AssertionError(f"no end to {code!r}")


def _html_of(out: dict[str, object]) -> str:
    data = out.get("data")
    return str(data.get("text/html", "")) if isinstance(data, dict) else ""


_SLEEPER = """
%load_ext conjure_nb
import conjure_nb as cj
S = cj.ScriptedModel
fake = S([S.reply("Running.", S.tool_use("bash_tool", command="sleep 27.18", description="wait")), "after"])
"""


def test_an_interrupted_cell_says_interrupted_once(tmp_path: Path) -> None:
    """Jupyter's interrupt during a tool: the live row ticks while the tool runs, then reads
    "interrupted", and the cell's one error line says what happened (issue 22)."""
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    sent: list[bool] = []

    def interrupt_once_it_ticked(outputs: list[dict[str, object]]) -> None:
        if not sent and any("sleep 27.18" in _html_of(o) and ">2 s<" in _html_of(o) for o in outputs):
            sent.append(True)
            km.interrupt_kernel()

    try:
        kc.wait_for_ready(timeout=60)
        _execute(kc, _SLEEPER)
        outs = _run_until(kc, "%%conjure chat --model fake\nwait for it", interrupt_once_it_ticked)
        shown = [_html_of(o) for o in outs if o["type"] in ("display_data", "update_display_data")]
        running = [h for h in shown if "sleep 27.18" in h and ">running<" in h]
        ticks = {t for h in running for t in ("0 s", "1 s", "2 s") if f">{t}<" in h}
        assert sent and ticks == {"0 s", "1 s", "2 s"}, "the running row's time ticked"
        last = shown[-1]
        assert last.count("interrupted") == 1 and ">interrupted<" in last, last
        assert ">running" not in last and "history so far" not in last
        errors = [o for o in outs if o["type"] == "error"]
        assert len(errors) == 1 and "history so far is kept" in str(errors[0]["evalue"])
        assert "KeyboardInterrupt" in "".join(map(str, errors[0]["traceback"]))  # type: ignore[call-overload]
        # the session goes on
        assert "after" in _text(_execute(kc, "%%conjure chat --no-stream -f text\nstill there?"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


_PANEL = """
import time
import conjure_nb as cj
S = cj.ScriptedModel
session = cj.Session.new_local(model=S([S.reply(S.tool_use("bash_tool", command="sleep 31.4", description="w"))]))
panel = cj.ChatPanel(session)
panel.chat("go")
turn = panel.turns[0]
deadline = time.monotonic() + 30
while not any(r.status == "running" for r in turn.rows.values()) and time.monotonic() < deadline:
    time.sleep(0.05)
panel.stop()
print(panel.wait(timeout=60), turn.state.label)
row = next(iter(turn.rows.values()))
print(row.status, "|", row.widget.value.split("<details", 1)[0])
print(turn.status.value)
session.close()
"""


def test_a_tool_stopped_from_the_panel_says_stopped(tmp_path: Path) -> None:
    """The panel's Stop in a real kernel: the row reads "stopped", not "error (exit -9)"."""
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "ANTHROPIC_API_KEY": ""})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        said = _text(_execute(kc, _PANEL)).splitlines()
        assert said[0] == "None stopped", said
        status, line = said[1].split(" | ", 1)
        assert status == "stopped" and "<b>stopped</b>" in line, said
        assert "exit -9" not in line and "error" not in line, line
        assert "Stopped by you" in said[2]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
