"""The hosted layer: Anthropic's Skills API and Files API, and reading hosted replies.

`HostedClient` is usable on its own (list/get/upload/new version/delete custom skills; file
metadata/download/list/delete). The session's anthropic backend
(`cj.Session.new_anthropic`, in `conjure_nb.executors._anthropic`) builds on it.
"""

from ._adapter import FileInfo, SkillInfo, VersionInfo, file_info, safe_filename, skill_info, version_info
from ._blocks import ServerCall, file_ids, server_calls
from ._client import FILES_BETA, SKILLS_BETA, HostedClient
from ._model import HostedModel, HostedSettings, HostedWarning, SkillRef
from ._upload import upload_files

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
