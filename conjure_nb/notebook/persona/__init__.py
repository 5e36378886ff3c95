"""The @Conjure persona for JupyterLab's chat sidebar (Jupyter AI v3 / jupyterlab-chat).

`pip install 'conjure-nb[jupyter-ai]'` installs the persona manager and jupyterlab-chat and
registers `ConjurePersona` under the `jupyter_ai.personas` entry point; pick "Conjure" in a
`.chat` file's persona picker (or make it the default: `c.PersonaManager.default_persona_id =
"jupyter-ai-personas::conjure_nb::ConjurePersona"`). Settings: see `_settings.py`.
"""

from __future__ import annotations

try:
    from ._persona import ConjurePersona
except ImportError as exc:  # pragma: no cover - depends on the environment
    if exc.name and exc.name.split(".")[0] in ("jupyter_ai_persona_manager", "jupyterlab_chat", "traitlets"):
        raise ImportError(
            f"the Conjure chat persona needs {exc.name}: pip install 'conjure-nb[jupyter-ai]'"
        ) from exc
    raise

__all__ = ["ConjurePersona"]
