"""DESIGN.md's layer order holds: no module of conjure_nb imports one from a layer below it.

Every import counts, including ones inside functions and under `TYPE_CHECKING`: a lazy import
still ties the layers together. The layer of a module is found from its dotted name, the most
specific prefix in LAYERS winning, so a new module lands in its folder's layer without an edit here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import conjure_nb

PACKAGE = Path(conjure_nb.__file__).parent

# DESIGN.md "Layers", top to bottom; each layer may import only the layers above it (and itself)
ORDER = [
    ["_errors", "telemetry"],
    ["display"],
    ["skills"],
    ["tools"],
    ["_prompt"],
    ["models"],
    ["hosted"],
    ["executors"],
    ["_loop"],
    ["session"],
    ["monitoring"],
    ["notebook"],
    ["testing"],
    [
        "cli",
        "demo",
        "__init__",
        "__main__",
    ],  # the demo job, the CLI and the facade: only the top imports them
]
LAYERS = {name: rank for rank, names in enumerate(ORDER) for name in names}


def _modules(root: Path = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root)
        if rel.parts[0] == "_bundled_skills":
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        found[".".join(parts)] = path
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        rank = LAYERS.get(".".join(parts[:n]))
        if rank is not None:
            return rank
    raise AssertionError(f"conjure_nb.{module} is in no layer of DESIGN.md; add its folder to ORDER")


def _imports(module: str, path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported module relative to conjure_nb) for every import of the package's own modules."""
    is_package = path.name == "__init__.py"
    base = module.split(".") if is_package else module.split(".")[:-1]
    if module == "__init__":
        base = []
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [
                (node.lineno, a.name.removeprefix("conjure_nb."))
                for a in node.names
                if a.name.startswith("conjure_nb.")
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = base[: len(base) - (node.level - 1)]
                target += node.module.split(".") if node.module else []
            elif node.module and (node.module + ".").startswith("conjure_nb."):
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                sub = ".".join([*target, alias.name])
                out.append((node.lineno, sub if sub in known else ".".join(target) or "__init__"))
    return out


def violations(root: Path = PACKAGE) -> list[str]:
    modules = _modules(root)
    wrong = []
    for module, path in sorted(modules.items()):
        mine = layer_of(module)
        for line, target in _imports(module, path, set(modules)):
            if layer_of(target) > mine:
                wrong.append(f"{path.relative_to(root)}:{line} imports conjure_nb.{target}")
    return wrong


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        layer_of(module)


def test_no_module_imports_from_a_layer_below_it() -> None:
    wrong = violations()
    assert not wrong, "imports against DESIGN.md's layer order:\n" + "\n".join(wrong)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    # the shape of the old defect: events (tools layer) importing Response from the session layer,
    # lazily and under TYPE_CHECKING, and an absolute import of the facade from a low layer
    (tmp_path / "tools").mkdir()
    (tmp_path / "session").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "session" / "__init__.py").write_text("")
    (tmp_path / "session" / "core.py").write_text("from ..tools import events\n")
    (tmp_path / "tools" / "events.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..session.core import Response\n"
    )
    (tmp_path / "cli.py").write_text("")
    (tmp_path / "skills.py").write_text(
        "def f():\n    import conjure_nb._loop\n    from conjure_nb import cli\n"
    )
    assert violations(tmp_path) == [
        "skills.py:2 imports conjure_nb._loop",
        "skills.py:3 imports conjure_nb.cli",
        "tools/events.py:3 imports conjure_nb.session.core",
    ]


def test_internal_modules_are_private() -> None:
    # DESIGN.md: public names come from the packages' __init__; the modules behind them are _-prefixed
    public = {"telemetry", "tools.events"}  # cj.telemetry and cj.events are public modules
    for module, path in _modules().items():
        leaf = module.split(".")[-1]
        if path.name in ("__init__.py", "__main__.py") or module in public:
            continue
        assert leaf.startswith("_"), f"conjure_nb.{module} is internal: name it _{leaf}"


def test_the_layout_shows_the_layers() -> None:
    for module in (
        "tools.events",
        "tools._response",
        "tools._tables",
        "tools._workspace",
        "session._persist",
    ):
        assert module in _modules(), f"conjure_nb.{module} should exist (DESIGN.md layers)"
