"""Sphinx directives that generate reference pages from the code itself, so a page cannot drift.

- `conjure-api GROUP...`: autodoc entries for every name of `conjure_nb.__all__` defined in those
  groups (the first part of the module path in `conjure_nb._EXPORTS`: errors, skills, tools, ...).
  When the build ends, a name of `__all__` with no entry is a warning (an error under `-W`).
- `conjure-argparse MODULE:FUNCTION [ARG]`: usage, description and an options table from an argparse
  parser returned by `FUNCTION(ARG)` (the magics' parsers); `:subcommands:` walks sub-parsers (the CLI).
- `conjure-traits MODULE:CLASS`: the configurable traits of a traitlets class (`%config` defaults).
- `conjure-line-commands`: the `%conjure` line commands, from the magics' own help table.
- `conjure-error-tree`: the exception tree, drawn from the classes themselves.
- `conjure-include-optional PATH`: includes a Markdown file when it exists (a page another change adds
  later); until then the directive's own content stands in.

Docstrings are written in Markdown (STYLE.md); an `autodoc-process-docstring` handler turns the parts
that reStructuredText reads differently (inline code, fenced blocks, links) into reStructuredText before
napoleon reads the Google-style sections.

A `missing-reference` handler maps a type hint's defining module path (`conjure_nb.session._core.Session`)
to the public name it is documented under (`conjure_nb.Session`).
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.directives.other import Include
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

PUBLIC_SUBMODULES = {"telemetry", "events"}


def _exports() -> dict[str, str]:
    import conjure_nb

    return dict(conjure_nb._EXPORTS)


def _group(module_path: str) -> str:
    return module_path.split(".")[0].lstrip("_")


def _load(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _depend_on_package(directive: SphinxDirective, module_name: str) -> None:
    """Rebuild the page when any module beside `module_name` changes (an incremental build would
    otherwise keep a generated table that no longer matches the code)."""
    folder = Path(importlib.import_module(module_name).__file__ or "").parent
    for path in sorted(folder.rglob("*.py")):
        directive.env.note_dependency(str(path))


def _inline(text: str) -> list[nodes.Node]:
    """Text with `backticks` as literals (the Markdown of the magics' help)."""
    out: list[nodes.Node] = []
    for i, part in enumerate(re.split(r"`([^`]*)`", text)):
        if part:
            out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


def _table(headers: list[str], rows: list[list[list[nodes.Node]]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["conjure-generated"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for header in headers:
        row += nodes.entry("", nodes.paragraph(header, header))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph("", "", *cell))
        body += row
    return table


# --- conjure-api ------------------------------------------------------------------------------------


class ApiDirective(SphinxDirective):
    """Autodoc entries for the public names of some groups."""

    required_arguments = 1
    optional_arguments = 20

    def run(self) -> list[nodes.Node]:
        groups = set(self.arguments)
        names = [n for n, mod in _exports().items() if _group(mod) in groups]
        if not names:
            raise self.error(f"conjure-api: no public names in the groups {sorted(groups)}")
        lines: list[str] = []
        for name in names:
            lines.extend(self._entry(name))
        content = StringList(lines, source=f"<conjure-api {' '.join(self.arguments)}>")
        node = nodes.container()
        nested_parse_with_titles(self.state, content, node)
        return node.children

    @staticmethod
    def _entry(name: str) -> list[str]:
        import conjure_nb

        obj = getattr(conjure_nb, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return [f".. autoexception:: conjure_nb.{name}", "   :members:", "   :show-inheritance:", ""]
        if isinstance(obj, type):
            return [
                f".. autoclass:: conjure_nb.{name}",
                "   :members:",
                "   :show-inheritance:",
                "",
            ]
        return [f".. autofunction:: conjure_nb.{name}", ""]


def _check_api_complete(app: Sphinx, env: Any) -> None:
    """Every name of `conjure_nb.__all__` has a reference entry (the submodules: their module page)."""
    from sphinx.util import logging

    import conjure_nb

    objects = env.get_domain("py").objects
    for name in conjure_nb.__all__:
        if name == "__version__":
            continue
        if f"conjure_nb.{name}" not in objects:
            logging.getLogger(__name__).warning(
                "conjure_nb.%s is in __all__ but has no reference entry", name
            )


# --- conjure-argparse --------------------------------------------------------------------------------


def _option_rows(parser: argparse.ArgumentParser) -> list[list[list[nodes.Node]]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction)):
            continue
        if action.option_strings:
            flags = ", ".join(action.option_strings)
            if action.nargs != 0:
                metavar = action.metavar or (action.dest.upper() if not action.choices else None)
                if action.choices:
                    flags += " {" + ",".join(map(str, action.choices)) + "}"
                elif metavar:
                    flags += f" {metavar}"
        else:
            flags = str(action.metavar or action.dest)
        default = action.default
        shown = "" if default in (None, argparse.SUPPRESS, False) or action.nargs == 0 else repr(default)
        help_text = (action.help or "").replace("%%", "%")
        rows.append(
            [
                [nodes.literal(flags, flags)],
                [nodes.literal(shown, shown)] if shown else [],
                _inline(help_text),
            ]
        )
    return rows


class ArgparseDirective(SphinxDirective):
    """Usage, description and options of an argparse parser, generated from the parser."""

    required_arguments = 1
    optional_arguments = 1
    option_spec = {"subcommands": directives.flag}  # noqa: RUF012

    def run(self) -> list[nodes.Node]:
        factory = _load(self.arguments[0])
        _depend_on_package(self, self.arguments[0].partition(":")[0])
        parser = factory(*self.arguments[1:])
        if "subcommands" in self.options:
            return self._subcommands(parser)
        return self._describe(parser, parser.description)

    def _describe(self, parser: argparse.ArgumentParser, description: str | None) -> list[nodes.Node]:
        usage = parser.format_usage().removeprefix("usage: ").strip()
        out: list[nodes.Node] = [nodes.literal_block(usage, usage, language="none")]
        if description:
            out.append(nodes.paragraph("", "", *_inline(description.replace("%%", "%"))))
        rows = _option_rows(parser)
        if rows:
            out.append(_table(["argument", "default", "meaning"], rows, [30, 12, 58]))
        return out

    def _subcommands(self, parser: argparse.ArgumentParser, prefix: str = "") -> list[nodes.Node]:
        out: list[nodes.Node] = []
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                continue
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                section = nodes.section(
                    ids=[nodes.make_id(f"cli-{full}")], names=[nodes.fully_normalize_name(f"cli {full}")]
                )
                title = f"conjure-nb {full}"
                section += nodes.title(title, "", nodes.literal(title, title))
                section.extend(self._describe(sub, sub.description or helps.get(name)))
                section.extend(self._subcommands(sub, f"{full} "))
                self.state.document.note_implicit_target(section)
                out.append(section)
        return out


# --- conjure-traits ----------------------------------------------------------------------------------


class TraitsDirective(SphinxDirective):
    """The `config=True` traits of a traitlets class: name, type, default, help."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        cls = _load(self.arguments[0])
        _depend_on_package(self, self.arguments[0].partition(":")[0])
        rows = []
        for name, trait in sorted(cls.class_traits(config=True).items()):
            setting = f"%config {cls.__name__}.{name}"
            default = repr(trait.default())
            kind = type(trait).__name__
            rows.append(
                [
                    [nodes.literal(setting, setting)],
                    [nodes.Text(kind)],
                    [nodes.literal(default, default)],
                    _inline(trait.help or ""),
                ]
            )
        return [_table(["setting", "type", "default", "meaning"], rows, [34, 10, 12, 44])]


# --- conjure-line-commands ---------------------------------------------------------------------------


class LineCommandsDirective(SphinxDirective):
    """The rows of the magics' own `%conjure help` table."""

    def run(self) -> list[nodes.Node]:
        from conjure_nb.notebook.magics._commands import HELP

        _depend_on_package(self, "conjure_nb.notebook.magics._commands")
        rows = []
        for line in HELP.splitlines():
            match = re.fullmatch(r"\| `(.+?)` \| (.+) \|", line.strip())
            if match is None:
                continue
            usage = match.group(1).replace("\\|", "|").replace("` · `", " · ")
            rows.append([[nodes.literal(usage, usage)], _inline(match.group(2))])
        if not rows:
            raise self.error(
                "conjure-line-commands: no table rows found in conjure_nb.notebook.magics._commands.HELP"
            )
        return [_table(["command", "what it does"], rows, [55, 45])]


# --- conjure-error-tree ------------------------------------------------------------------------------


class ErrorTreeDirective(SphinxDirective):
    """The exception classes of `conjure_nb.__all__`, drawn as a tree from their real bases."""

    def run(self) -> list[nodes.Node]:
        import conjure_nb

        _depend_on_package(self, "conjure_nb")
        errors = [getattr(conjure_nb, n) for n in conjure_nb.__all__]
        errors = [e for e in errors if isinstance(e, type) and issubclass(e, BaseException | Warning)]
        public = set(errors)
        lines: list[str] = []

        def walk(cls: type, depth: int) -> None:
            bases = ", ".join(b.__name__ for b in cls.__bases__ if b not in public)
            suffix = f"   (also {bases})" if bases and depth else f"   ({bases})" if bases else ""
            lines.append("    " * depth + cls.__name__ + suffix)
            for sub in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
                if sub in public and cls in sub.__bases__ and sub.__bases__[0] is cls:
                    walk(sub, depth + 1)

        for root in sorted(errors, key=lambda c: c.__name__):
            if not any(b in public for b in root.__bases__):
                walk(root, 0)
        text = "\n".join(lines)
        return [nodes.literal_block(text, text, language="none")]


# --- Markdown docstrings ------------------------------------------------------------------------------

_INLINE_CODE = re.compile(r"(?<![`:\w])`([^`\n]+)`(?![`_])")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(\s*)```\s*(\w*)\s*$")


def markdown_to_rst(lines: list[str]) -> list[str]:
    """The Markdown of a docstring as reStructuredText (fences, inline code, links); other text unchanged."""
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            out.extend([f"{fence}.. code-block:: {match.group(2) or 'none'}", ""])
            continue
        if fence is not None:
            if match and match.group(1) == fence:
                fence = None
                out.append("")
            else:
                out.append(f"{fence}   {line[len(fence) :]}" if line.strip() else "")
            continue
        line = _LINK.sub(lambda m: f"`{m.group(1)} <{m.group(2)}>`__", line)
        out.append(_INLINE_CODE.sub(r"``\1``", line))
    return out


def _process_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    lines[:] = markdown_to_rst(lines)


def _attribute_docstring(self: Any) -> list[str]:
    """napoleon's reading of a property's docstring, without taking "text: more" on its first line
    for "type: description": the types come from annotations here, and sentences keep their colons."""
    descs = self.__class__(self._dedent(self._consume_to_end()), self._config).lines()
    return list(self._format_field("", "", descs))


# --- conjure-include-optional -----------------------------------------------------------------------


class OptionalInclude(SphinxDirective):
    """MyST's `include` for a Markdown file that may not exist yet: the directive's content stands in."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        from myst_parser.mocking import MockIncludeDirective

        _, path = self.env.relfn2path(self.arguments[0], self.env.docname)
        if Path(path).is_file():
            include = MockIncludeDirective(
                self.state._renderer,
                name="include",
                klass=Include,
                arguments=self.arguments,
                options={},
                body=[],
                lineno=self.lineno,
            )
            return list(include.run())
        node = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, node)
        return node.children


# --- references -------------------------------------------------------------------------------------


def _private_name(name: str) -> bool:
    """Whether a loaded module of conjure_nb defines a class of this name."""
    import sys

    return any(
        isinstance(vars(module).get(name), type) and vars(module)[name].__module__ == module.__name__
        for mod_name, module in list(sys.modules.items())
        if mod_name.startswith("conjure_nb.") and module is not None
    )


def _public_reference(app: Sphinx, env: Any, node: Any, contnode: Any) -> Any:
    """`conjure_nb.session._core.Session` -> the entry of `conjure_nb.Session`."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py":
        return None
    if "." not in target and _private_name(target):
        return contnode  # a private class named bare in a docstring (`Raises: AgentError`)
    if not target.startswith("conjure_nb."):
        return None
    exports = _exports()
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        name = parts[i]
        if name in exports and parts[1:i] == exports[name].split(".")[: i - 1]:
            public = ".".join(["conjure_nb", name, *parts[i + 1 :]])
            domain = env.get_domain("py")
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], public, node, contnode
            )
    # a private class (not in __all__) named by a type hint or a base: shown, not linked
    return contnode


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("conjure-api", ApiDirective)
    app.add_directive("conjure-argparse", ArgparseDirective)
    app.add_directive("conjure-traits", TraitsDirective)
    app.add_directive("conjure-line-commands", LineCommandsDirective)
    app.add_directive("conjure-error-tree", ErrorTreeDirective)
    app.add_directive("conjure-include-optional", OptionalInclude)
    app.connect("env-check-consistency", _check_api_complete)
    app.connect("missing-reference", _public_reference)
    app.connect("autodoc-process-docstring", _process_docstring, priority=100)
    from sphinx.ext.napoleon.docstring import GoogleDocstring

    GoogleDocstring._parse_attribute_docstring = _attribute_docstring  # type: ignore[method-assign]
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
