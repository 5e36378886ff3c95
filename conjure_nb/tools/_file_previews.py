"""Previews of files on disk (created by tools or given by path), each with a download link.

A `Response` shows the files its turn created with these, and `cj.show` shows any file with them.

A created file lives in a session's working dir, where a tool (or a sandbox) may have planted a
symlink: it is opened beneath that dir without following any link (`display.beneath.open_in`), and
a planted link is refused with a line naming the file. A path given by the person is theirs and is
opened as given. Either way the file is opened once and the preview reads that open file
(`display.previews`), with its caps checked before anything parses it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

from ..display._beneath import open_in
from ..display._html import error_box, esc, note
from ..display._previews import FileOptions, opened_file_html
from ._data import CreatedFile

__all__ = ["FileOptions", "file_html", "files_html", "open_created"]


def open_created(file: CreatedFile) -> IO[bytes]:
    """The created file, opened beneath its working dir (known from `path` minus `filename`),
    no link followed.

    Raises:
        OSError: a link on the way (`LinkRefused`, naming the file), gone, not a regular file.
    """
    path = file.path or ""
    if not path.endswith("/" + file.filename):
        raise PermissionError(
            f"{file.filename}: its recorded path {path!r} does not end with its name; not opened"
        )
    root = path[: -len(file.filename) - 1] or "/"
    return os.fdopen(open_in(root, file.filename), "rb")


def _open_given(path: Path) -> IO[bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(f"{path} is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _open(item: CreatedFile | str | os.PathLike[str], root: Path | None) -> IO[bytes]:
    if isinstance(item, CreatedFile):
        return open_created(item)
    if root is not None:
        return os.fdopen(open_in(root, item), "rb")
    return _open_given(Path(item))


def file_html(
    item: CreatedFile | str | os.PathLike[str], opts: FileOptions | None = None, root: Path | None = None
) -> str:
    """One file: its name and size, a preview where the type allows, and a download link.

    Args:
        root: the working dir a path lies in (a `MonitoringResult`'s reports): the file is opened
            beneath it without following links. A created file knows its own.
    """
    opts = opts or FileOptions()
    if isinstance(item, CreatedFile):
        if item.path is None:
            return f"<h4>{esc(item.filename)}</h4>" + note(
                f"hosted file {item.file_id}: download it with session.download_files(dir)"
            )
        label, where = item.filename, item.path
    else:
        label, where = Path(item).name, os.fspath(item)
    try:
        f = _open(item, root)
    except FileNotFoundError:
        return error_box(f"{label}: no such file", note(where))
    except OSError as exc:
        return error_box(f"{label}: not opened", note(str(exc)))
    with f:
        return opened_file_html(f, label, where, opts)


def files_html(
    files: list[CreatedFile] | list[Path], opts: FileOptions | None = None, root: Path | None = None
) -> str:
    if not files:
        return note("no files")
    return "".join(file_html(f, opts, root) for f in files)
