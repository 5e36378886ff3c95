"""Untrusted text as notebook HTML: escaped, or Markdown rendered and then sanitized.

Two steps, each sufficient against markup on its own, so one bug does not open the notebook:
markdown-it-py renders with raw HTML off (a `<script>` in the text comes out as the characters
`&lt;script&gt;`), then nh3 (the Rust `ammonia` sanitizer) keeps only an allow-list of tags and
attributes. Nothing that runs or loads survives: no scripts, event handlers, `style` (it could overlay
the page), `class`/`id` (they could borrow the page's own styles or clobber names), iframes, objects or
forms. Links keep only http(s) and mailto targets and open in a new tab with
`rel="noopener noreferrer nofollow"`. A Markdown image becomes its alt text: the browser would fetch
its URL, and a fetch is a way out of a sandbox that has no network. The host shows an image only when
it read the bytes itself (`image_html`).

Streamed text is rendered from the whole text received so far, every time: a payload split across
deltas never meets itself as concatenated HTML.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ._limits import limits

__all__ = ["escape", "markdown_html", "sanitize_html"]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "s", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "abbr": {"title"}}
_ALIGN = {"left", "right", "center"}
_LINK_REL = "noopener noreferrer nofollow"


def escape(value: Any) -> str:
    """`value` as text that cannot be markup (quotes escaped too, so it is safe in attributes)."""
    text = value if type(value) is str else str(value)  # html.escape(text, quote=True), one call less
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def sanitize_html(fragment: str) -> str:
    """Keep only the allow-listed tags and attributes of an HTML fragment (see the module doc)."""
    import nh3

    return str(
        nh3.clean(
            fragment,
            tags=_TAGS,
            clean_content_tags={"script", "style"},
            attributes=_ATTRIBUTES,
            tag_attribute_values={"th": {"align": _ALIGN}, "td": {"align": _ALIGN}},
            set_tag_attribute_values={"a": {"target": "_blank"}},
            url_schemes={"http", "https", "mailto"},
            url_relative="deny",
            link_rel=_LINK_REL,
            strip_comments=True,
        )
    )


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def _alt_text(token: Any) -> str:
    return "".join(c.content for c in token.children or () if c.type in ("text", "code_inline"))


def _defuse(tokens: list[Any]) -> None:
    """Images become their alt text; table alignment moves from `style` to `align`."""
    for token in tokens:
        if token.type in ("th_open", "td_open") and token.attrs:
            align = str(token.attrs.get("style", "")).removeprefix("text-align:")
            token.attrs = {"align": align} if align in _ALIGN else {}
        for child in token.children or ():
            if child.type == "image":
                child.type, child.tag, child.content = "text", "", _alt_text(child)
                child.attrs, child.children = {}, None


def markdown_html(text: str, max_chars: int | None = None) -> str:
    """Untrusted Markdown as sanitized HTML: tables, code blocks, headings, lists and links kept.

    Args:
        text: the Markdown (a model's answer, a SKILL.md body, ...).
        max_chars: the most characters rendered (default `limits.max_markdown_chars`); the rest is
            cut with a note saying how much.
    """
    cap = limits.max_markdown_chars if max_chars is None else max_chars
    cut = len(text) - cap if len(text) > cap else 0
    if cut:
        text = text[:cap]
    md = _parser()
    tokens = md.parse(text)
    _defuse(tokens)
    out = sanitize_html(md.renderer.render(tokens, md.options, {}))
    if cut:
        out += f"<p><i>… {cut:,} more characters not shown</i></p>"
    return out
