"""Token usage as a person is shown it: only counts a real model reported.

A stand-in model (`ScriptedModel`, a `FunctionModel` not marked `real=True`, an `AnthropicModel`
pointed at a `FakeAnthropicServer`: see `models._base.fake_label`) reports token counts too, but
they are made up or unchecked. The session keeps them apart (`Session.invented_usage`); every view
(the magics' tables, the panels' footers, the rendered `Response`, the Jupyter AI persona) shows
`counted(...)` and says `not_usage(...)` where a stand-in answered, never its counts as usage or cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["INPUT_KINDS", "counted", "not_usage", "not_usage_note", "tokens_text"]

INPUT_KINDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
"""The kinds of token a request reads: what "in" sums."""


def not_usage(label: str) -> str:
    """Why no usage or cost is shown while the stand-in `label` answers.

    A bare function may call anything, so its counts are unknown rather than made up; the
    sentence then says how to have them counted.

    Example:
        >>> not_usage("scripted model, offline")
        "no usage or cost: a stand-in model's token counts are not real"
    """
    if label == "function model":
        return (
            "no usage or cost: a function's token counts are not known to be real "
            "(FunctionModel(fn, real=True) counts them)"
        )
    return "no usage or cost: a stand-in model's token counts are not real"


def counted(usage: Mapping[str, int], invented: Mapping[str, int] | None = None) -> dict[str, int]:
    """`usage` without the part stand-in models made up (`invented`): what may be shown as usage.

    Example:
        >>> counted({"input_tokens": 130, "output_tokens": 15}, {"input_tokens": 30, "output_tokens": 15})
        {'input_tokens': 100, 'output_tokens': 0}
    """
    invented = invented or {}
    return {k: max(0, v - invented.get(k, 0)) for k, v in usage.items() if isinstance(v, int)}


def tokens_text(usage: Mapping[str, int]) -> str:
    """Tokens in one phrase, as every view says it.

    Example:
        >>> tokens_text({"input_tokens": 2500, "cache_read_input_tokens": 100, "output_tokens": 42})
        '2,600 in / 42 out tokens'
    """
    tokens_in = sum(usage.get(k, 0) for k in INPUT_KINDS)
    return f"{tokens_in:,} in / {usage.get('output_tokens', 0):,} out tokens"


def not_usage_note(labels: Iterable[str | None]) -> str:
    """What to say where stand-ins answered: their names and that their counts are not usage;
    "" when none did.

    Example:
        >>> not_usage_note(["scripted model, offline", None, "scripted model, offline"])
        'scripted model, offline: tokens not real, left out'
    """
    names = list(dict.fromkeys(label for label in labels if label))
    if not names:
        return ""
    return f"{' and '.join(names)}: tokens not real, left out"
