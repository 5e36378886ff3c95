"""Sphinx configuration of the conjure_nb documentation site (`make docs`).

The stack is Sphinx + MyST-NB + Furo (docs/contributing.md says why). Notebooks are rendered from the
outputs stored in them and never executed here: the tutorial pages are the very files nbval runs in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import conjure_nb  # noqa: E402

project = "conjure_nb"
author = "conjure_nb developers"
copyright = "conjure_nb developers"
release = version = conjure_nb.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "conjure_docs",
]

# telemetry.md and porting-from-elixir.md are parts of other pages (reference/telemetry, elixir), not pages
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md", "telemetry.md", "porting-from-elixir.md"]
suppress_warnings: list[str] = []

# --- MyST / MyST-NB ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # show what nbval checked; never re-run a notebook while building the site
nb_merge_streams = True
# Widget views need a live kernel; a rendered page shows the text the notebook stored beside them.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# --- autodoc --------------------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "separated"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Cross-references are checked (-n): everything of ours must resolve. Names from the standard
# library and third-party packages cannot be resolved offline (no intersphinx), so those are let go.
nitpicky = True
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(typing|typing_extensions|collections|collections\.abc|types|pathlib|os|io|asyncio|"
        r"concurrent|threading|subprocess|datetime|enum|dataclasses|contextlib|argparse|logging|json|"
        r"zipfile|re|socket|http|email|queue|abc|builtins|weakref|functools)(\..*)?",
    ),
    (
        r"py:.*",
        r"(pandas|pd|anthropic|httpx|docker|ipywidgets|IPython|traitlets|matplotlib|dask|"
        r"distributed|opentelemetry|numpy|yaml|frontmatter|openpyxl|reportlab|pypdfium2)(\..*)?",
    ),
    (
        r"py:class",
        r"(Path|PathLike|Any|Callable|Iterator|AsyncIterator|Iterable|Mapping|Sequence|"
        r"Awaitable|Coroutine|Generator|TypeVar|T|P|DataFrame|Figure|Future|Client|Widget|Box|"
        r"Event|Lock|Thread|TracebackType|Namespace|ArgumentParser|Self|NoneType|ellipsis|_thread\..*)",
    ),
    # type aliases private to their module, which type hints name by their short name
    (
        r"py:class",
        r"(ModelArg|SkillsArg|SessionOptions|AnyOptions|DockerOptions|HostedOptions|Price|Approvals|"
        r"Dashboard)",
    ),
]

# --- HTML -----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"conjure_nb {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {"navigation_with_keys": True}
