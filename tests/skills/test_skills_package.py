"""cj.package and the safety of loading `.skill` zips (zip-slip, symlinks, zip bombs)."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
from skillfiles import MakeSkill

import conjure_nb as cj
from conjure_nb.skills._limits import limits

SKILL_MD = "---\nname: evil\ndescription: an archive from elsewhere\n---\nbody\n"


def make_zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def add_symlink(path: Path, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, target)


def assert_refused(archive: Path, match: str) -> None:
    """The archive is refused by load (warning), load_skill (error) and validate (report)."""
    with pytest.raises(cj.SkillError, match=match):
        cj.load_skill(archive)
    with pytest.warns(cj.SkillWarning, match=match):
        assert cj.load(archive) == []
    report = cj.validate(archive)
    assert not report.ok and any(re.search(match, m) for m in report.errors), report.errors


# -- packaging -------------------------------------------------------------------------------------


def test_package_round_trip_excludes_junk(tmp_path: Path, make_skill: MakeSkill) -> None:
    folder = make_skill("log-analyzer", body="steps\n")
    (folder / "scripts").mkdir()
    script = folder / "scripts" / "run.py"
    script.write_text("print('hi')\n")
    script.chmod(0o755)
    for junk in (
        "__pycache__/run.cpython-311.pyc",
        "node_modules/x/index.js",
        ".git/HEAD",
        "scripts/old.pyc",
    ):
        (folder / junk).parent.mkdir(parents=True, exist_ok=True)
        (folder / junk).write_text("junk")
    (folder / ".DS_Store").write_text("junk")

    out = cj.package(folder, tmp_path / "out")
    assert out == tmp_path / "out" / "log-analyzer.skill"

    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["log-analyzer/SKILL.md", "log-analyzer/scripts/run.py"]
        mode = zf.getinfo("log-analyzer/scripts/run.py").external_attr >> 16
    assert mode & 0o111, "scripts stay executable"
    skill = cj.load_skill(out)
    assert (skill.name, skill.body, skill.resources.scripts) == (
        "log-analyzer",
        "steps\n",
        ("scripts/run.py",),
    )
    assert os.access(skill.path / "scripts" / "run.py", os.X_OK)


def test_package_output_is_deterministic(tmp_path: Path, make_skill: MakeSkill) -> None:
    folder = make_skill("same")
    first = cj.package(folder, tmp_path / "a.skill").read_bytes()
    os.utime(folder / "SKILL.md", (1_000_000, 1_000_000))
    assert cj.package(folder, tmp_path / "b.skill").read_bytes() == first


def test_package_defaults_to_name_in_cwd(
    tmp_path: Path, make_skill: MakeSkill, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cj.package(make_skill("here")) == tmp_path / "here.skill"


def test_package_refuses_an_invalid_skill_listing_every_problem(
    tmp_path: Path, make_skill: MakeSkill
) -> None:
    folder = make_skill("Bad--Name", "uses <tags>", folder="Bad--Name")
    with pytest.raises(cj.SkillError) as info:
        cj.package(folder, tmp_path / "x.skill")
    assert "skill 'Bad--Name' is invalid" in str(info.value)
    assert len(info.value.problems) == 2
    assert not (tmp_path / "x.skill").exists()


def test_package_refuses_a_symlink_leaving_the_skill(tmp_path: Path, make_skill: MakeSkill) -> None:
    folder = make_skill("leaky")
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    os.symlink(secret, folder / "notes.txt")
    with pytest.raises(cj.SkillError, match=r"'notes.txt' is a symlink to .*outside the skill folder"):
        cj.package(folder, tmp_path / "leaky.skill")


def test_package_follows_a_symlink_inside_the_skill(tmp_path: Path, make_skill: MakeSkill) -> None:
    folder = make_skill("linked")
    (folder / "real.md").write_text("content")
    os.symlink("real.md", folder / "alias.md")
    with zipfile.ZipFile(cj.package(folder, tmp_path / "linked.skill")) as zf:
        assert zf.read("linked/alias.md") == b"content"


def test_package_wants_a_skill_suffix(tmp_path: Path, make_skill: MakeSkill) -> None:
    with pytest.raises(cj.SkillError, match=r"should end in \.skill"):
        cj.package(make_skill("named"), tmp_path / "named.tar")


# -- loading zips safely ---------------------------------------------------------------------------


def test_zip_with_skill_md_at_its_root(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"SKILL.md": SKILL_MD, "scripts/a.py": "x"})
    skill = cj.load_skill(archive)
    assert skill.name == "evil" and skill.path.name == "evil"
    assert skill.resources.scripts == ("scripts/a.py",)


def test_zip_slip_with_dot_dot(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD, "evil/../../evil.sh": "rm -rf"})
    assert_refused(
        archive, r"'evil.skill' holds an entry that climbs out with '\.\.': 'evil/\.\./\.\./evil.sh'"
    )
    assert not (tmp_path / "evil.sh").exists()


def test_zip_slip_with_backslashes(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD, "evil\\..\\..\\evil.sh": "x"})
    assert_refused(archive, r"climbs out with '\.\.'")


def test_zip_with_an_absolute_path(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD})
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo("evil/x")
        info.filename = "/tmp/conjure-evil-absolute"  # ZipInfo() strips a leading '/'; a crafted zip need not
        zf.writestr(info, "x")
    assert_refused(archive, r"holds an entry with an absolute path: '/tmp/conjure-evil-absolute'")
    assert not Path("/tmp/conjure-evil-absolute").exists()


def test_zip_with_a_symlink_escaping_the_root(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD})
    add_symlink(archive, "evil/passwd", "../../../../etc/passwd")
    assert_refused(
        archive, r"holds a symlink 'evil/passwd' -> '\.\./\.\./\.\./\.\./etc/passwd' that points outside"
    )


def test_zip_with_an_absolute_symlink(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD})
    add_symlink(archive, "evil/passwd", "/etc/passwd")
    assert_refused(archive, "that points outside the skill")


def test_zip_symlink_that_escapes_through_a_link_made_after_it(tmp_path: Path) -> None:
    # SKILL.md is checked while a/b/c/d/e/l does not exist yet, so it looks like it stays inside;
    # once l -> ../../../../.. exists, SKILL.md leads six levels up from the skill, onto the host.
    secret = tmp_path / "host-secret.md"
    secret.write_text(SKILL_MD.replace("evil", "stolen"))
    # Six '..' cancel a/b/c/d/e/l when read as text, so the name looks inside; read on disk they
    # climb from the skill folder to / (the extraction folder is fewer than six levels deep).
    archive = make_zip(tmp_path / "evil.skill", {"evil/scripts/x.py": "print(1)\n"})
    add_symlink(archive, "evil/SKILL.md", "a/b/c/d/e/l/" + "../" * 6 + str(secret).lstrip("/"))
    add_symlink(archive, "evil/a/b/c/d/e/l", "../../../../..")
    assert_refused(archive, r"holds a symlink 'evil/SKILL.md' -> .* that points outside the skill")


def test_zip_with_a_symlink_inside_is_kept(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD, "evil/docs/a.md": "A"})
    add_symlink(archive, "evil/b.md", "docs/a.md")
    skill = cj.load_skill(archive)
    assert (skill.path / "b.md").read_text() == "A"


def test_zip_bomb_by_total_size(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.skill"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("bomb/SKILL.md", SKILL_MD.replace("evil", "bomb"))
        with zf.open("bomb/zeros.bin", "w", force_zip64=True) as f:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(101):  # 101 MB of zeros, about 100 KB compressed
                f.write(chunk)
    assert archive.stat().st_size < 2 * 1024 * 1024
    assert_refused(archive, r"'bomb.skill' would unpack to 105,906,\d+ bytes; the limit is 104,857,600")


def test_zip_bomb_by_file_count(tmp_path: Path) -> None:
    archive = tmp_path / "many.skill"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("many/SKILL.md", SKILL_MD.replace("evil", "many"))
        for i in range(limits.max_extract_files):
            zf.writestr(f"many/f/{i}", "")
    assert_refused(archive, r"'many.skill' holds 10,001 entries; the limit is 10,000")


def test_extraction_limits_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_zip(tmp_path / "small.skill", {"small/SKILL.md": SKILL_MD.replace("evil", "small")})
    monkeypatch.setattr(limits, "max_extract_files", 0)
    assert_refused(archive, "holds 1 entries; the limit is 0")


def test_zip_without_skill_md(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "empty.skill", {"a/readme.md": "x", "b/readme.md": "y"})
    assert_refused(archive, "'empty.skill' has no SKILL.md at its root or in a single top-level folder")


def test_zip_with_a_duplicate_entry(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "dup.skill", {"dup/SKILL.md": SKILL_MD.replace("evil", "dup")})
    with zipfile.ZipFile(archive, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("dup/SKILL.md", "---\nname: other\ndescription: d\n---\n")
    assert_refused(archive, "holds 'dup/SKILL.md' twice")


def test_not_a_zip(tmp_path: Path) -> None:
    archive = tmp_path / "plain.skill"
    archive.write_text("hello")
    assert_refused(archive, "'plain.skill' is not a readable zip file")


def test_refused_zips_leave_no_temp_dirs(tmp_path: Path) -> None:
    import glob
    import tempfile

    pattern = os.path.join(tempfile.gettempdir(), "conjure-skill-*")
    before = set(glob.glob(pattern))
    archive = make_zip(tmp_path / "evil.skill", {"evil/SKILL.md": SKILL_MD, "evil/../x": "x"})
    with pytest.raises(cj.SkillError):
        cj.load_skill(archive)
    assert set(glob.glob(pattern)) == before
