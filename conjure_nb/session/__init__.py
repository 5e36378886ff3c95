"""The session layer: `Session` (history, created files, usage, lifecycle) and its persistence."""

from ..tools._response import Response
from ._core import Session

__all__ = ["Response", "Session"]
