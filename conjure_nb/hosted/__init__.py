"""The hosted layer: Anthropic's Skills API and Files API, and reading hosted replies.

`HostedClient` is usable on its own (list/get/upload/new version/delete custom skills; file
metadata/download/list/delete). The session's anthropic backend
(`cj.Session.new_anthropic`, in `conjure_nb.executors.anthropic`) builds on it.
"""

from .adapter import FileInfo, SkillInfo, VersionInfo, file_info, safe_filename, skill_info, version_info
from .blocks import ServerCall, file_ids, server_calls
from .client import FILES_BETA, SKILLS_BETA, HostedClient
from .model import HostedModel, HostedSettings, HostedWarning, SkillRef
from .upload import upload_files

__all__ = [
    "FILES_BETA",
    "SKILLS_BETA",
    "FileInfo",
    "HostedClient",
    "HostedModel",
    "HostedSettings",
    "HostedWarning",
    "ServerCall",
    "SkillInfo",
    "SkillRef",
    "VersionInfo",
    "file_ids",
    "file_info",
    "safe_filename",
    "server_calls",
    "skill_info",
    "upload_files",
    "version_info",
]
