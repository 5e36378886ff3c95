"""cj.validate: the lenient and strict profiles, and readable messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from skillfiles import MakeSkill

import conjure_nb as cj
from conjure_nb.skills._limits import limits

WriteRaw = Callable[[str, "str | bytes"], Path]


def test_a_clean_skill_passes_both_profiles(make_skill: MakeSkill) -> None:
    folder = make_skill("log-analyzer", extra="license: MIT\nmetadata:\n  version: '2'\n")
    for strict in (False, True):
        report = cj.validate(folder, strict=strict)
        assert report.ok, report.errors
        assert (report.errors, report.warnings, report.skill) == ([], [], "log-analyzer")
        assert report.path == folder and report.strict is strict


def test_long_description_message(make_skill: MakeSkill) -> None:
    folder = make_skill("log-analyzer", "d" * 1301)
    lenient = cj.validate(folder)
    strict = cj.validate(folder, strict=True)
    message = "skill 'log-analyzer': description is 1,301 characters; the limit is 1,024"
    assert lenient.ok and lenient.warnings == [message]
    assert not strict.ok and strict.errors == [message]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Log-Analyzer", "name 'Log-Analyzer' has uppercase letters; use 'log-analyzer'"),
        ("log--analyzer", "name 'log--analyzer' contains '--'; use single hyphens"),
        ("-log", "name '-log' starts or ends with a hyphen; remove it"),
        ("log-", "name 'log-' starts or ends with a hyphen; remove it"),
        ("log_analyzer", "name 'log_analyzer' may only use lowercase letters, digits and hyphens, not '_'"),
        ("a" * 65, "name is 65 characters; the limit is 64"),
        ("claude-helper", "name 'claude-helper' contains the reserved word 'claude'; choose another name"),
        ("my-anthropic", "name 'my-anthropic' contains the reserved word 'anthropic'; choose another name"),
    ],
)
def test_name_rules(make_skill: MakeSkill, name: str, problem: str) -> None:
    folder = make_skill(name)
    strict = cj.validate(folder, strict=True)
    assert strict.errors == [f"skill {name!r}: {problem}"]
    assert cj.validate(folder).warnings == strict.errors


def test_name_with_xml_tags(write_raw: WriteRaw) -> None:
    folder = write_raw("tagged", "---\nname: <b>x\ndescription: d\n---\nbody\n")
    errors = cj.validate(folder, strict=True).errors
    assert "skill '<b>x': name contains XML tags ('<' or '>'); they are not allowed" in errors


def test_dir_and_name_must_match(make_skill: MakeSkill) -> None:
    folder = make_skill("log-analyzer", folder="logs")
    report = cj.validate(folder, strict=True)
    assert report.errors == [
        "skill 'log-analyzer': name 'log-analyzer' does not match its folder 'logs';"
        " rename one to match the other"
    ]


def test_description_with_xml_tags(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("tags", "Use <tool> here"), strict=True)
    assert report.errors == [
        "skill 'tags': description contains '<' or '>' (XML tags are not allowed); reword it"
    ]


def test_unknown_keys_are_errors_only_when_strict(make_skill: MakeSkill) -> None:
    folder = make_skill("extra", extra="user-invocable: true\nmodel: opus\n")
    message = (
        "skill 'extra': unknown frontmatter keys 'user-invocable', 'model';"
        " the spec allows name, description, license, compatibility, metadata, allowed-tools"
    )
    assert cj.validate(folder).warnings == [message]
    assert cj.validate(folder, strict=True).errors == [message]


def test_compatibility_limits(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("compat", extra=f"compatibility: {'c' * 501}\n"), strict=True)
    assert report.errors == ["skill 'compat': compatibility is 501 characters; the limit is 500"]


def test_non_string_values(make_skill: MakeSkill) -> None:
    extra = "license: 3\nmetadata:\n  version: 1.0\n  tags: [a]\nallowed-tools: [Read, Bash]\n"
    report = cj.validate(make_skill("typed", extra=extra), strict=True)
    assert report.errors == [
        "skill 'typed': license must be a string, not a number",
        "skill 'typed': metadata['version'] must be a string, not a number (quote it)",
        "skill 'typed': metadata['tags'] must be a string, not a list (quote it)",
        "skill 'typed': allowed-tools must be a space-separated string such as"
        " 'Bash(python3:*) Read', not a list",
    ]


def test_lenient_load_coerces_what_strict_rejects(make_skill: MakeSkill) -> None:
    extra = "license: 3\nmetadata:\n  version: 1.0\nallowed-tools: [Read, Bash]\n"
    skill = cj.load_skill(make_skill("typed", extra=extra))
    assert (skill.license, skill.metadata, skill.allowed_tools) == ("3", {"version": "1.0"}, ["Read", "Bash"])


def test_metadata_not_a_map(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("meta", extra="metadata: just text\n"), strict=True)
    assert report.errors == [
        "skill 'meta': metadata must be a map of string keys to string values, not a string"
    ]


def test_long_body_is_a_warning_even_when_strict(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("wordy", body="line\n" * 501), strict=True)
    assert report.ok
    assert report.warnings == [
        "skill 'wordy': SKILL.md body is 501 lines; keep it under 500 and move detail into references/"
    ]


def test_a_body_of_exactly_500_lines_is_fine(make_skill: MakeSkill) -> None:
    assert cj.validate(make_skill("wordy", body="line\n" * 500), strict=True).warnings == []


def test_empty_body_is_a_warning(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("hollow", body=""), strict=True)
    assert report.ok and report.warnings == [
        "skill 'hollow': SKILL.md has no body; add the instructions the model should follow"
    ]


def test_size_limit_is_a_setting(make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_skill("heavy")
    (folder / "assets").mkdir()
    (folder / "assets" / "blob.bin").write_bytes(b"\0" * 5000)
    assert limits.max_upload_bytes == 30 * 1024 * 1024
    assert cj.validate(folder, strict=True).ok
    monkeypatch.setattr(limits, "max_upload_bytes", 4096)
    errors = cj.validate(folder, strict=True).errors
    assert len(errors) == 1 and errors[0].startswith("skill 'heavy': the skill folder holds 5,")
    assert "the limit is 4,096" in errors[0]
    assert cj.validate(folder, strict=True, max_bytes=10_000).ok


def test_packaging_junk_does_not_count_towards_size(make_skill: MakeSkill) -> None:
    folder = make_skill("clean")
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / "big.js").write_bytes(b"x" * 20_000)
    assert cj.validate(folder, strict=True, max_bytes=10_000).ok


def test_unparseable_frontmatter_is_an_error_in_both_profiles(write_raw: WriteRaw) -> None:
    folder = write_raw("broken", "---\nname: x\n  bad: indent\n---\n")
    for strict in (False, True):
        report = cj.validate(folder, strict=strict)
        assert not report.ok and report.skill is None
        assert report.errors[0].startswith("skill 'broken': SKILL.md frontmatter is not valid YAML")


def test_validate_a_missing_path_and_a_file(tmp_path: Path) -> None:
    assert cj.validate(tmp_path / "nope").errors == [
        f"skill 'nope': {str(tmp_path / 'nope')!r} does not exist"
    ]
    (tmp_path / "f.txt").write_text("x")
    report = cj.validate(tmp_path / "f.txt")
    assert report.errors == [f"skill 'f.txt': {str(tmp_path / 'f.txt')!r} is a file, not a skill folder"]
    assert cj.validate(tmp_path).errors == [f"skill {tmp_path.name!r}: {str(tmp_path)!r} has no SKILL.md"]


def test_validate_a_skill_zip(tmp_path: Path, make_skill: MakeSkill) -> None:
    archive = cj.package(make_skill("zipped"), tmp_path / "zipped.skill")
    report = cj.validate(archive, strict=True)
    assert report.ok and report.skill == "zipped" and report.path == archive


def test_report_to_dict_and_raise(make_skill: MakeSkill) -> None:
    report = cj.validate(make_skill("Bad"), strict=True)
    data = report.to_dict()
    assert data["ok"] is False and data["skill"] == "Bad" and data["strict"] is True
    assert data["errors"] == report.errors
    with pytest.raises(cj.SkillError) as info:
        report.raise_for_errors()
    assert info.value.problems == report.errors
    assert "uppercase" in str(report)
    assert repr(report) == "<ValidationReport 'Bad' invalid (strict): 1 error(s), 0 warning(s)>"
    assert report._repr_mimebundle_()[0]["text/html"].startswith(
        "<div><b>Bad</b>: invalid (strict)</div><ul><li>error: skill &#x27;Bad&#x27;"
    )
