"""`Registry`: a thread-safe, optionally self-updating set of skills.

A session or a notebook panel can hold a registry and always see the skills currently on disk:
with `watch=True` a daemon thread (watchfiles) reloads after files change. A reload builds the
new set completely before swapping it in, so readers never see a half-loaded state, and a reload
that fails keeps the previous set.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from .. import telemetry
from .._errors import SkillError, SkillWarning
from ._loader import PathArg, load_skill, scan
from ._model import Skill

__all__ = ["Registry"]

log = logging.getLogger("conjure_nb.registry")

_SkillList = list[Skill]
RELOADED = ("conjure", "registry", "reloaded")


class Registry:
    """Skills loaded from `paths`, kept current by `reload()` or, with `watch=True`, on its own.

    Args:
        paths: what `cj.load` accepts: skill folders, folders of them, `.skill` zips.
        watch: start a daemon thread that reloads after changes on disk (watchfiles).
        debounce_ms: how long the watcher waits for a burst of changes to settle.

    Invalid skills become `SkillWarning`s on the loads you trigger (the constructor and
    `reload()`); the watcher thread logs them instead (`conjure_nb.registry` logger). The most
    recent ones are in `problems` either way. Use it as a context manager, or call `close()`,
    to stop the watcher.
    """

    def __init__(self, paths: PathArg | Iterable[PathArg], watch: bool = False, *, debounce_ms: int = 200):
        self.paths: list[Path] = [
            Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)
        ]
        self.problems: list[str] = []
        self._lock = threading.RLock()
        self._skills: dict[str, Skill] = {}
        self._registered: dict[str, Skill] = {}
        self._prints: dict[str, tuple[object, ...]] = {}
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reload(report=True)
        if watch:
            self._thread = threading.Thread(target=self._watch, name="conjure-registry-watch", daemon=True)
            self._thread.start()

    def list(self) -> _SkillList:
        """The skills, sorted by name."""
        with self._lock:
            return [self._skills[name] for name in sorted(self._skills)]

    def get(self, name: str) -> Skill | None:
        """The skill called `name`, or None when there is none."""
        with self._lock:
            return self._skills.get(name)

    def find(self, name: str) -> Skill | None:
        """The skill called `name`, or None: `get` under the Elixir library's name."""
        return self.get(name)

    def find_matching(self, query: str) -> _SkillList:
        """The skills whose name or description matches `query`, sorted by name.

        Plain text matches case-insensitively anywhere in the name or the description
        (`find_matching("nginx")`). A query with `*` or `?` is a wildcard pattern on the name, as
        in the Elixir library (`find_matching("log-*")`).
        """
        if not isinstance(query, str):
            raise TypeError(f"find_matching takes a string, not {type(query).__name__}")
        needle = query.casefold()
        if any(c in query for c in "*?["):
            return [s for s in self.list() if fnmatch.fnmatchcase(s.name.casefold(), needle)]
        return [s for s in self.list() if needle in s.name.casefold() or needle in s.description.casefold()]

    def register(self, skill: Skill | str | os.PathLike[str]) -> Skill:
        """Add a skill that is not under `paths` (a `cj.Skill`, a folder or a `.skill` file).

        A registered skill stays through reloads and replaces a skill of the same name found on
        disk. Emits ("conjure","registry","reloaded") so panels showing the registry update.

        Returns:
            The registered skill.

        Raises:
            SkillError: the folder or file is not a valid skill.
        """
        loaded = skill if isinstance(skill, Skill) else load_skill(skill)
        t0 = time.perf_counter()
        with self._lock:
            old = dict(self._prints)
            self._registered[loaded.name] = loaded
            self._skills = {**self._skills, loaded.name: loaded}
            self._prints = {**self._prints, loaded.name: _fingerprint(loaded)}
            new = self._prints
        telemetry.emit(
            RELOADED,
            {"duration_ms": (time.perf_counter() - t0) * 1000, **_counts(old, new, 0)},
            {"paths": [str(p) for p in self.paths], "registered": loaded.name},
        )
        return loaded

    def reload(self) -> _SkillList:
        """Load the skills from disk again and return them; emits ("conjure","registry","reloaded")."""
        self._reload(report=True)
        return self.list()

    @property
    def watching(self) -> bool:
        """Whether the watcher thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop the watcher thread (if any) and wait for it; the loaded skills stay readable."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._skills)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._skills

    def __iter__(self) -> Iterator[Skill]:
        return iter(self.list())

    def __repr__(self) -> str:
        state = ", watching" if self.watching else ""
        return f"<Registry {len(self)} skills from {[str(p) for p in self.paths]}{state}>"

    def _reload(self, *, report: bool) -> None:
        t0 = time.perf_counter()
        result = scan(self.paths)
        messages = [str(p) for p in result.problems] + result.overrides
        with self._lock:
            skills = {**result.skills, **self._registered}
            prints = {name: _fingerprint(skill) for name, skill in skills.items()}
            old = self._prints
            self._skills, self._prints = skills, prints
            self.problems = messages
        for message in messages:
            if report:
                warnings.warn(message, SkillWarning, stacklevel=3)
            else:
                log.warning("%s", message)
        telemetry.emit(
            RELOADED,
            {"duration_ms": (time.perf_counter() - t0) * 1000, **_counts(old, prints, len(result.problems))},
            {"paths": [str(p) for p in self.paths]},
        )

    def _watch(self) -> None:
        while not self._stop.is_set():
            roots = [str(p) for p in self.paths if p.exists()]
            if not roots:
                self._stop.wait(0.5)
                continue
            try:
                self._watch_roots(roots)
            except Exception:
                log.exception("skill watcher failed; restarting it")
                self._stop.wait(0.5)

    def _watch_roots(self, roots: Sequence[str]) -> None:
        from watchfiles import watch

        caught_up = False
        for changes in watch(
            *roots,
            stop_event=self._stop,
            debounce=self._debounce_ms,
            step=50,
            rust_timeout=200,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            # The first timeout proves the watcher is running: one catch-up reload then covers
            # whatever changed between the constructor's load and that moment.
            if changes or not caught_up:
                self._safe_reload()
            caught_up = True

    def _safe_reload(self) -> None:
        try:
            self._reload(report=False)
        except (SkillError, OSError):
            log.exception("reloading skills from %s failed; keeping the previous set", self.paths)


def _counts(
    old: dict[str, tuple[object, ...]], new: dict[str, tuple[object, ...]], problems: int
) -> dict[str, int]:
    return {
        "count": len(new),
        "added": len(new.keys() - old.keys()),
        "removed": len(old.keys() - new.keys()),
        "changed": sum(1 for name in new.keys() & old.keys() if new[name] != old[name]),
        "problems": problems,
    }


def _fingerprint(skill: Skill) -> tuple[object, ...]:
    """What makes two loads of a skill differ: its frontmatter and its SKILL.md's size and mtime."""
    try:
        st = os.stat(skill.skill_md)
        disk: tuple[int, int] = (st.st_size, st.st_mtime_ns)
    except OSError:
        disk = (-1, -1)
    fields = (skill.description, skill.license, skill.compatibility, tuple(skill.allowed_tools))
    return (*fields, tuple(sorted(skill.metadata.items())), disk)
