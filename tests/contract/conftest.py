from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .backends import Native, Shell

# docker runs these same scenarios from tests/docker/test_docker_contract.py (local and remote
# engine), where the engine and image fixtures live
BACKENDS = ["local", "native"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    name = request.param
    ops = Native() if name == "native" else Shell()
    ops.backend = name  # type: ignore[attr-defined]
    extra: dict[str, Any] = {}

    def make(model: Any, **kw: Any) -> Any:
        return ops.session(name, model, **{**extra, **kw})

    ops.make = make  # type: ignore[attr-defined]
    ops.extra = extra  # type: ignore[attr-defined]
    yield ops
