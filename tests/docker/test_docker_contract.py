"""The shared contract suite (tests/contract) against the docker backend, local and remote engine.

The scenarios are imported unchanged; only the `backend` fixture differs: a docker session on the
local engine (bind mounts), and one on the same engine reached over loopback TCP with
`remote=True` (files copied in and out with put_archive/get_archive).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from contract.backends import Shell
from contract.test_contract import *  # noqa: F403  (the scenarios)

pytestmark = pytest.mark.docker


@pytest.fixture(params=["docker", "docker-remote"])
def backend(request: pytest.FixtureRequest, docker_session_options: dict[str, object]) -> Iterator[Any]:
    extra = dict(docker_session_options)
    if request.param == "docker-remote":
        extra.update(base_url=request.getfixturevalue("remote_url"), remote=True)
    ops = Shell()
    ops.backend = "docker"  # type: ignore[attr-defined]
    ops.extra = extra  # type: ignore[attr-defined]
    ops.make = lambda model, **kw: ops.session("docker", model, **{**extra, **kw})  # type: ignore[attr-defined]
    yield ops
