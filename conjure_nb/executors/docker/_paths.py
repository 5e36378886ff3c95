"""Where things are inside the sandbox container: every container path the backend uses.

The model is told these paths (the system prompt names `/mnt/skills/<name>/SKILL.md`), the runner
runs commands in `WORKSPACE`, and the image's environment is built from them, so they live here
once.
"""

from __future__ import annotations

__all__ = ["CONTAINER_PATH", "HOME", "SKILLS_ROOT", "TMPDIR", "WORKSPACE", "skill_dir"]

WORKSPACE = "/workspace"
"""The session's working dir (a bind mount, or a named volume on a remote engine)."""
SKILLS_ROOT = "/mnt/skills"
"""Each skill read-only at `SKILLS_ROOT/<name>`."""
HOME = "/tmp/home"
"""HOME of tool processes: on the tmpfs, so caches never land in the working dir."""
TMPDIR = "/tmp"
CONTAINER_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


def skill_dir(name: str) -> str:
    """Where a skill's folder is mounted."""
    return f"{SKILLS_ROOT}/{name}"
