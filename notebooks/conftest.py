"""The tutorials under nbval: always offline (no real model calls, so the outputs hold still), and
05 (docker) skipped when no Docker engine with the sandbox image is here, unless it is required."""

from __future__ import annotations

import os

import pytest

os.environ["CONJURE_OFFLINE"] = "1"  # read by each tutorial's first cell; kernels inherit it
_POOL_SETTING = os.environ.get("CONJURE_DOCKER_POOL")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The tutorials' kernels start without a warm docker pool: nbval kills each kernel at the end
    (no exit hooks run), and a killed owner's pool leaves its empty slot dirs behind (its containers
    remove themselves). Only the kernels of these items see this (the docker tests keep their pool)."""
    os.environ["CONJURE_DOCKER_POOL"] = "0"


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if nextitem is None or nextitem.path.parent != item.path.parent:
        if _POOL_SETTING is None:
            os.environ.pop("CONJURE_DOCKER_POOL", None)
        else:
            os.environ["CONJURE_DOCKER_POOL"] = _POOL_SETTING


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
