"""Limits of the skills layer, as one mutable settings object with documented defaults.

Change a limit for the whole process with, e.g.,
`conjure_nb.skills._limits.limits.max_extract_files = 50_000`; the functions that apply a limit
also take it as a keyword argument for a single call.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "limits"]

MB = 1024 * 1024


@dataclass
class Limits:
    """The limits in force.

    Attributes:
        max_upload_bytes: total size of a skill folder that strict validation accepts; the hosted
            API documents 8 MB (2025) and 30 MB uncompressed (2026), so this is 30 MB.
        max_extract_bytes: total uncompressed size a `.skill` zip may unpack to (zip bombs).
        max_extract_files: number of entries a `.skill` zip may hold.
        max_depth: how deep `load` looks for skill folders below a root.
    """

    max_upload_bytes: int = 30 * MB
    max_extract_bytes: int = 100 * MB
    max_extract_files: int = 10_000
    max_depth: int = 4


limits = Limits()
