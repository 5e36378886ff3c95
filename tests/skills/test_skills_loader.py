"""cj.load / cj.load_skill: discovery, ordering, overrides, and every kind of bad input."""

from __future__ import annotations

import gc
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from skillfiles import MakeSkill, write_skill

import conjure_nb as cj

WriteRaw = Callable[[str, "str | bytes"], Path]


def names(skills: list[cj.Skill]) -> list[str]:
    return [s.name for s in skills]


# -- what loads ------------------------------------------------------------------------------------


def test_load_skill_reads_every_field(make_skill: MakeSkill) -> None:
    extra = (
        "license: Apache-2.0\ncompatibility: Needs python3\nallowed-tools: Bash(python3:*) Read\n"
        "metadata:\n  version: '1.0'\n  author: me\nuser-invocable: true\n"
    )
    folder = make_skill("log-analyzer", "Analyze logs. Use for incidents.", extra=extra, body="# Hi\nbody\n")
    (folder / "scripts").mkdir()
    (folder / "scripts" / "run.py").write_text("print(1)\n")
    (folder / "references").mkdir()
    (folder / "references" / "api.md").write_text("x")
    (folder / "notes.txt").write_text("x")

    skill = cj.load_skill(folder)

    assert skill.name == "log-analyzer"
    assert skill.description == "Analyze logs. Use for incidents."
    assert skill.license == "Apache-2.0"
    assert skill.compatibility == "Needs python3"
    assert skill.allowed_tools == ["Bash(python3:*)", "Read"]
    assert skill.metadata == {"version": "1.0", "author": "me"}
    assert skill.extra == {"user-invocable": True}
    assert skill.path == folder
    assert skill.body == "# Hi\nbody\n"
    assert skill.resources.scripts == ("scripts/run.py",)
    assert skill.resources.references == ("references/api.md",)
    assert skill.resources.other == ("notes.txt",)


def test_load_skill_accepts_the_skill_md_path(make_skill: MakeSkill) -> None:
    folder = make_skill("alpha")
    assert cj.load_skill(folder / "SKILL.md").name == "alpha"


def test_body_is_read_only_when_asked_for(make_skill: MakeSkill) -> None:
    folder = make_skill("alpha", body="the body\n")
    skill = cj.load_skill(folder)
    (folder / "SKILL.md").unlink()  # the frontmatter was enough to load; the body was never read
    assert skill.description.startswith("Does a thing")
    with pytest.raises(FileNotFoundError):
        _ = skill.body


def test_load_finds_nested_skills_sorted_by_name(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "zeta")
    write_skill(root / "group" / "inner", "alpha")
    write_skill(root, "mid")
    assert names(cj.load(root)) == ["alpha", "mid", "zeta"]


def test_load_skips_git_node_modules_and_hidden_dirs(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "kept")
    write_skill(root / ".git", "in-git")
    write_skill(root / "node_modules", "in-node-modules")
    write_skill(root / ".hidden", "in-hidden")
    assert names(cj.load(root)) == ["kept"]


def test_load_stops_at_max_depth(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root / "a", "shallow")
    write_skill(root / "a" / "b" / "c", "deep")
    assert names(cj.load(root, max_depth=2)) == ["shallow"]
    assert names(cj.load(root, max_depth=4)) == ["deep", "shallow"]


def test_a_skill_folder_is_not_searched_further(tmp_path: Path) -> None:
    outer = write_skill(tmp_path, "outer")
    write_skill(outer / "examples", "inner")
    assert names(cj.load(tmp_path)) == ["outer"]


def test_load_takes_a_list_and_later_roots_override_earlier(tmp_path: Path) -> None:
    first = write_skill(tmp_path / "one", "shared", "from one")
    second = write_skill(tmp_path / "two", "shared", "from two")
    write_skill(tmp_path / "two", "other")
    with pytest.warns(cj.SkillWarning, match="'shared'.*overrides") as caught:
        skills = cj.load([tmp_path / "one", str(tmp_path / "two")])
    assert names(skills) == ["other", "shared"]
    assert skills[1].description == "from two"
    message = str(caught[0].message)
    assert str(second) in message and str(first) in message


def test_load_of_a_skill_zip(tmp_path: Path, make_skill: MakeSkill) -> None:
    packed = cj.package(make_skill("zipped", body="zipped body\n"), tmp_path / "zipped.skill")
    skill = cj.load(tmp_path / "zipped.skill")[0]
    assert (skill.name, skill.body) == ("zipped", "zipped body\n")
    assert packed.exists()


def test_zip_extraction_is_removed_when_the_skill_is_dropped(tmp_path: Path, make_skill: MakeSkill) -> None:
    cj.package(make_skill("zipped"), tmp_path / "zipped.skill")
    skill = cj.load_skill(tmp_path / "zipped.skill")
    extracted = skill.path
    assert (extracted / "SKILL.md").is_file()
    del skill
    gc.collect()
    assert not extracted.exists()


