"""The conjure-nb CLI: validate, init, package, prompt, list, and registration of other groups."""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import json
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import pytest

import conjure_nb as cj
from conjure_nb.cli import main


def skill(
    root: Path, name: str, description: str = "Does a thing. Use when needed.", extra: str = ""
) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n{extra}---\n# Steps\n")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- validate --------------------------------------------------------------------------------------


def test_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(skill(tmp_path, "good")))
    assert code == 0
    assert out.splitlines()[0].startswith("ok") and "good" in out
    assert "1 checked, 1 ok, 0 invalid" in out


def test_validate_exits_1_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "SKILL.md").write_text("---\nname: bad\n---\n")
    code, out, _ = run(capsys, "validate", str(bad))
    assert code == 1
    assert "error: skill 'bad': description is missing" in out


def test_validate_strict_turns_rules_into_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = skill(tmp_path, "loose", extra="model: opus\n")
    assert run(capsys, "validate", str(folder))[0] == 0
    code, out, _ = run(capsys, "validate", "--strict", str(folder))
    assert code == 1 and "error: skill 'loose': unknown frontmatter key 'model'" in out


def test_validate_json_over_a_folder_of_skills(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skill(tmp_path / "skills", "one")
    skill(tmp_path / "skills" / "nested", "Two")
    code, out, _ = run(capsys, "validate", "--json", "--strict", str(tmp_path / "skills"))
    reports = json.loads(out)
    assert code == 1
    assert [(r["skill"], r["ok"]) for r in reports] == [("Two", False), ("one", True)]
    assert reports[0]["errors"] == ["skill 'Two': name 'Two' has uppercase letters; use 'two'"]
    assert set(reports[1]) == {"path", "skill", "strict", "ok", "errors", "warnings"}


def test_validate_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(tmp_path))
    assert code == 1 and "no skills found under" in out


# -- init ------------------------------------------------------------------------------------------


def test_init_creates_a_skeleton_that_passes_strict_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "init", "report-writer", "--description", "Write reports: xlsx & pdf.", "--dir", str(tmp_path)
    )
    folder = tmp_path / "report-writer"
    assert code == 0 and str(folder / "SKILL.md") in out
    report = cj.validate(folder, strict=True)
    assert report.ok and report.warnings == [], report
    assert cj.load_skill(folder).description == "Write reports: xlsx & pdf."
    assert {p.name for p in folder.iterdir()} == {"SKILL.md", "scripts", "references", "assets"}


def test_init_with_a_default_description(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init", "plain", "--dir", str(tmp_path))[0] == 0
    assert cj.validate(tmp_path / "plain", strict=True).ok


def test_init_refuses_a_bad_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "init", "Bad--Name", "--dir", str(tmp_path))
    assert code == 1 and "error: skill 'Bad--Name': name 'Bad--Name' has uppercase letters" in err
    assert not (tmp_path / "Bad--Name").exists()


def test_init_refuses_a_non_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skill(tmp_path, "taken")
    code, _, err = run(capsys, "init", "taken", "--dir", str(tmp_path))
    assert code == 1 and "already exists and is not empty" in err


# -- package, prompt, list -------------------------------------------------------------------------


def test_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "dist" / "packed.skill"
    code, out, _ = run(capsys, "package", str(skill(tmp_path, "packed")), "-o", str(out_file))
    assert code == 0 and out.strip() == str(out_file)
    with zipfile.ZipFile(out_file) as zf:
        assert zf.namelist() == ["packed/SKILL.md"]


def test_package_of_an_invalid_skill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "package", str(skill(tmp_path, "Nope")), "-o", str(tmp_path / "x.skill"))
    assert code == 1 and err.startswith("error: skill 'Nope' is invalid")


def test_prompt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skill(tmp_path, "alpha", "Alpha & omega.")
    code, out, _ = run(capsys, "prompt", str(tmp_path), "--location-root", "/mnt/skills/")
    assert code == 0
    assert "<description>Alpha &amp; omega.</description>" in out
    assert "<location>/mnt/skills/alpha/SKILL.md</location>" in out


def test_list_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skill(tmp_path, "beta", "B" * 100)
    skill(tmp_path, "alpha")
    code, out, _ = run(capsys, "list", str(tmp_path))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["NAME", "DESCRIPTION", "PATH"]
    assert lines[1].startswith("alpha") and lines[2].startswith("beta")
    assert "B" * 57 + "..." in lines[2] and str(tmp_path / "beta") in lines[2]
    code, out, _ = run(capsys, "list", "--json", str(tmp_path))
    assert [row["name"] for row in json.loads(out)] == ["alpha", "beta"]


def test_list_prints_skill_warnings_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skill(tmp_path, "fine")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "SKILL.md").write_text("nothing\n")
    code, out, err = run(capsys, "list", str(tmp_path))
    assert code == 0 and "fine" in out
    assert err.startswith("warning: skill 'broken': SKILL.md does not start with YAML frontmatter")


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "validate" in err and "package" in err


# -- other groups of subcommands -------------------------------------------------------------------


class _Refuse(importlib.abc.MetaPathFinder):
    """Makes importing one module fail with ModuleNotFoundError for `missing`."""

    def __init__(self, module: str, missing: str) -> None:
        self.module, self.missing = module, missing

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == self.module:
            raise ModuleNotFoundError(f"No module named {self.missing!r}", name=self.missing)
        return None


def test_sibling_groups_are_registered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = types.ModuleType("conjure_nb.cli._demo")

    def register(subparsers: Any) -> None:
        p = subparsers.add_parser("demo", help="fake demo")
        p.add_argument("--n", type=int, default=1)
        p.set_defaults(func=lambda args: print(f"demo {args.n}") or 7)

    fake.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conjure_nb.cli._demo", fake)
    code, out, _ = run(capsys, "demo", "--n", "3")
    assert (code, out) == (7, "demo 3\n")


def test_a_missing_sibling_module_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("sandbox", "demo"):
        monkeypatch.delitem(sys.modules, f"conjure_nb.cli._{name}", raising=False)
        monkeypatch.setattr(
            sys, "meta_path", [_Refuse(f"conjure_nb.cli._{name}", f"conjure_nb.cli._{name}"), *sys.meta_path]
        )
    with pytest.raises(SystemExit):
        main(["demo"])  # not a command any more
    assert "invalid choice: 'demo'" in capsys.readouterr().err
    code, out, _ = run(capsys, "list", "--json", str(Path(__file__).parent / "no-such-dir"))
    assert (code, json.loads(out)) == (1, [])  # the core commands still work


def test_a_sibling_with_a_missing_dependency_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "conjure_nb.cli._sandbox", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Refuse("conjure_nb.cli._sandbox", "docker"), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError, match="docker"):
        main(["list", "."])


def test_conjure_errors_become_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = types.ModuleType("conjure_nb.cli._demo")

    def fail(args: argparse.Namespace) -> int:
        raise cj.UsageError("bad flag; use --good")

    fake.register = lambda sp: sp.add_parser("demo").set_defaults(func=fail)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "conjure_nb.cli._demo", fake)
    code, _, err = run(capsys, "demo")
    assert code == 1 and err == "error: bad flag; use --good\n"


def test_python_dash_m(tmp_path: Path) -> None:
    folder = skill(tmp_path, "sub-proc")
    proc = subprocess.run(
        [sys.executable, "-m", "conjure_nb", "validate", "--strict", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sub-proc" in proc.stdout and "1 ok" in proc.stdout
