"""The Skills and Files endpoints of `FakeAnthropicServer`, and its hosted containers.

State lives in memory: custom skills with their versions and uploaded files, generated files
(`server.add_file(...)`, referenced by code-execution results), and containers created on first
use and kept by id. Shapes follow the public API; `skills_shape="1.x"` answers with the older
field names (`display_title`, `latest_version`, a string `source`) that SDK 1.x reads.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Fault", "HostedState", "Route"]

Route = tuple[int, dict[str, str], bytes]
NOW = "2026-01-01T00:00:00Z"


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Route:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(data).encode()


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Route:
    return _json(status, {"type": "error", "error": {"type": kind, "message": message}}, headers)


def _new_id(prefix: str) -> str:
    return f"{prefix}_01{uuid.uuid4().hex[:22]}"


@dataclass
class Fault:
    """Answer `times` requests matching `method` and a path prefix with this error, after `after` pass."""

    method: str
    path: str
    status: int
    message: str = "injected fault"
    kind: str = "api_error"
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after: int = 0


@dataclass
class StoredSkill:
    id: str
    title: str
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class StoredFile:
    id: str
    filename: str
    content: bytes
    mime_type: str
    downloadable: bool = True
    purpose: str | None = None


class HostedState:
    """Skills, files and containers of one fake server."""

    def __init__(self, skills_shape: str = "2.x") -> None:
        self.skills_shape = skills_shape
        self.skills: dict[str, StoredSkill] = {}
        self.files: dict[str, StoredFile] = {}
        self.containers: dict[str, list[dict[str, Any]]] = {}
        self.expired: set[str] = set()
        self.cut_downloads: set[str] = set()
        self.faults: list[Fault] = []

    # -- what tests call -----------------------------------------------------------------------

    def add_file(
        self,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        downloadable: bool = True,
        purpose: str | None = None,
    ) -> str:
        fid = _new_id("file")
        self.files[fid] = StoredFile(fid, filename, content, mime_type, downloadable, purpose)
        return fid

    def file_metadata(self, f: StoredFile) -> dict[str, Any]:
        data = {
            "id": f.id, "type": "file", "filename": f.filename, "mime_type": f.mime_type,
            "size_bytes": len(f.content), "created_at": NOW, "downloadable": f.downloadable,
        }  # fmt: skip
        return {**data, "purpose": f.purpose} if f.purpose is not None else data

    # -- routing -------------------------------------------------------------------------------

    def fault_for(self, method: str, path: str) -> Route | None:
        for fault in self.faults:
            if fault.method == method and path.startswith(fault.path) and fault.times > 0:
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.times -= 1
                return error(fault.status, fault.kind, fault.message, fault.headers)
        return None

    def route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Route | None:
        parts = path.split("?")[0].strip("/").split("/")[1:]  # drop "v1"
        if parts[:1] == ["skills"]:
            return self._skills(method, parts[1:], headers, raw)
        if parts[:1] == ["files"]:
            return self._files(method, parts[1:], parse_qs(urlsplit(path).query))
        return None

    # -- skills --------------------------------------------------------------------------------

    def _skill_json(self, s: StoredSkill) -> dict[str, Any]:
        latest = list(s.versions)[-1] if s.versions else None
        if self.skills_shape == "1.x":
            return {"id": s.id, "type": "skill", "display_title": s.title, "latest_version": latest,
                    "source": "custom", "created_at": NOW, "updated_at": NOW}  # fmt: skip
        return {"id": s.id, "type": "skill", "display_name": s.title, "latest_version_id": latest,
                "source": {"type": "custom"}, "created_at": NOW, "updated_at": NOW}  # fmt: skip

    def _version_json(self, s: StoredSkill, version: str) -> dict[str, Any]:
        v = s.versions[version]
        data = {"type": "skill_version", "skill_id": s.id, "name": v["name"],
                "description": v["description"], "created_at": NOW}  # fmt: skip
        if self.skills_shape == "1.x":
            return {**data, "id": v["id"], "version": version, "directory": v["name"]}
        return {**data, "id": version}

    def _skills(self, method: str, parts: list[str], headers: dict[str, str], raw: bytes) -> Route:
        if not parts:
            if method == "POST":
                return self._create(headers, raw, None)
            data = [self._skill_json(s) for s in self.skills.values()]
            return _json(200, {"data": data, "has_more": False, "next_page": None})
        skill = self.skills.get(parts[0])
        if skill is None:
            return error(404, "not_found_error", f"skill {parts[0]} not found")
        if len(parts) == 1:
            if method == "DELETE":
                if skill.versions:
                    return error(400, "invalid_request_error", "delete every version of the skill first")
                del self.skills[skill.id]
                return _json(200, {"id": skill.id, "type": "skill_deleted"})
            return _json(200, self._skill_json(skill))
        if len(parts) == 2:
            if method == "POST":
                return self._create(headers, raw, skill)
            data = [self._version_json(skill, v) for v in skill.versions]
            return _json(200, {"data": data, "has_more": False, "next_page": None})
        version = parts[2]
        if version not in skill.versions:
            return error(404, "not_found_error", f"version {version} of {skill.id} not found")
        if method == "DELETE":
            del skill.versions[version]
            return _json(200, {"id": version, "type": "skill_version_deleted"})
        return _json(200, self._version_json(skill, version))

    def _create(self, headers: dict[str, str], raw: bytes, skill: StoredSkill | None) -> Route:
        fields, files = parse_multipart(headers.get("content-type", ""), raw)
        problem, name, description = check_upload(files)
        if problem:
            return error(400, "invalid_request_error", problem)
        if skill is None:
            title = fields.get("display_title") or fields.get("display_name") or name
            skill = StoredSkill(_new_id("skill"), title)
            self.skills[skill.id] = skill
        elif skill.versions and next(iter(skill.versions.values()))["name"] != name:
            return error(400, "invalid_request_error", "a new version must keep the skill's name")
        version = str(1759178010641129 + len(skill.versions) + len(self.skills))
        skill.versions[version] = {"id": _new_id("skillver"), "name": name, "description": description,
                                   "files": files}  # fmt: skip
        return _json(
            200, self._skill_json(skill) if len(skill.versions) == 1 else self._version_json(skill, version)
        )

    # -- files ---------------------------------------------------------------------------------

    def _files(self, method: str, parts: list[str], query: dict[str, list[str]]) -> Route:
        if not parts:
            return self._file_page(query)
        f = self.files.get(parts[0])
        if f is None:
            return error(404, "not_found_error", f"file {parts[0]} not found")
        if method == "DELETE":
            del self.files[f.id]
            return _json(200, {"id": f.id, "type": "file_deleted"})
        if parts[1:] == ["content"]:
            if not f.downloadable:
                return error(400, "invalid_request_error", f"file {f.id} is not downloadable")
            cut = {"x-fake-cut": str(len(f.content) // 2)} if f.id in self.cut_downloads else {}
            return 200, {"content-type": f.mime_type, **cut}, f.content
        return _json(200, self.file_metadata(f))

    def _file_page(self, query: dict[str, list[str]]) -> Route:
        """One page of the file list, newest first: `limit`, `purpose` and the `page` cursor honoured."""
        files = list(reversed(self.files.values()))
        if "purpose" in query:
            files = [f for f in files if f.purpose == query["purpose"][0]]
        after = (query.get("page") or query.get("after_id") or [""])[0]
        if after:
            ids = [f.id for f in files]
            files = files[ids.index(after) + 1 :] if after in ids else []
        limit = int(query.get("limit", ["20"])[0])
        page = files[:limit]
        data = [self.file_metadata(f) for f in page]
        first, last = (page[0].id, page[-1].id) if page else (None, None)
        more = len(files) > limit
        body = {"data": data, "has_more": more, "first_id": first, "last_id": last}
        return _json(200, {**body, "next_page": last if more else None})

    # -- containers ----------------------------------------------------------------------------

    def container_for(self, body: dict[str, Any]) -> dict[str, Any] | Route | None:
        """The container a Messages request runs in (created or reused), or an error answer."""
        spec = body.get("container")
        if spec is None:
            return None
        spec = {"id": spec} if isinstance(spec, str) else spec
        skills = spec.get("skills") or []
        if len(skills) > 8:
            return error(400, "invalid_request_error", f"at most 8 skills per request, got {len(skills)}")
        for ref in skills:
            if ref.get("type") == "custom" and ref.get("skill_id") not in self.skills:
                return error(404, "not_found_error", f"custom skill {ref.get('skill_id')} not found")
        cid = spec.get("id")
        if cid in self.expired:
            return error(400, "invalid_request_error", f"container {cid} has expired")
        if cid and cid not in self.containers:
            return error(404, "not_found_error", f"container {cid} not found")
        if not cid:
            cid = _new_id("container")
        self.containers[cid] = skills or self.containers.get(cid, [])
        return {"id": cid, "expires_at": "2026-01-01T01:00:00Z", "skills": self.containers[cid]}


def parse_multipart(content_type: str, raw: bytes) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Form fields and (filename, bytes) files of a multipart/form-data body."""
    msg = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    if not msg.is_multipart():
        return fields, files
    for part in msg.iter_parts():
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files.append((filename, data))
        else:
            fields[str(part.get_param("name", header="content-disposition"))] = data.decode()
    return fields, files


_NAME = re.compile(r"^name:\s*[\"']?([^\"'\n]+?)[\"']?\s*$", re.M)
_DESCRIPTION = re.compile(r"^description:\s*(.+)$", re.M)


def check_upload(files: list[tuple[str, bytes]]) -> tuple[str | None, str, str]:
    """(problem, name, description): the API's own checks on an uploaded folder."""
    if not files:
        return "no files were uploaded", "", ""
    tops = {name.split("/", 1)[0] for name, _ in files}
    if len(tops) != 1 or any("/" not in name for name, _ in files):
        return f"all files must be in one top-level folder, got {sorted(tops)}", "", ""
    top = tops.pop()
    skill_md = dict(files).get(f"{top}/SKILL.md")
    if skill_md is None:
        return f"{top}/SKILL.md is missing", "", ""
    text = skill_md.decode("utf-8", "replace")
    name = _NAME.search(text)
    desc = _DESCRIPTION.search(text)
    if name is None or name.group(1) != top:
        return f"the top folder {top!r} must equal the SKILL.md name", "", ""
    return None, top, desc.group(1).strip() if desc else ""
