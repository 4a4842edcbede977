"""Atomic writes and non-following reads of single local files."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path
from typing import BinaryIO

from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts.digest import Digest, copy_with_digest
from cairn.store.artifacts.paths import TEMP_PREFIX

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
# O_NONBLOCK keeps a FIFO planted in the store from blocking the open; it changes nothing for files.
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def write_atomically(dest: Path, source: BinaryIO) -> Digest:
    """Stream `source` into `dest`: temp file in the same folder, fsync, then rename over `dest`.

    Readers see either the old file or the whole new one; if the copy fails, the temp file is
    removed and `dest` is untouched. The folder must exist.
    """
    temp = dest.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
    fd = os.open(temp, _WRITE_FLAGS, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = copy_with_digest(source, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(dest.parent)
    return digest


def open_regular_file(path: Path, shown: str) -> BinaryIO:
    """Open an already-resolved regular file for reading without following a final symlink.

    Args:
        path: The real path of the file.
        shown: How to name the file in error messages.

    Raises:
        NotFound: if there is no regular file at `path`.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise NotFound(f"artifact {shown!r} does not exist or is not a file") from exc
    except OSError as exc:
        raise InvalidArgument(f"artifact {shown!r} cannot be opened: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotFound(f"artifact {shown!r} is a folder or special file, not a file")
    return os.fdopen(fd, "rb")


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
