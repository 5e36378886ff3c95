"""Mistakes mypy must catch: each line marked `# E: <text>` must get an error containing <text>."""

from __future__ import annotations

import conjure_nb as cj

cj.Session.new_local(timout=5)  # E: Unexpected keyword argument "timout"
cj.Session.new_local(model=42)  # E: Argument "model"
cj.Session.new_local(model="claude")  # E: Argument "model"
cj.Session.new_docker(memroy="1g")  # E: Unexpected keyword argument "memroy"
cj.Session.new_native([], timeout="5")  # E: Argument "timeout"
cj.Session.new_local([42])  # E: List item 0
cj.ToolResult("x", True)  # E: Too many positional arguments
