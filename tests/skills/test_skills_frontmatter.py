"""Frontmatter splitting and parsing: examples, and properties over arbitrary text (hypothesis)."""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conjure_nb as cj
from conjure_nb.skills._frontmatter import parse, parse_yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# -- examples --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "meta", "body"),
    [
        (b"---\nname: a\n---\nbody\n", {"name": "a"}, b"body\n"),
        (b"---\r\nname: a\r\n---\r\nbody\r\n", {"name": "a"}, b"body\r\n"),
        (b"\xef\xbb\xbf---\nname: a\n---\nbody", {"name": "a"}, b"body"),
        (b"---\n---\nbody", {}, b"body"),
        (b"---\nname: a\n---", {"name": "a"}, b""),
        (b"---  \nname: a\n---\t\nbody", {"name": "a"}, b"body"),
        (b"---\nname: a\nnote: x --- y\n---\n---\n", {"name": "a", "note": "x --- y"}, b"---\n"),
    ],
)
def test_split_examples(data: bytes, meta: dict[str, Any], body: bytes) -> None:
    parsed, offset = parse(data)
    assert parsed == meta
    assert data[offset:] == body


def test_body_offset_is_in_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "unicode"
    folder.mkdir()
    text = "---\nname: unicode\ndescription: Ünïcödé — “quoted” ✓\n---\nbödy ✓\n"
    (folder / "SKILL.md").write_text(text, encoding="utf-8")
    skill = cj.load_skill(folder)
    assert skill.description == "Ünïcödé — “quoted” ✓"
    assert skill.body == "bödy ✓\n"


@pytest.mark.parametrize(
    "text",
    [
        "name: yes",  # a boolean in YAML 1.1
        "name: 2001-12-14",  # a date
        "name: 1.5",
        "name: ~",
        "name: 'quoted: colon'",
        "name: a # comment",
        "name: a\n  continued",
        "on: x",  # the key is a boolean
        "name: [a, b]",
        "name: >-\n  folded\n  text",
        "metadata:\n  version: one\n  owner: me\nname: x",
        "metadata:\n  version: one\n    deeper: x",
        "metadata:\n    a: b\n  c: d",
        "metadata:\nname: x",
        "metadata:\n\n  a: b\n\n  c: d",
        "metadata:\n  a: 1.0",
        "name: x\n  a: b",
        "metadata:\n  a: b\nmetadata:\n  c: d",
        "version: '1.0'\nq: 'it''s'\nd: \"say: #no\"",
        "e: ''''\nf: \"\"",
        "f: '''",
        'g: "a\\tb"',
        "h: 'a' # c",
    ],
)
def test_simple_looking_lines_agree_with_pyyaml(text: str) -> None:
    assert_agrees_with_pyyaml(text)


def assert_agrees_with_pyyaml(text: str) -> None:
    """parse_yaml gives PyYAML's mapping, {} for an empty document, or a SkillError otherwise."""
    try:
        expected = yaml.load(text, Loader=LOADER)
    except Exception:
        with pytest.raises(cj.SkillError):
            parse_yaml(text)
        return
    if isinstance(expected, dict):
        assert parse_yaml(text) == expected
    elif expected is None:
        assert parse_yaml(text) == {}
    else:
        with pytest.raises(cj.SkillError, match="must be a mapping"):
            parse_yaml(text)


def test_invalid_dates_are_a_skill_error() -> None:
    # PyYAML raises ValueError (not a YAMLError) for this; it must still come out as SkillError
    with pytest.raises(cj.SkillError, match="not valid YAML"):
        parse_yaml("name: 2001-13-45")


# -- properties ------------------------------------------------------------------------------------

KEY = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
VALUE_CHARS = st.sampled_from([*string.printable, "é", "—", "✓", "\u00a0", "\u2028", "\x85", "\ufeff"])
PLAIN = st.text(alphabet=VALUE_CHARS, max_size=40)
QUOTED = st.builds(lambda q, v: f"{q}{v}{q}", st.sampled_from(["'", '"']), PLAIN)
VALUE = st.one_of(PLAIN, PLAIN, QUOTED)
INDENT = st.sampled_from(["", "", "", " ", "  ", "    "])
LINE = st.builds(
    lambda i, k, sep, v: f"{i}{k}{sep}{v}", INDENT, KEY, st.sampled_from([": ", ":", ":  ", " : "]), VALUE
)
PARENT = st.builds(lambda k: f"{k}:", KEY)
YAMLISH = st.lists(st.one_of(LINE, LINE, PARENT, VALUE), max_size=10).map("\n".join)


@given(st.binary(max_size=300))
def test_parse_never_raises_anything_but_skill_error_on_bytes(data: bytes) -> None:
    try:
        meta, offset = parse(b"---\n" + data + b"\n---\nbody")
    except cj.SkillError:
        return
    assert isinstance(meta, dict)
    assert 0 < offset <= len(data) + 14


@given(st.one_of(YAMLISH, st.text(max_size=200)))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_parse_yaml_never_raises_anything_but_skill_error(text: str) -> None:
    try:
        result = parse_yaml(text)
    except cj.SkillError:
        return
    assert isinstance(result, dict)


@given(YAMLISH)
@settings(max_examples=300)
def test_fast_path_agrees_with_pyyaml(text: str) -> None:
    assert_agrees_with_pyyaml(text)


SCALAR = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none())
MAPPING = st.dictionaries(
    KEY, st.one_of(SCALAR, st.dictionaries(KEY, st.text(max_size=10), max_size=3)), max_size=6
)


@given(MAPPING, st.text(max_size=100))
def test_round_trip_through_safe_dump(meta: dict[str, Any], body: str) -> None:
    # allow_unicode=False: PyYAML writes e.g. U+0085 raw otherwise, which YAML reads as a line break
    data = ("---\n" + yaml.safe_dump(meta) + "---\n" + body).encode()
    parsed, offset = parse(data)
    assert parsed == meta
    assert data[offset:].decode() == body


@given(
    st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=20),
    # NEL and the Unicode line/paragraph separators are line breaks to YAML: PyYAML itself folds
    # them when dumping with allow_unicode, so they cannot round-trip whatever the loader does
    st.text(
        alphabet=st.characters(blacklist_characters="\x85\u2028\u2029", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=200,
    ).filter(lambda s: s.strip()),
)
@settings(max_examples=int(os.environ.get("CONJURE_HYPOTHESIS_EXAMPLES", "50")), deadline=None)
def test_round_trip_through_the_loader(name: str, description: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        front = yaml.safe_dump({"name": name, "description": description}, allow_unicode=True)
        (folder / "SKILL.md").write_text(f"---\n{front}---\nthe body\n", encoding="utf-8")
        skill = cj.load_skill(folder)
        assert (skill.name, skill.description, skill.body) == (name, description, "the body\n")
