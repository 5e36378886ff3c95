"""Fakes that are part of the product: use them to test code built on conjure_nb offline."""

from ._anthropic_server import FakeAnthropicServer, Fault, RecordedRequest

__all__ = ["FakeAnthropicServer", "Fault", "RecordedRequest"]
