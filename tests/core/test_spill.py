"""Output over the cap is kept whole in a file; the model reads head, tail and that file's name."""

from __future__ import annotations

import os
from pathlib import Path

import conjure_nb as cj

S = cj.ScriptedModel


def test_a_failing_command_with_a_flood_on_stderr_keeps_all_of_it(tmp_path: Path) -> None:
    cmd = "python3 -c \"import sys; sys.stderr.write('e' * 90000 + 'LAST'); sys.exit(3)\""
    with cj.Session.new_local(max_output=5_000) as s:
        r = s.run_tool("bash_tool", command=cmd, description="flood")
        assert r.is_error and r.exit_code == 3
        assert len(r.content) < 5_400 and len(r.stderr) < 5_400
        assert r.content.startswith("Command failed with exit code 3.") and r.content.endswith("LAST")
        assert r.output_file is not None
        kept = Path(r.output_file).read_text()
        assert kept.startswith("Command failed with exit code 3.") and "e" * 90000 + "LAST" in kept
        assert Path(r.output_file).parent == s.working_dir / ".conjure" / "output"
        assert f"all of it is in {r.output_file} " in r.content  # locally the path is the host's
        assert s.created_files == []  # the spilled copy is not a file the tools made


def test_small_outputs_are_left_alone() -> None:
    with cj.Session.new_local() as s:
        r = s.run_tool("bash_tool", command="echo small", description="d")
        assert r.content == "small\n" and r.output_file is None
        assert not (s.working_dir / ".conjure").exists()


def test_view_of_a_long_file_is_cut_without_a_copy() -> None:
    with cj.Session.new_local(max_output=2_000) as s:
        (s.working_dir / "long.txt").write_text("".join(f"line {i}\n" for i in range(5_000)))
        r = s.run_tool("view", path="long.txt")
        assert len(r.content) < 2_300 and "view_range" in r.content
        assert r.output_file is None and not (s.working_dir / ".conjure").exists()


def test_a_planted_link_does_not_redirect_the_spilled_output(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    with cj.Session.new_local(max_output=1_000) as s:
        os.symlink(outside, s.working_dir / ".conjure")
        r = s.run_tool("bash_tool", command="head -c 50000 /dev/zero | tr '\\0' x", description="d")
        assert not r.is_error and len(r.content) < 1_300
        assert r.output_file is None and "could not be saved" in r.content
        assert list(outside.iterdir()) == []


def test_a_native_skills_long_output_is_spilled_for_the_next_step() -> None:
    @cj.native_skill(name="dump", description="Print a lot.")
    def dump(command: str, context: cj.Context) -> str:
        return "r" * 70_000 + "END"

    model = S([S.reply(S.tool_use("dump_execute", command="all")), "ok"])
    with cj.Session.new_native([dump], model) as s:
        r = s.chat("dump")
        (result,) = [b for m in r.messages for b in m["content"] if b.get("type") == "tool_result"]
        assert len(result["content"]) < 31_000 and result["content"].endswith("END")
        (spilled,) = (s.working_dir / ".conjure" / "output").iterdir()
        assert spilled.read_text() == "r" * 70_000 + "END"
        assert str(spilled) in result["content"] and "70,003 characters" in result["content"]
