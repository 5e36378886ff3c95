"""Re-record tutorials: execute each notebook in place, offline, then mask machine paths in its outputs.

    .venv/bin/python scripts/record_notebooks.py notebooks/01_hello_skills.ipynb [...]

The notebooks are stored with their outputs: nbval compares a fresh run against them in CI, and the
documentation site shows them as they are. Paths of the machine that recorded them (a checkout's
`skills/` folder, a session's temp dir) mean nothing to a reader, so the path rules of
`notebooks/sanitize.cfg` (the sections named `*_paths`, the same rules nbval applies before it
compares) are applied to the stored outputs: `/home/me/conjure/skills/echo` is stored as
`…/skills/echo`, a temp dir as `/tmp/…`. Durations and ports are left as they were measured.

Widget state is not stored (it would hold every widget's value: the dashboard's alone is most of a
megabyte). A widget needs its live kernel anyway; the panels and the dashboard carry a static HTML copy
of what they show, which is what a stored notebook and the documentation site display.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "notebooks" / "sanitize.cfg"


def path_rules() -> list[tuple[re.Pattern[str], str]]:
    """The `*_paths` sections of notebooks/sanitize.cfg, as (regex, replacement) pairs."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(SANITIZE, encoding="utf-8")
    return [
        (re.compile(config[section]["regex"]), config[section]["replace"])
        for section in config.sections()
        if section.endswith("_paths")
    ]


def _mask(text: str, rules: list[tuple[re.Pattern[str], str]]) -> str:
    for regex, replacement in rules:
        text = regex.sub(replacement, text)
    return text


def mask_outputs(nb: nbformat.NotebookNode, rules: list[tuple[re.Pattern[str], str]]) -> int:
    """Mask machine paths in every text output of `nb`; returns how many outputs changed."""
    changed = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            before = repr(output)
            if "text" in output:
                output["text"] = _mask(output["text"], rules)
            for mime, data in output.get("data", {}).items():
                if isinstance(data, str) and (mime.startswith("text/") or mime.endswith("json")):
                    output["data"][mime] = _mask(data, rules)
            changed += repr(output) != before
    return changed


def record(path: Path) -> None:
    env = {**os.environ, "CONJURE_OFFLINE": "1"}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace"]
    command += ["--ExecutePreprocessor.record_timing=False", "--ExecutePreprocessor.store_widget_state=False"]
    subprocess.run(
        [*command, path.name],
        cwd=path.parent,
        env=env,
        check=True,
    )
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # also a state an earlier save (JupyterLab's) left behind
    changed = mask_outputs(nb, path_rules())
    nbformat.write(nb, path)
    print(f"{path}: recorded, {changed} output(s) masked, {path.stat().st_size:,} bytes")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    for name in argv:
        record(Path(name).resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
