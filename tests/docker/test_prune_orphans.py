"""`conjure-nb sandbox prune` removes only what a gone process left (issue 20, item 8): a live
session's container and one whose owner still runs are kept; forcing is an explicit --all."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.cli import main as cli_main
from conjure_nb.executors.docker import LABEL
from conjure_nb.executors.docker._client import HOST_LABEL, PID_LABEL

pytestmark = pytest.mark.docker


def _container(client: Any, image: str, name: str, pid: int) -> str:
    labels = {LABEL: name, PID_LABEL: str(pid), HOST_LABEL: socket.gethostname()}
    made = client.api.create_container(image, command=["sleep", "600"], labels=labels, network_disabled=True)
    return str(made["Id"])


def _exists(client: Any, cid: str) -> bool:
    return bool(client.api.containers(all=True, filters={"id": cid}))


def test_prune_keeps_live_owners_and_removes_orphans(
    docker_client: Any, docker_image: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    made: list[str] = []
    try:
        made = [
            _container(docker_client, docker_image, f"orphan-{tag}", dead_pid),
            _container(docker_client, docker_image, f"owned-{tag}", sleeper.pid),
        ]
        orphan, owned = made
        with cj.Session.new_docker([], image=docker_image, pool=False) as live:
            live.run_tool("bash_tool", command="true", description="start")
            assert live.container_id
            for name in (f"orphan-{tag}", f"owned-{tag}", live.id):
                assert cli_main(["sandbox", "prune", "--session", name]) == 0
            said = capsys.readouterr().out
            assert not _exists(docker_client, orphan), "a container whose owner is gone is removed"
            assert _exists(docker_client, owned), "a container whose owner runs is kept"
            assert _exists(docker_client, live.container_id), "a live session's container is kept"
            assert f"removed {orphan[:12]}" in said and "whose owner is running" in said and "--all" in said
            assert cli_main(["sandbox", "prune", "--owner", str(sleeper.pid)]) == 0
            assert _exists(docker_client, owned), "--owner of a running process still keeps its containers"
            assert cli_main(["sandbox", "prune", "--session", f"owned-{tag}", "--all"]) == 0
            assert not _exists(docker_client, owned), "--all forces"
            assert (
                live.run_tool("bash_tool", command="echo still", description="after").content.strip()
                == "still"
            )
    finally:
        sleeper.kill()
        sleeper.wait()
        for cid in made:
            if _exists(docker_client, cid):
                docker_client.api.remove_container(cid, force=True)
