"""The tutorials under nbval: always offline (no real model calls, so the outputs hold still), and
05 (docker) skipped when no Docker engine with the sandbox image is here, unless it is required."""

from __future__ import annotations

import os

import pytest

os.environ["CONJURE_OFFLINE"] = "1"  # read by each tutorial's first cell; kernels inherit it
# nbval kills each kernel at the end (no exit hooks run), and a killed owner's warm docker pool leaves
# its empty slot dirs behind (its containers remove themselves): the tutorials here start without one
os.environ["CONJURE_DOCKER_POOL"] = "0"


def _docker_ready() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=5)
        try:
            client.images.get("conjure-nb/sandbox:latest")
        finally:
            client.close()
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs_docker = [i for i in items if i.path.name.startswith("05_") and i.path.suffix == ".ipynb"]
    if not needs_docker or os.environ.get("CONJURE_REQUIRE_DOCKER") == "1" or _docker_ready():
        return
    skip = pytest.mark.skip(reason="notebook 05 needs a Docker engine and conjure-nb/sandbox:latest")
    for item in needs_docker:
        item.add_marker(skip)
