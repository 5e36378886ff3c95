"""The session layer: `Session` (history, created files, usage, lifecycle) and its persistence."""

from ..tools.response import Response
from .core import Session

__all__ = ["Response", "Session"]