def test_zips_in_a_folder_of_skills_are_loaded(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "plain")
    archive = root / "packed.skill"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("packed/SKILL.md", "---\nname: packed\ndescription: from a zip\n---\nbody\n")
    assert names(cj.load(root)) == ["packed", "plain"]


def test_errors_must_be_a_known_mode(tmp_path: Path) -> None:
    with pytest.raises(cj.UsageError, match="errors must be"):
        cj.load(tmp_path, errors="explode")  # type: ignore[arg-type]


# -- bad input: each is reported, names the skill, and hides nothing else --------------------------


def load_with_one_bad(tmp_path: Path, match: str) -> list[cj.Skill]:
    """Load `tmp_path/skills` expecting exactly one SkillWarning that matches `match`."""
    write_skill(tmp_path / "skills", "good")
    with pytest.warns(cj.SkillWarning) as caught:
        skills = cj.load(tmp_path / "skills")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert re.search(match, messages[0]), messages[0]
    assert names(skills) == ["good"]
    return skills


def test_malformed_yaml(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("broken", "---\nname: broken\ndescription: [unclosed\n---\nbody\n")
    load_with_one_bad(tmp_path, r"skill 'broken': SKILL.md frontmatter is not valid YAML.*line")


def test_frontmatter_that_is_a_list(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("listy", "---\n- name\n- description\n---\n")
    load_with_one_bad(tmp_path, r"skill 'listy': .*must be a mapping.*not a list")


def test_no_frontmatter_at_all(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("plain", "# Just markdown\n")
    load_with_one_bad(tmp_path, r"skill 'plain': SKILL.md does not start with YAML frontmatter")


def test_missing_name(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("nameless", "---\ndescription: something\n---\n")
    load_with_one_bad(tmp_path, r"skill 'nameless': name is missing")


def test_missing_description(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("mute", "---\nname: mute\n---\n")
    load_with_one_bad(tmp_path, r"skill 'mute': description is missing")


def test_empty_description(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("blank", "---\nname: blank\ndescription: '  '\n---\n")
    load_with_one_bad(tmp_path, r"skill 'blank': description is empty")


def test_non_string_name(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("numeric", "---\nname: 123\ndescription: d\n---\n")
    load_with_one_bad(tmp_path, r"skill 'numeric': name must be a string, not a number \(quote it\)")


def test_non_string_description(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("flag", "---\nname: flag\ndescription: yes\n---\n")
    load_with_one_bad(tmp_path, r"skill 'flag': description must be a string, not a boolean")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../etc", "contains a path separator"),
        ("..", "is a relative path component"),
        ("a\\\\b", "contains a path separator"),
        ("tab\\tname", "contains control characters"),
    ],
)
def test_a_name_that_is_not_one_path_segment_is_refused_in_every_profile(
    tmp_path: Path, write_raw: WriteRaw, name: str, problem: str
) -> None:
    # the name would become the mount target /mnt/skills/<name> and a folder on upload
    folder = write_raw("unsafe", f'---\nname: "{name}"\ndescription: d\n---\n')
    load_with_one_bad(tmp_path, re.escape(problem))
    with pytest.raises(cj.SkillError, match=re.escape(problem)):
        cj.load_skill(folder)
    for strict in (False, True):
        report = cj.validate(folder, strict=strict)
        assert not report.ok and any(problem in e for e in report.errors), report.errors


def test_a_skill_object_cannot_be_made_with_an_unsafe_name(tmp_path: Path) -> None:
    with pytest.raises(cj.SkillError, match="one safe path segment"):
        cj.Skill(name="../../etc", description="d", path=tmp_path)


def test_metadata_not_a_map_loads_without_it(make_skill: MakeSkill) -> None:
    folder = make_skill("meta", extra="metadata: [a, b]\n")
    skill = cj.load_skill(folder)  # lenient: loads, and validate() says what is wrong
    assert skill.metadata == {}
    report = cj.validate(folder)
    assert report.ok
    assert (
        "skill 'meta': metadata must be a map of string keys to string values, not a list" in report.warnings
    )


def test_ten_megabyte_body_loads_from_the_head(make_skill: MakeSkill) -> None:
    body = "line of text that goes on\n" * 400_000  # ~10 MB
    folder = make_skill("huge", body=body)
    assert (folder / "SKILL.md").stat().st_size > 10_000_000
    skill = cj.load_skill(folder)
    assert skill.name == "huge"
    assert len(skill.body) == len(body)


def test_ten_megabytes_without_a_closing_line(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("endless", "---\nname: endless\ndescription: d\n" + "x: y\n" * 2_000_000)
    load_with_one_bad(tmp_path, r"skill 'endless': .*no closing '---' line within the first 1,048,576 bytes")


def test_frontmatter_that_is_not_utf8(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_raw("latin", b"---\nname: latin\ndescription: caf\xe9\n---\n")
    load_with_one_bad(tmp_path, r"skill 'latin': SKILL.md frontmatter is not valid UTF-8 \(byte 0xe9")


def test_skill_md_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "skills" / "odd" / "SKILL.md").mkdir(parents=True)
    load_with_one_bad(tmp_path, r"skill 'odd': .*SKILL.md' is not a regular file")


def test_skill_md_that_is_a_broken_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "dangling"
    folder.mkdir(parents=True)
    os.symlink(tmp_path / "nowhere.md", folder / "SKILL.md")
    load_with_one_bad(tmp_path, r"skill 'dangling': .*is a symlink to .*nowhere.md', which does not exist")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_skill_md_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "piped"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "SKILL.md")  # opening it for reading would block without O_NONBLOCK
    load_with_one_bad(tmp_path, r"skill 'piped': .*SKILL.md' is not a regular file")


def test_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.warns(cj.SkillWarning, match="no skills found under '.*empty'"):
        assert cj.load(tmp_path / "empty") == []


def test_a_file_instead_of_a_dir(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.warns(cj.SkillWarning, match=r"notes.txt' is a file, not a skill folder or a .skill package"):
        assert cj.load(tmp_path / "notes.txt") == []


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.warns(cj.SkillWarning, match="missing' does not exist"):
        assert cj.load(tmp_path / "missing") == []


def test_a_bad_zip_among_good_skills(tmp_path: Path) -> None:
    (tmp_path / "skills").mkdir()
    (tmp_path / "skills" / "junk.skill").write_bytes(b"not a zip at all")
    load_with_one_bad(tmp_path, r"skill 'junk.skill': 'junk.skill' is not a readable zip file")


def test_lenient_loading_keeps_spec_breaking_skills(make_skill: MakeSkill) -> None:
    long = "x" * 1068  # Anthropic's own claude-api skill has a description this long
    make_skill("Loose--Name", long, folder="elsewhere", extra="argument-hint: '[file]'\n")
    skill = cj.load(make_skill("fine").parent)[0]
    assert skill.name == "Loose--Name" and skill.extra == {"argument-hint": "[file]"}


def test_errors_raise_lists_every_bad_skill(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_skill(tmp_path / "skills", "good")
    write_raw("one", "---\nname: one\n---\n")
    write_raw("two", "no frontmatter\n")
    with pytest.raises(cj.SkillError) as info:
        cj.load(tmp_path / "skills", errors="raise")
    assert "2 skills could not be loaded" in str(info.value)
    assert len(info.value.problems) == 2
    assert any("skill 'one'" in p for p in info.value.problems)
    assert any("skill 'two'" in p for p in info.value.problems)


def test_errors_ignore_is_silent(tmp_path: Path, write_raw: WriteRaw) -> None:
    write_skill(tmp_path / "skills", "good")
    write_raw("bad", "nope\n")
    assert names(cj.load(tmp_path / "skills", errors="ignore")) == ["good"]


def test_load_skill_raises_for_a_bad_skill(write_raw: WriteRaw) -> None:
    folder = write_raw("bad", "---\nname: bad\n---\n")
    with pytest.raises(cj.SkillError, match="skill 'bad': description is missing") as info:
        cj.load_skill(folder)
    assert info.value.skill == "bad"


def test_load_skill_of_a_folder_without_skill_md(tmp_path: Path) -> None:
    with pytest.raises(cj.SkillError, match=r"has no SKILL\.md"):
        cj.load_skill(tmp_path)
    with pytest.raises(cj.SkillError, match="does not exist"):
        cj.load_skill(tmp_path / "nope")


def test_plain_frontmatter_loads_without_importing_yaml(tmp_path: Path) -> None:
    import subprocess
    import sys

    write_skill(tmp_path, "plain", extra="license: MIT\nmetadata:\n  version: v1\n  owner: me\n")
    code = (
        "import sys, conjure_nb as cj\n"
        f"s = cj.load_skill({str(tmp_path / 'plain')!r})\n"
        "assert s.metadata == {'version': 'v1', 'owner': 'me'}, s.metadata\n"
        "print(sorted(m for m in ('yaml', 'zipfile') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root / "group", "looped")
    os.symlink("..", root / "group" / "back")  # group/back -> skills/
    assert names(cj.load(root)) == ["looped"]  # no override warnings: each skill found once


def test_a_symlinked_skill_folder_is_followed(tmp_path: Path) -> None:
    real = write_skill(tmp_path / "elsewhere", "linked")
    (tmp_path / "skills").mkdir()
    os.symlink(real, tmp_path / "skills" / "linked")
    assert names(cj.load(tmp_path / "skills")) == ["linked"]


def test_the_same_root_twice_is_not_an_override(tmp_path: Path) -> None:
    write_skill(tmp_path, "once")
    assert names(cj.load([tmp_path, tmp_path])) == ["once"]
