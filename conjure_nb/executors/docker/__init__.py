"""The docker backend: tool calls in a sandbox container, one per session.

`DockerExecutor` is the public name (`cj.DockerExecutor`); `build_image` builds the sandbox image
(`conjure-nb sandbox build`), `prune` removes containers a killed process left behind, and
`warm_pool()` is this process's pool of ready sandboxes (`WarmPool`, see _pool.py).
"""

from __future__ import annotations

from ._client import LABEL, connect, prune
from ._executor import DockerExecutor
from ._image import DEFAULT_IMAGE, build_image, default_image
from ._pool import WarmPool, warm_pool

__all__ = [
    "DEFAULT_IMAGE",
    "LABEL",
    "DockerExecutor",
    "WarmPool",
    "build_image",
    "connect",
    "default_image",
    "prune",
    "warm_pool",
]
