"""The system prompt that tells a model which skills exist and how to use them.

It is the first level of progressive disclosure: only each skill's name, description and the
location of its SKILL.md, ~100 tokens a skill. The model reads a SKILL.md with `view` when a
task calls for it. Locations are the paths *the executor* sees (for docker,
`/mnt/skills/<name>/SKILL.md`), which is why `location` is a parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .skills.model import Skill

__all__ = ["USAGE", "system_prompt"]

INTRO = (
    "You have access to skills: folders of instructions, scripts and resources that extend what you"
    " can do. Each skill below has a name, a description of when to use it, and the location of its"
    " SKILL.md file."
)

USAGE = """\
How to use a skill:
1. When a task matches a skill's description, read that skill's SKILL.md with the `view` tool \
(at the location above) before doing anything else for the task.
2. Follow the instructions in SKILL.md. Paths it mentions (scripts/, references/, assets/) are \
relative to the folder that holds SKILL.md.
3. Run the skill's scripts with `bash_tool`; read its reference files with `view` only when \
SKILL.md points you to them.
4. Write output files with `create_file`, or let the skill's scripts write them, in the working \
directory.
If no skill fits the task, do not read any SKILL.md; answer directly."""

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def system_prompt(
    skills: Iterable[Skill],
    location: Callable[[Skill], str] | None = None,
    *,
    extra: str = "",
) -> str:
    """Build the `<available_skills>` block and the instructions for using it.

    Args:
        skills: the skills to list (in the order given; `cj.load` sorts them by name).
        location: maps a skill to the SKILL.md path the executor sees; the host path by default.
            For docker, `lambda s: f"/mnt/skills/{s.name}/SKILL.md"`.
        extra: text appended after the block (the session adds native skills and the working
            directory here).

    Every field is XML-escaped, so a description cannot close the block or inject tags. With no
    skills the result is just `extra`.
    """
    where = location or (lambda s: str(s.skill_md))
    entries = [
        "<skill>\n"
        f"<name>{_escape(skill.name)}</name>\n"
        f"<description>{_escape(skill.description)}</description>\n"
        f"<location>{_escape(where(skill))}</location>\n"
        "</skill>"
        for skill in skills
    ]
    parts = []
    if entries:
        block = "\n".join(["<available_skills>", *entries, "</available_skills>"])
        parts = [INTRO, block, USAGE]
    if extra:
        parts.append(extra.strip("\n"))
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)
