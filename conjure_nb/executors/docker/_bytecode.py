"""Bytecode for the skills' Python modules, made on the host as the skills are copied into a sandbox.

A sandbox sees its skills read-only, so its Python cannot save what it compiles: without this,
every run of a skill's script compiles the modules it imports again (the log analyzer: ~55 ms of
a ~150 ms run over a small input). Where the sandbox's skills are a copy (a warm pool's sandbox,
a remote engine's volume), each `.py` file gets `__pycache__/<name>.<tag>.pyc` beside it, in the
checked-hash form of PEP 552: Python hashes the source and uses the bytecode only when it matches,
whatever the copy's modification time, so an edited module is compiled as before.

The tag is this interpreter's (`cpython-311`): a sandbox Python of another version looks for
another name and compiles as it did. Compiling only parses the source (nothing of it runs on the
host). A file that does not compile, or is over 1 MB, gets no bytecode: the sandbox compiles it
(and reports its errors) itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import sys
import threading
import warnings

__all__ = ["PYCACHE", "bytecode", "pyc_name"]

PYCACHE = "__pycache__"
_TAG = sys.implementation.cache_tag
_CHECKED_HASH = (0b11).to_bytes(4, "little")  # PEP 552 flags: hash-based, checked
_LIMIT = 1024  # compiled modules kept (keyed by their source's digest)
_BIGGEST = 1 << 20  # bytes of source compiled at most
_cache: dict[bytes, bytes | None] = {}
_lock = threading.Lock()


def pyc_name(name: str) -> str | None:
    """The bytecode file's name for the module file `name` (`x.py` -> `x.cpython-311.pyc`), or
    None for a file that is not a Python module or an interpreter without a cache tag."""
    if not name.endswith(".py") or len(name) == 3 or _TAG is None:
        return None
    return f"{name[:-3]}.{_TAG}.pyc"


def bytecode(source: bytes, filename: str) -> bytes | None:
    """The checked-hash `.pyc` contents of a module's source, or None when it does not compile.

    `filename` names the module in compile errors only: Python gives a loaded module its own
    path. Results are remembered by the source's digest, so the skills copied into every sandbox
    are compiled once per process."""
    if len(source) > _BIGGEST:
        return None
    key = hashlib.blake2b(source, digest_size=16).digest()
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            with warnings.catch_warnings():  # a SyntaxWarning is the sandbox's to show, not the host's
                warnings.simplefilter("ignore")
                code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            code = None  # the sandbox's own compile reports it, as before
    found = None
    if code is not None:
        found = importlib.util.MAGIC_NUMBER + _CHECKED_HASH + importlib.util.source_hash(source)
        found += marshal.dumps(code)
    with _lock:
        if len(_cache) >= _LIMIT:
            _cache.clear()
        _cache[key] = found
    return found
