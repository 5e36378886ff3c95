"""Fakes that are part of the product: use them to test code built on conjure_nb offline."""

from .anthropic_server import FakeAnthropicServer

__all__ = ["FakeAnthropicServer"]
