"""Estimated cost of tokens, from a price table you can read and override.

The table maps a model id *prefix* to USD per million tokens; the longest matching prefix wins, so
`"claude-sonnet-4"` prices `claude-sonnet-4-6` and `claude-sonnet-4-5-20250929` alike. A model no
entry matches has no price, and the panels say "unknown" rather than guess.

The figures are Anthropic's list prices when this table was written; they change, and discounts
(batch, negotiated rates) are not modelled. Override per panel (`ChatPanel(session, prices={...})`)
or for the whole process:

```python
from conjure_nb.notebook.panels import PRICES, Price
PRICES["my-local-llama"] = Price(input=0.0, output=0.0)
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PRICES", "Price", "estimate_cost", "find_price", "format_cost"]


@dataclass(frozen=True)
class Price:
    """USD per million tokens. Cache writes and reads default to 1.25x and 0.1x the input price."""

    input: float
    output: float
    cache_write: float | None = None
    cache_read: float | None = None

    def cost(self, usage: Mapping[str, int]) -> float:
        """The cost in USD of one usage dict (the Messages API's `usage` field names)."""
        write = self.cache_write if self.cache_write is not None else self.input * 1.25
        read = self.cache_read if self.cache_read is not None else self.input * 0.1
        per_token = {
            "input_tokens": self.input,
            "output_tokens": self.output,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
        }
        return sum(usage.get(key, 0) * rate for key, rate in per_token.items()) / 1_000_000


PRICES: dict[str, Price] = {
    "claude-opus-4-5": Price(input=5.0, output=25.0),
    "claude-opus-4-6": Price(input=5.0, output=25.0),
    "claude-opus-4": Price(input=15.0, output=75.0),
    "claude-sonnet-4": Price(input=3.0, output=15.0),
    "claude-3-7-sonnet": Price(input=3.0, output=15.0),
    "claude-haiku-4": Price(input=1.0, output=5.0),
    "claude-3-5-haiku": Price(input=0.8, output=4.0),
    "claude-3-haiku": Price(input=0.25, output=1.25),
}
"""Model id prefix -> price. Edit it, or pass `prices=` to a panel, to change what is charged."""


def find_price(model_id: str | None, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price for `model_id` (longest matching prefix), or None when it has none."""
    if not model_id:
        return None
    table = PRICES if prices is None else prices
    matches = [prefix for prefix in table if model_id.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


def estimate_cost(
    model_id: str | None, usage: Mapping[str, int], prices: Mapping[str, Price] | None = None
) -> float | None:
    """USD for `usage` on `model_id`, or None when the model has no price."""
    price = find_price(model_id, prices)
    return None if price is None else price.cost(usage)


def format_cost(cost: float | None) -> str:
    """`$0.0123`, or "unknown" for a model without a price."""
    if cost is None:
        return "unknown"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"
