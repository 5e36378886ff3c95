"""Docker-engine fixtures for tests/docker (see docker_fixtures.py)."""

from __future__ import annotations

from docker_fixtures import (
    docker_client,
    docker_image,
    docker_session_options,
    make_executor,
    remote_url,
)

__all__ = ["docker_client", "docker_image", "docker_session_options", "make_executor", "remote_url"]
