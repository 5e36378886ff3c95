"""One view of the Skills and Files API objects, whatever the SDK version.

SDK 1.x and the 2025 API call a skill's label `display_title` and its newest version
`latest_version`; SDK 2.x says `display_name` and `latest_version_id`. Versions are named by
`version` in the old shape and by `id` in the new. These functions accept both (SDK objects or
plain dicts), so the rest of conjure_nb never looks at a field name twice.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FileInfo",
    "SkillInfo",
    "VersionInfo",
    "file_info",
    "safe_filename",
    "skill_info",
    "title_keyword",
    "version_info",
]


@dataclass
class SkillInfo:
    """A skill as the Skills API describes it."""

    id: str
    title: str | None
    latest_version: str | None
    source: str | None
    created_at: str | None = None


@dataclass
class VersionInfo:
    """One version of a custom skill; `version` is what a container reference pins."""

    skill_id: str
    version: str
    name: str | None = None
    description: str | None = None


@dataclass
class FileInfo:
    """A file's metadata from the Files API (`filename` is the server's, untrusted)."""

    id: str
    filename: str
    mime_type: str
    size: int | None
    created_at: str | None = None
    downloadable: bool | None = None
    purpose: str | None = None


def _data(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json", warnings=False))
    return dict(vars(obj))


def _first(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def skill_info(obj: Any) -> SkillInfo:
    """A Skills API skill object (either SDK's shape) as a `SkillInfo`."""
    data = _data(obj)
    source = data.get("source")
    if isinstance(source, dict):
        source = source.get("type")
    return SkillInfo(
        id=str(data["id"]),
        title=_str(_first(data, "display_title", "display_name")),
        latest_version=_str(_first(data, "latest_version", "latest_version_id")),
        source=_str(source),
        created_at=_str(data.get("created_at")),
    )


def version_info(obj: Any, skill_id: str | None = None) -> VersionInfo:
    """A skill version object (either shape) as a `VersionInfo`."""
    data = _data(obj)
    return VersionInfo(
        skill_id=str(_first(data, "skill_id") or skill_id),
        version=str(_first(data, "version", "id")),
        name=_str(data.get("name")),
        description=_str(data.get("description")),
    )


def file_info(obj: Any) -> FileInfo:
    """A Files API metadata object as a `FileInfo`."""
    data = _data(obj)
    size = _first(data, "size_bytes", "size")
    return FileInfo(
        id=str(data["id"]),
        filename=str(data.get("filename") or data["id"]),
        mime_type=str(_first(data, "mime_type", "media_type") or "application/octet-stream"),
        size=int(size) if isinstance(size, (int, float)) else None,
        created_at=_str(data.get("created_at")),
        downloadable=data.get("downloadable"),
        purpose=_str(data.get("purpose")),
    )


def title_keyword(create: Callable[..., Any]) -> str:
    """The keyword `skills.create` takes the label as: `display_name` (2.x) or `display_title` (1.x)."""
    params = inspect.signature(create).parameters
    return "display_name" if "display_name" in params else "display_title"


_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


def safe_filename(name: str | None, fallback: str) -> str:
    """A server-supplied file name reduced to a plain basename; `fallback` when nothing is left.

    `../../etc/passwd` becomes `passwd`, `C:\\x\\y.txt` becomes `y.txt`; `..`, `.` and empty names
    are refused.
    """
    base = os.path.basename(_UNSAFE.sub("", (name or "").replace("\\", "/")).strip())
    return base if base not in ("", ".", "..") else fallback
