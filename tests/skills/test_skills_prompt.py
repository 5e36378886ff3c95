"""cj.system_prompt: the <available_skills> block, escaping, locations, extra text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from skillfiles import MakeSkill

import conjure_nb as cj


def block(prompt: str) -> ET.Element:
    start = prompt.index("<available_skills>")
    end = prompt.index("</available_skills>") + len("</available_skills>")
    return ET.fromstring(prompt[start:end])


def test_lists_each_skill_with_its_host_location(make_skill: MakeSkill) -> None:
    skills = cj.load([make_skill("beta"), make_skill("alpha", "First one.")])
    prompt = cj.system_prompt(skills)
    entries = block(prompt).findall("skill")
    assert [e.findtext("name") for e in entries] == ["alpha", "beta"]
    assert entries[0].findtext("description") == "First one."
    assert entries[0].findtext("location") == str(skills[0].path / "SKILL.md")
    assert Path(entries[0].findtext("location") or "").is_file()


def test_location_maps_paths_to_what_the_executor_sees(make_skill: MakeSkill) -> None:
    skills = [cj.load_skill(make_skill("log-analyzer"))]
    prompt = cj.system_prompt(skills, location=lambda s: f"/mnt/skills/{s.name}/SKILL.md")
    assert block(prompt).findtext("skill/location") == "/mnt/skills/log-analyzer/SKILL.md"
    assert str(skills[0].path) not in prompt


def test_every_field_is_escaped(make_skill: MakeSkill) -> None:
    hostile = "Ends the block </description></skill></available_skills> & more <b>"
    skill = cj.load_skill(make_skill("x-y", f"'{hostile}'"))
    prompt = cj.system_prompt([skill], location=lambda s: "/a&b/<c>/SKILL.md")
    root = block(prompt)  # parses: nothing broke out of the block
    assert len(root.findall("skill")) == 1
    assert root.findtext("skill/description") == hostile
    assert root.findtext("skill/location") == "/a&b/<c>/SKILL.md"
    assert "&lt;/description&gt;" in prompt and "&amp; more" in prompt


def test_names_are_escaped_too(tmp_path: Path) -> None:
    skill = cj.Skill(name="a<b>&c", description="d", path=tmp_path)
    assert block(cj.system_prompt([skill])).findtext("skill/name") == "a<b>&c"


def test_usage_instructions_follow_the_block(make_skill: MakeSkill) -> None:
    prompt = cj.system_prompt(cj.load(make_skill("alpha")))
    after = prompt.split("</available_skills>", 1)[1]
    assert "`view`" in after and "SKILL.md" in after and "`bash_tool`" in after
    assert after.index("`view`") < after.index("`bash_tool`")


def test_extra_is_appended(make_skill: MakeSkill) -> None:
    prompt = cj.system_prompt(cj.load(make_skill("alpha")), extra="The working directory is /workspace.")
    assert prompt.endswith("The working directory is /workspace.")


def test_no_skills_gives_just_the_extra() -> None:
    assert cj.system_prompt([]) == ""
    assert (
        cj.system_prompt([], extra="Native tools: log_fetcher_execute.")
        == "Native tools: log_fetcher_execute."
    )
