"""Artifact files in a local folder, with every path resolved and checked to stay inside it."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path
from typing import BinaryIO

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument
from cairn.store.artifacts.backend import Kind
from cairn.store.artifacts.digest import Digest
from cairn.store.artifacts.local_files import open_regular_file, write_atomically
from cairn.store.artifacts.paths import TEMP_PREFIX, join_key, parent_key, safe_artifact_path


class LocalBackend:
    """A local folder as artifact root.

    Every key is joined to the root, resolved with `os.path.realpath` (following every symlink) and
    refused unless the result is inside the resolved root; the resolved path is the one then used.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, key: str, source: BinaryIO) -> Digest:
        """Stream into a temp file next to the destination, fsync, then rename it into place.

        A symlink at `key` that stays inside the root is replaced by the new file, not written through.
        """
        entry = self._entry(key)
        if entry.is_dir():
            raise InvalidArgument(f"artifact {key!r} is a folder; give a file path")
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise InvalidArgument(f"artifact {key!r}: a parent folder is an existing file") from exc
        self._check_inside(Path(os.path.realpath(entry.parent)), key)
        return write_atomically(entry, source)

    def kind(self, key: str) -> Kind | None:
        """Say whether `key` is a file, a folder, or absent."""
        mode = _mode(self._resolve(key))
        if mode is None:
            return None
        if stat.S_ISDIR(mode):
            return "dir"
        return "file" if stat.S_ISREG(mode) else None

    def children(self, key: str) -> list[ArtifactInfo]:
        """List direct children; entries that resolve outside the root or are not addressable are left out."""
        folder = self._resolve(key)
        if not folder.is_dir():
            return []
        real_root = self._real_root()
        infos = []
        with os.scandir(folder) as entries:
            for entry in entries:
                child = _addressable_key(key, entry.name)
                real = Path(os.path.realpath(entry.path))
                mode = _mode(real)
                if child is None or mode is None or not real.is_relative_to(real_root):
                    continue
                if stat.S_ISDIR(mode):
                    infos.append(ArtifactInfo(path=child, is_dir=True))
                elif stat.S_ISREG(mode):
                    infos.append(ArtifactInfo(path=child, is_dir=False, file_size=real.stat().st_size))
        return sorted(infos, key=lambda info: info.path)

    def files_under(self, key: str) -> list[str]:
        """Walk folder `key` (not following symlinked folders); refuse any entry resolving outside."""
        folder = self._resolve(key)
        real_root = self._real_root()
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in [*dirnames, *filenames]:
                if name.startswith(TEMP_PREFIX):
                    continue
                path = Path(dirpath, name)
                relative = path.relative_to(folder).as_posix()
                child = safe_artifact_path(join_key(key, relative), "stored file")
                if not Path(os.path.realpath(path)).is_relative_to(real_root):
                    raise InvalidArgument(f"artifact {child!r} is a symlink that resolves outside the root")
                if name in filenames and self.kind(child) == "file":
                    keys.append(child)
        return sorted(keys)

    def open(self, key: str) -> BinaryIO:
        """Open the resolved file without following a final symlink."""
        return open_regular_file(self._resolve(key), key)

    def delete(self, key: str) -> None:
        """Remove the file, folder or inside-pointing symlink; the root folder is emptied, not removed."""
        if not key:
            _empty_folder(self._resolve(key))
            return
        entry = self._entry(key)
        try:
            mode = entry.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return
        if stat.S_ISDIR(mode):
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)

    def _real_root(self) -> Path:
        return Path(os.path.realpath(self.root))

    def _resolve(self, key: str) -> Path:
        """Join `key` to the root, resolve symlinks and check the result is inside the root."""
        joined = self.root.joinpath(*key.split("/")) if key else self.root
        real = Path(os.path.realpath(joined))
        self._check_inside(real, key)
        return real

    def _entry(self, key: str) -> Path:
        """Return the un-followed path of `key` in its resolved parent, refusing escaping symlinks."""
        self._resolve(key)
        return self._resolve(parent_key(key)) / key.rpartition("/")[2]

    def _check_inside(self, real: Path, key: str) -> None:
        if not real.is_relative_to(self._real_root()):
            raise InvalidArgument(f"artifact path {key!r} resolves outside the artifact root (symlink)")


def _mode(path: Path) -> int | None:
    """Return the st_mode of `path` (following symlinks), or None when it does not exist."""
    try:
        return path.stat().st_mode
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise


def _empty_folder(folder: Path) -> None:
    """Remove everything inside `folder` without following symlinks; absent is fine."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def _addressable_key(folder: str, name: str) -> str | None:
    """Return the key of child `name`, or None for temp files and names the store would refuse."""
    if name.startswith(TEMP_PREFIX):
        return None
    try:
        return safe_artifact_path(join_key(folder, name))
    except InvalidArgument:
        return None
