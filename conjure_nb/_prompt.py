"""The system prompt that tells a model which skills exist and how to use them.

It is the first level of progressive disclosure: only each skill's name, description and the
location of its SKILL.md, ~100 tokens a skill. The model reads a SKILL.md with `view` when a
task calls for it. Locations are the paths *the executor* sees (for docker,
`/mnt/skills/<name>/SKILL.md`), which is why `location` is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .skills._model import Skill

__all__ = ["CHARS_PER_TOKEN", "USAGE", "estimate_tokens", "system_prompt"]

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
    include_instructions: bool = True,
) -> str:
    """Build the `<available_skills>` block and the instructions for using it.

    Args:
        skills: the skills to list (in the order given; `cj.load` sorts them by name).
        location: maps a skill to the SKILL.md path the executor sees; the host path by default.
            For docker, `lambda s: f"/mnt/skills/{s.name}/SKILL.md"`.
        extra: text appended after the block (the session adds native skills and the working
            directory here).
        include_instructions: add the numbered "How to use a skill" steps after the block. Turn
            them off when your own system prompt already says how (the Elixir library's
            `include_instructions: false`).

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
        parts = [INTRO, block, USAGE] if include_instructions else [INTRO, block]
    if extra:
        parts.append(extra.strip("\n"))
    return "\n\n".join(parts)


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


CHARS_PER_TOKEN = 4
"""The heuristic of `estimate_tokens`: about four characters of English text make one token."""


def estimate_tokens(text_or_skills: str | Skill | Iterable[Skill]) -> int:
    """A rough token count: characters divided by four, rounded up.

    For skills it counts the system prompt `system_prompt(skills)` would build (the catalog and
    the usage steps), which is what listing them costs each request. It is a budget figure, not
    a tokenizer: real counts differ by ~20% either way (code and non-English text take more tokens
    per character); ask the model's token-counting endpoint when the number must be exact.

    Args:
        text_or_skills: a string, one `cj.Skill`, or an iterable of them.

    Returns:
        The estimated token count (0 for an empty string or no skills).

    Raises:
        TypeError: the argument is neither text nor skills.
    """
    if isinstance(text_or_skills, str):
        text = text_or_skills
    elif isinstance(text_or_skills, Skill):
        text = system_prompt([text_or_skills])
    else:
        items = list(text_or_skills)
        wrong = [x for x in items if not isinstance(x, Skill)]
        if wrong:
            raise TypeError(
                f"estimate_tokens takes a string or cj.Skill objects, not {type(wrong[0]).__name__}; "
                "load skills first with cj.load(...)"
            )
        text = system_prompt(items)
    return math.ceil(len(text) / CHARS_PER_TOKEN)
