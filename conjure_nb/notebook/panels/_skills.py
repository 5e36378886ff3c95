"""`SkillBrowser`: search skills and read one: frontmatter, SKILL.md rendered, resources, validation.

Given a `cj.Registry`, the browser follows it: each reload (a `watch=True` registry reloads by
itself when files change on disk) updates the list, keeping the selection when the skill is still
there. Given a plain list of skills, it shows that list.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

import ipywidgets as w

from ... import telemetry
from ...skills._model import Skill
from ...skills._registry import RELOADED, Registry
from ...skills._validate import validate
from ._render import escape, markdown_output

__all__ = ["SkillBrowser"]


class SkillBrowser(w.VBox):
    """A searchable list of skills beside the selected skill's details.

    Args:
        skills: a `Registry` (followed live), skills, or paths `cj.load` accepts.
        strict: validate with the strict (upload) profile instead of the lenient one.
    """

    def __init__(self, skills: Registry | Iterable[Skill] | Any, *, strict: bool = False):
        self.registry = skills if isinstance(skills, Registry) else None
        self._static = [] if self.registry is not None else _as_skills(skills)
        self.strict = strict
        self._lock = threading.RLock()
        self.search = w.Text(placeholder="search names and descriptions", description="Search")
        self.picker = w.Select(options=[], rows=12, layout=w.Layout(width="260px"))
        self.summary = w.HTML()
        self.frontmatter = w.HTML()
        self.body = w.Output()
        self.resources = w.HTML()
        self.report = w.HTML()
        details = w.VBox(
            [self.frontmatter, self.report, self.resources, self.body],
            layout=w.Layout(flex="1", padding="0 8px"),
        )
        self.search.observe(lambda _c: self.refresh(), "value")
        self.picker.observe(lambda _c: self._show_selected(), "value")
        super().__init__([self.summary, w.HBox([w.VBox([self.search, self.picker]), details])])
        self.add_class("conjure-skill-browser")
        self._handler_id = f"conjure-skill-browser-{id(self)}"
        if self.registry is not None:
            _follow(self, self.registry)
        self.refresh()

    @property
    def skills(self) -> list[Skill]:
        """Every skill the browser knows right now (before the search filter)."""
        return self.registry.list() if self.registry is not None else list(self._static)

    @property
    def shown(self) -> list[str]:
        """The names listed after the search filter."""
        return list(self.picker.options)

    @property
    def selected(self) -> Skill | None:
        """The skill picked in the list, or None when none is."""
        name = self.picker.value
        return next((s for s in self.skills if s.name == name), None) if name else None

    def refresh(self) -> None:
        """Re-read the skills (a registry's current set) and apply the search."""
        with self._lock:
            skills = self.skills
            query = self.search.value.strip().lower()
            names = [s.name for s in skills if not query or query in f"{s.name} {s.description}".lower()]
            keep = self.picker.value if self.picker.value in names else (names[0] if names else None)
            self.picker.options = names
            self.picker.value = keep
            source = (
                f"registry {', '.join(str(p) for p in self.registry.paths)}" if self.registry else "a list"
            )
            self.summary.value = (
                f"<b>Skills</b> · {len(names)} of {len(skills)} shown · from {escape(source)}"
                + (" · watching" if self.registry is not None and self.registry.watching else "")
            )
            self._show_selected()

    def select(self, name: str) -> None:
        """Show the skill called `name` (clearing a search that hides it)."""
        if name not in self.picker.options:
            self.search.value = ""
        self.picker.value = name

    def wait(self, timeout: float | None = None) -> None:
        """Refreshes run synchronously, so there is nothing to wait for (the panels share this method)."""

    def close(self) -> None:
        telemetry.detach(self._handler_id)
        super().close()

    def _show_selected(self) -> None:
        skill = self.selected
        if skill is None:
            self.frontmatter.value = "<i>no skill selected</i>"
            self.body.outputs, self.resources.value, self.report.value = (), "", ""
            return
        self.frontmatter.value = _frontmatter_html(skill)
        self.resources.value = _resources_html(skill)
        self.report.value = _report_html(skill, self.strict)
        try:
            body = skill.body
        except OSError as exc:
            body = f"*SKILL.md cannot be read: {exc}*"
        self.body.outputs = (markdown_output(body),)

    def __repr__(self) -> str:
        return f"<SkillBrowser {len(self.shown)} shown of {len(self.skills)}>"


def _as_skills(value: Any) -> list[Skill]:
    items = [value] if isinstance(value, (str, Skill)) or hasattr(value, "__fspath__") else list(value)
    if all(isinstance(s, Skill) for s in items):
        return sorted(items, key=lambda s: s.name)
    from ...skills._loader import load

    paths = [s for s in items if not isinstance(s, Skill)]
    return sorted([s for s in items if isinstance(s, Skill)] + load(paths), key=lambda s: s.name)


def _frontmatter_html(skill: Skill) -> str:
    fields: list[tuple[str, Any]] = [
        ("name", skill.name),
        ("description", skill.description),
        ("license", skill.license),
        ("compatibility", skill.compatibility),
        ("allowed-tools", ", ".join(skill.allowed_tools) or None),
        *((f"metadata.{k}", v) for k, v in sorted(skill.metadata.items())),
        *((k, v) for k, v in sorted(skill.extra.items())),
        ("path", str(skill.path)),
    ]
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
        for k, v in fields
        if v not in (None, "")
    )
    return (
        f"<h3 style='margin:4px 0'>{escape(skill.name)}</h3><table class='conjure-frontmatter'>{rows}</table>"
    )


def _resources_html(skill: Skill) -> str:
    res = skill.resources
    groups = [(kind, getattr(res, kind)) for kind in ("scripts", "references", "assets", "other")]
    items = "".join(
        f"<li><b>{kind}</b>: {', '.join(f'<code>{escape(p)}</code>' for p in paths)}</li>"
        for kind, paths in groups
        if paths
    )
    return f"<div><b>Resources</b><ul>{items or '<li>none</li>'}</ul></div>"


def _report_html(skill: Skill, strict: bool) -> str:
    try:
        report = validate(skill.path, strict=strict)
    except Exception as exc:  # a report that cannot be made says so instead of breaking the browser
        return f"<div style='color:#b00020'>validation failed to run: {escape(str(exc))}</div>"
    profile = "strict" if strict else "lenient"
    verdict = (
        "<span style='color:#1a7f37'>● valid</span>"
        if report.ok
        else "<span style='color:#b00020'>● invalid</span>"
    )
    lines = [f"<li style='color:#b00020'>error: {escape(e)}</li>" for e in report.errors]
    lines += [f"<li style='color:#8a6d00'>warning: {escape(m)}</li>" for m in report.warnings]
    return f"<div class='conjure-validation'><b>Validation ({profile})</b>: {verdict}<ul>{''.join(lines)}</ul></div>"


def _follow(browser: SkillBrowser, registry: Registry) -> None:
    """Refresh `browser` after each reload of `registry`, without keeping the browser alive."""
    ref = weakref.ref(browser)
    handler_id = browser._handler_id
    paths = [str(p) for p in registry.paths]

    def on_reload(_event: Any, _measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
        target = ref()
        if target is None:
            telemetry.detach(handler_id)
        elif metadata.get("paths") == paths:
            target.refresh()

    telemetry.attach(handler_id, [RELOADED], on_reload)
