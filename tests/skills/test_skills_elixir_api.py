"""The rest of the Elixir library's skill API: read_resource, prompt options, estimate_tokens, Registry."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from skillfiles import MakeSkill, write_skill

import conjure_nb as cj

RELOADED = ("conjure", "registry", "reloaded")


@pytest.fixture
def analyzer(make_skill: MakeSkill) -> cj.Skill:
    folder = make_skill("log-analyzer", "Analyse nginx and syslog logs for incidents.")
    (folder / "references").mkdir()
    (folder / "references" / "formats.md").write_text("# Formats\n\nnginx, syslog\n")
    (folder / "assets").mkdir()
    (folder / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x01")
    return cj.load_skill(folder)


# -- Skill.read_resource ------------------------------------------------------------------------


def test_read_resource_reads_text_and_bytes_beneath_the_skill(analyzer: cj.Skill) -> None:
    assert analyzer.read_resource("references/formats.md") == "# Formats\n\nnginx, syslog\n"
    assert analyzer.read_resource(Path("assets/logo.png"), encoding=None) == b"\x89PNG\r\n\x1a\n\x00\x01"
    assert analyzer.read_resource("references/../SKILL.md").startswith("---\nname: log-analyzer")


@pytest.mark.parametrize("path", ["../other/SKILL.md", "/etc/passwd", "references/../../x", ".", ""])
def test_read_resource_refuses_paths_outside_the_folder(analyzer: cj.Skill, path: str) -> None:
    with pytest.raises(
        cj.UsageError, match=r"log-analyzer.*(outside the skill folder|non-empty|names the skill)"
    ):
        analyzer.read_resource(path)


def test_a_missing_resource_names_the_files_the_skill_has(analyzer: cj.Skill) -> None:
    with pytest.raises(cj.UsageError, match=r"has no file 'references/nope\.md'.*references/formats\.md"):
        analyzer.read_resource("references/nope.md")


def test_read_resource_never_follows_a_link_out_of_the_skill(analyzer: cj.Skill, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the caller's secret")
    os.symlink(secret, analyzer.path / "references" / "leak.md")
    os.symlink(tmp_path, analyzer.path / "up")
    with pytest.raises(cj.SkillError, match=r"'references/leak\.md' goes through a symbolic link"):
        analyzer.read_resource("references/leak.md")
    with pytest.raises(cj.SkillError, match=r"'up/secret\.txt' goes through a symbolic link"):
        analyzer.read_resource("up/secret.txt")


def test_read_resource_refuses_a_fifo_without_hanging(analyzer: cj.Skill) -> None:
    os.mkfifo(analyzer.path / "references" / "pipe")
    with pytest.raises(cj.SkillError, match="not a regular file"):
        analyzer.read_resource("references/pipe")


# -- system_prompt and estimate_tokens ------------------------------------------------------------


def test_system_prompt_without_instructions_keeps_the_catalog_only(analyzer: cj.Skill) -> None:
    full = cj.system_prompt([analyzer])
    bare = cj.system_prompt([analyzer], include_instructions=False)
    assert "How to use a skill" in full and "How to use a skill" not in bare
    assert "<name>log-analyzer</name>" in bare and full.startswith(bare)


def test_estimate_tokens_is_characters_over_four_rounded_up(analyzer: cj.Skill) -> None:
    assert cj.estimate_tokens("") == 0
    assert cj.estimate_tokens("abcd") == 1 and cj.estimate_tokens("abcde") == 2
    prompt = cj.system_prompt([analyzer])
    assert cj.estimate_tokens([analyzer]) == -(-len(prompt) // 4) == cj.estimate_tokens(analyzer)
    assert cj.estimate_tokens([]) == 0
    with pytest.raises(TypeError, match=r"cj\.load"):
        cj.estimate_tokens(["skills/log-analyzer"])  # type: ignore[list-item]


# -- Registry.register / find / find_matching -----------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[cj.Registry]:
    root = tmp_path / "skills"
    write_skill(root, "log-analyzer", "Analyse nginx and syslog logs.")
    write_skill(root, "incident-report", "Write an incident report as xlsx or pdf.")
    write_skill(root, "echo", "Echo text back; for testing.")
    with cj.Registry([root]) as reg:
        yield reg


def test_find_is_get_and_find_matching_searches_names_and_descriptions(registry: cj.Registry) -> None:
    assert registry.find("echo") is registry.get("echo") is not None
    assert registry.find("nope") is None
    assert [s.name for s in registry.find_matching("NGINX")] == ["log-analyzer"]
    assert [s.name for s in registry.find_matching("report")] == ["incident-report"]
    assert [s.name for s in registry.find_matching("e")] == ["echo", "incident-report", "log-analyzer"]
    assert [s.name for s in registry.find_matching("*-*")] == ["incident-report", "log-analyzer"]
    assert registry.find_matching("log-*")[0].name == "log-analyzer"
    assert registry.find_matching("kafka") == []


def test_a_registered_skill_is_listed_found_and_kept_through_reloads(
    registry: cj.Registry, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []
    cj.telemetry.attach("t-register", [RELOADED], lambda e, m, md: seen.append({**m, **md}))
    try:
        extra = write_skill(tmp_path / "elsewhere", "kafka-lag", "Check kafka consumer lag.")
        skill = registry.register(extra)
        assert isinstance(skill, cj.Skill) and registry.find("kafka-lag") is skill
        assert [s.name for s in registry.find_matching("consumer")] == ["kafka-lag"]
        registry.reload()
        assert "kafka-lag" in registry and len(registry) == 4
        assert seen[0]["registered"] == "kafka-lag" and seen[0]["added"] == 1
        replacement = cj.load_skill(write_skill(tmp_path / "other", "echo", "A better echo."))
        registry.register(replacement)
        registry.reload()
        assert registry.get("echo") is replacement  # a registered skill wins over the disk's
    finally:
        cj.telemetry.detach("t-register")
    with pytest.raises(cj.SkillError):
        registry.register(tmp_path / "no-such-skill")
