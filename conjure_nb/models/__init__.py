"""Models: the `Model` seam and its implementations (Anthropic SDK, functions, scripted fakes)."""

from ._base import Model, ModelRequest, allow_real_requests
from ._function import FunctionModel
from ._scripted import ScriptedModel

__all__ = ["FunctionModel", "Model", "ModelRequest", "ScriptedModel", "allow_real_requests"]
