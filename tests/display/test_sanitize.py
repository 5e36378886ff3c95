"""Issue 20 item 1: no markup from untrusted text runs or loads anything, in every renderer.

Each test pushes the payload corpus through one renderer and checks the HTML statically; the
browser test (tests/browser/test_trust_in_jupyterlab.py) runs the same corpus in JupyterLab.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import conjure_nb as cj
from conjure_nb.display import markdown_html, sanitize_html
from conjure_nb.models._scripted import ScriptedModel as S
from conjure_nb.notebook.render import to_html

from .payloads import PAYLOADS, assert_inert, corpus


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_payload_is_inert_as_markdown(payload: str) -> None:
    assert_inert(markdown_html(payload.format(attacker="http://127.0.0.1:9")))


def test_markdown_keeps_its_look() -> None:
    out = markdown_html(corpus())
    assert_inert(out)
    assert "<h1>Findings</h1>" in out and "<table>" in out and "<td>1</td>" in out
    assert "<pre><code>code &lt;here&gt;" in out
    assert "exfil" in out, "an image becomes its alt text"
    link = markdown_html("[docs](https://example.com/x)")
    assert 'href="https://example.com/x"' in link and 'rel="noopener noreferrer nofollow"' in link
    assert 'target="_blank"' in link
    assert "align=" in markdown_html("| a |\n|--:|\n| 1 |\n") and "style" not in markdown_html(
        "| a |\n|--:|\n| 1 |\n"
    )


def test_sanitizer_alone_drops_what_markdown_would_already_escape() -> None:
    raw = "".join(p.format(attacker="http://127.0.0.1:9") for p in PAYLOADS)
    assert_inert(sanitize_html(raw))
    assert "href" not in sanitize_html('<a href="/api/contents/x">rel</a>'), "relative links go"


def test_streamed_payload_split_across_deltas_is_inert() -> None:
    # the text is re-rendered whole after every delta: halves never join as markup
    text = corpus()
    shown = ""
    for i in range(0, len(text), 7):
        shown = markdown_html(text[: i + 7])
        assert_inert(shown)
    assert "Findings" in shown


def _turn(text: str) -> list[dict[str, object]]:
    return [
        S.reply(S.tool_use("bash_tool", command=f"echo '{text[:40]}'", description=text[:40])),
        S.reply(text),
    ]


def test_response_reprs_are_inert_with_and_without_the_extension(tmp_path: Path) -> None:
    payload = corpus()
    with cj.Session.new_local(model=S(_turn(payload)), working_dir=tmp_path) as s:
        r = s.chat(payload)
    assert not hasattr(r, "_repr_markdown_") and not hasattr(r, "_repr_html_")
    data, _ = r._repr_mimebundle_()
    assert "text/markdown" not in data
    assert_inert(data["text/html"], host_styles=True)
    assert data["text/html"] == to_html(r), "one rendering, whoever asks"
    assert "<h1>Findings</h1>" in data["text/html"]


def test_every_chat_format_is_inert(tmp_path: Path) -> None:
    from conjure_nb.display._mime import show_as

    assert set(cj.Response.formats) == {"markdown", "html", "text", "json"}
    for fmt in cj.Response.formats:
        r = show_as(cj.Response(corpus(), "end_turn", fake_model="<b>scripted</b>"), fmt)
        data, _ = r._repr_mimebundle_()
        assert "text/markdown" not in data
        if "text/html" in data:
            assert_inert(data["text/html"], host_styles=True)
    html = show_as(cj.Response(corpus(), "end_turn"), "html")._repr_mimebundle_()[0]["text/html"]
    assert "<h1>Findings</h1>" in html


def test_skill_and_report_reprs_are_inert(tmp_path: Path) -> None:
    skill_dir = tmp_path / "evil"
    skill_dir.mkdir()
    desc = "<img src=x onerror=alert(1)> ![x](http://127.0.0.1:9/d)"
    (skill_dir / "SKILL.md").write_text(f'---\nname: evil\ndescription: "{desc}"\n---\n{corpus()}')
    skill = cj.load_skill(skill_dir)
    assert not hasattr(skill, "_repr_markdown_")
    assert_inert(skill._repr_mimebundle_()[0]["text/html"])
    report = cj.validate(skill_dir, strict=True)
    assert_inert(report._repr_mimebundle_()[0]["text/html"])
    browser = cj.SkillBrowser([skill])
    try:
        for widget in (browser.summary, browser.frontmatter, browser.resources, browser.report):
            assert_inert(widget.value, host_styles=True)
        (body,) = browser.body.outputs
        assert "text/markdown" not in body["data"]
        assert_inert(body["data"]["text/html"])
    finally:
        browser.close()


def test_chat_panel_is_inert(tmp_path: Path) -> None:
    payload = corpus()
    with cj.Session.new_local(model=S(_turn(payload)), working_dir=tmp_path) as s:
        panel = cj.ChatPanel(s)
        try:
            panel.chat(payload)
            panel.wait(30)
            turn = panel.turns[0]
            htmls = [turn.user.value, turn.answer.value, turn.status.value, panel.footer.value]
            htmls += [row.widget.value for row in turn.rows.values()]
            for child in turn.activity.children:
                htmls += [o["data"].get("text/html", "") for o in getattr(child, "outputs", ())]
                htmls.append(getattr(child, "value", ""))
            htmls += [o["data"].get("text/html", "") for o in turn.reply.outputs]
            assert all("text/markdown" not in o["data"] for o in turn.reply.outputs)
            for fragment in htmls:
                assert_inert(fragment, host_styles=True)
        finally:
            panel.close()


def test_error_message_in_chat_panel_is_inert(tmp_path: Path) -> None:
    def boom(_messages: object) -> dict[str, object]:
        raise cj.ModelError("<img src=x onerror=alert(1)> upstream said no")

    with cj.Session.new_local(model=boom, working_dir=tmp_path) as s:
        panel = cj.ChatPanel(s)
        try:
            panel.chat("hi")
            panel.wait(30)
            for fragment in (panel.turns[0].status.value, panel.notice.value):
                assert_inert(fragment, host_styles=True)
            assert "&lt;img" in panel.turns[0].status.value
        finally:
            panel.close()


def test_files_and_tables_with_markup_are_inert(tmp_path: Path) -> None:
    import pandas as pd

    name = "<img src=x onerror=alert(1)>.csv"
    with cj.Session.new_local(working_dir=tmp_path) as s:
        s.run_tool(
            "create_file", path=name, file_text="a,<b onmouseover=x>\n<script>1</script>,2\n", description="d"
        )
        assert s.created_files
        panel = cj.FilesPanel(s)
        try:
            for card in panel.gallery.children:
                assert_inert(card.value, host_styles=True)
        finally:
            panel.close()
        assert_inert(to_html(s), host_styles=True)
    df = pd.DataFrame({"<script>x</script>": ["<img src=x onerror=alert(1)>"]})
    assert_inert(to_html(df), host_styles=True)
    result = cj.ToolResult('[{"<svg onload=alert(1)>": "<iframe src=http://127.0.0.1:9>"}]')
    assert_inert(to_html(result), host_styles=True)
    assert_inert(to_html(dataclasses.replace(result, is_error=True)), host_styles=True)
