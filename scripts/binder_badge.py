"""Write the README's Binder badge from `[project.urls] Repository` in pyproject.toml (the one place
the GitHub location is set). `python scripts/binder_badge.py --check` fails when the README disagrees."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/06_monitoring_agent.ipynb"
BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]\([^)]*\)")


def badge() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    repo = project["urls"]["Repository"].rstrip("/")
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", repo)
    if match is None:
        raise SystemExit(f"[project.urls] Repository must be https://github.com/OWNER/NAME, not {repo!r}")
    owner, name = match.groups()
    url = f"https://mybinder.org/v2/gh/{owner}/{name}/HEAD?labpath={quote(NOTEBOOK, safe='')}"
    return f"[![Binder](https://mybinder.org/badge_logo.svg)]({url})"


def main(argv: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if not BADGE.search(text):
        raise SystemExit("README.md has no Binder badge to update")
    wanted = BADGE.sub(badge(), text)
    if "--check" in argv:
        if wanted != text:
            print("README.md's Binder badge is not the one pyproject.toml's Repository gives: make binder-badge")
            return 1
        return 0
    readme.write_text(wanted, encoding="utf-8")
    print(badge())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
