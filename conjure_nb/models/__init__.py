"""Models: the `Model` seam and its implementations (Anthropic SDK, functions, scripted fakes)."""

from .base import Model, ModelRequest, allow_real_requests
from .function import FunctionModel
from .scripted import ScriptedModel

__all__ = ["FunctionModel", "Model", "ModelRequest", "ScriptedModel", "allow_real_requests"]
