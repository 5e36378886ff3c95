"""cj.Registry: list/get/reload, telemetry, watching the disk, thread safety."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from skillfiles import write_skill

import conjure_nb as cj

RELOADED = ("conjure", "registry", "reloaded")


@pytest.fixture
def reloads() -> Iterator[list[dict[str, Any]]]:
    """Every ("conjure","registry","reloaded") event's measurements and metadata, in order."""
    seen: list[dict[str, Any]] = []

    def handler(event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        seen.append({**measurements, **metadata})

    cj.telemetry.attach("test-registry", [RELOADED], handler)
    yield seen
    cj.telemetry.detach("test-registry")


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll until `condition()` holds; the deadline only bounds a hang, it is not asserted on."""
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        done.wait(0.05)
    return condition()


def test_list_get_and_reload(tmp_path: Path, reloads: list[dict[str, Any]]) -> None:
    root = tmp_path / "skills"
    write_skill(root, "beta")
    write_skill(root, "alpha")
    reg = cj.Registry([root])
    assert [s.name for s in reg.list()] == ["alpha", "beta"]
    assert reg.get("alpha") is not None and reg.get("alpha").name == "alpha"  # type: ignore[union-attr]
    assert reg.get("missing") is None
    assert len(reg) == 2 and "beta" in reg and "gamma" not in reg
    assert reloads[-1]["count"] == 2 and reloads[-1]["added"] == 2

    write_skill(root, "gamma")
    write_skill(root, "alpha", "A new description.")
    shutil.rmtree(root / "beta")
    assert [s.name for s in reg.reload()] == ["alpha", "gamma"]
    assert reg.get("alpha").description == "A new description."  # type: ignore[union-attr]
    last = reloads[-1]
    assert (last["count"], last["added"], last["removed"], last["changed"]) == (2, 1, 1, 1)
    assert last["paths"] == [str(root)] and last["duration_ms"] >= 0
    reg.close()


def test_invalid_skills_warn_and_are_kept_in_problems(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    write_skill(root, "good")
    (root / "bad").mkdir()
    (root / "bad" / "SKILL.md").write_text("no frontmatter\n")
    with pytest.warns(cj.SkillWarning, match="skill 'bad'"):
        reg = cj.Registry(root)
    assert [s.name for s in reg] == ["good"]
    assert len(reg.problems) == 1 and "skill 'bad'" in reg.problems[0]


def test_watch_picks_up_added_changed_and_removed_skills(
    tmp_path: Path, reloads: list[dict[str, Any]]
) -> None:
    root = tmp_path / "skills"
    write_skill(root, "first")
    with cj.Registry([root], watch=True, debounce_ms=50) as reg:
        assert reg.watching
        write_skill(root, "second")
        assert wait_for(lambda: reg.get("second") is not None), "the new skill never appeared"

        write_skill(root, "first", "Changed on disk.")
        assert wait_for(lambda: getattr(reg.get("first"), "description", "") == "Changed on disk.")

        shutil.rmtree(root / "second")
        assert wait_for(lambda: reg.get("second") is None), "the removed skill never went away"
        assert any(r["removed"] == 1 for r in reloads)
    assert not reg.watching


def test_watch_logs_invalid_skills_instead_of_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "skills"
    write_skill(root, "first")
    with cj.Registry(root, watch=True, debounce_ms=50) as reg:
        (root / "broken").mkdir()
        (root / "broken" / "SKILL.md").write_text("---\nname: broken\n---\n")
        assert wait_for(lambda: any("skill 'broken'" in p for p in reg.problems))
    assert [s.name for s in reg.list()] == ["first"]
    assert any("skill 'broken'" in r.getMessage() for r in caplog.records)


def test_close_is_idempotent_and_skills_stay_readable(tmp_path: Path) -> None:
    write_skill(tmp_path, "only")
    reg = cj.Registry(tmp_path, watch=True)
    reg.close()
    reg.close()
    assert not reg.watching
    assert [s.name for s in reg.list()] == ["only"]
    assert "1 skills" in repr(reg)


def test_concurrent_readers_see_whole_sets(tmp_path: Path) -> None:
    root = tmp_path / "skills"
    for i in range(20):
        write_skill(root, f"skill-{i:02d}")
    reg = cj.Registry(root)
    seen: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                skills = reg.list()
                assert [s.name for s in skills] == sorted(s.name for s in skills)
                seen.append(len(skills))
                for s in skills:
                    reg.get(s.name)
        except BaseException as exc:  # collected and re-raised in the main thread
            failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(20, 30):
        write_skill(root, f"skill-{i:02d}")
        reg.reload()
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures
    assert set(seen) <= set(range(20, 31)) and len(reg) == 30
