"""Artifact files on a remote fsspec file system (S3, GCS, Azure, memory, ...) under one prefix."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, BinaryIO

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts.backend import Kind
from cairn.store.artifacts.digest import Digest, copy_with_digest
from cairn.store.artifacts.paths import safe_artifact_path


class RemoteBackend:
    """Keys are joined to a root prefix with `/`; only non-globbing fsspec calls are used.

    Object stores have no symlinks and no `..`, so the canonical key is the whole check. Calls that
    expand glob patterns (`rm`, `get`, `expand_path`) are avoided so that `*` or `[` in a key is
    always a literal character.
    """

    def __init__(self, fs: Any, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def write(self, key: str, source: BinaryIO) -> Digest:
        """Spool the stream to a local temp file while hashing, then upload it in one put.

        A stream that fails part-way uploads nothing; S3 puts and completed multipart uploads
        replace the object atomically.
        """
        if self.kind(key) == "dir":
            raise InvalidArgument(f"artifact {key!r} is a folder; give a file path")
        fd, spool = tempfile.mkstemp(prefix="cairn-upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest = copy_with_digest(source, out)
            self.fs.put_file(spool, self._path(key))
        except (FileExistsError, NotADirectoryError) as exc:
            raise InvalidArgument(f"artifact {key!r}: a parent folder is an existing file") from exc
        finally:
            os.unlink(spool)
        return digest

    def kind(self, key: str) -> Kind | None:
        """Ask the file system for the type at `key`."""
        path = self._path(key)
        self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        kind = info.get("type")
        if kind == "directory":
            return "dir"
        return "file" if kind == "file" else None

    def children(self, key: str) -> list[ArtifactInfo]:
        """List direct children, leaving out names the store would refuse."""
        path = self._path(key)
        self.fs.invalidate_cache(path)
        try:
            entries = self.fs.ls(path, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        infos = []
        for entry in entries:
            child = self._key_of(entry["name"])
            if child is None or child.rpartition("/")[0] != key or child == key:
                continue
            if entry.get("type") == "directory":
                infos.append(ArtifactInfo(path=child, is_dir=True))
            elif entry.get("type") == "file":
                infos.append(ArtifactInfo(path=child, is_dir=False, file_size=entry.get("size")))
        return sorted(infos, key=lambda info: info.path)

    def files_under(self, key: str) -> list[str]:
        """Return every file key below `key`; a stored name the store would refuse is an error."""
        path = self._path(key)
        self.fs.invalidate_cache(path)
        keys = []
        for name in self.fs.find(path, withdirs=False, detail=False):
            child = self._key_of(name)
            if child is None:
                raise InvalidArgument(f"stored file {name!r} does not have a safe artifact path")
            keys.append(child)
        return sorted(keys)

    def open(self, key: str) -> BinaryIO:
        """Open file `key` for streaming reads."""
        if self.kind(key) != "file":
            raise NotFound(f"artifact {key!r} does not exist or is not a file")
        try:
            stream: BinaryIO = self.fs.open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise NotFound(f"artifact {key!r} does not exist or is not a file") from exc
        return stream

    def delete(self, key: str) -> None:
        """Delete file `key`, or every file below folder `key`, one literal path at a time."""
        kind = self.kind(key)
        if kind is None:
            return
        if kind == "file":
            self.fs.rm_file(self._path(key))
            return
        path = self._path(key)
        for name in self.fs.find(path, withdirs=False, detail=False):
            self.fs.rm_file(name)
        self._remove_empty_folders(path, include_self=bool(key))
        self.fs.invalidate_cache(path)

    def _remove_empty_folders(self, path: str, include_self: bool) -> None:
        """Drop folders left behind on file systems that keep them; the root itself is kept."""
        folders = self.fs.find(path, withdirs=True, detail=True)
        names = [
            name
            for name, info in folders.items()
            if info.get("type") == "directory" and name.rstrip("/").startswith(path + "/")
        ]
        if include_self:
            names.append(path)
        for name in sorted(names, key=len, reverse=True):
            with contextlib.suppress(OSError):
                self.fs.rmdir(name)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _key_of(self, name: str) -> str | None:
        """Return the key for a full file-system path, or None if it is not an addressable child."""
        name = name.rstrip("/")
        if not name.startswith(self.root + "/"):
            return None
        relative = name[len(self.root) + 1 :]
        try:
            canonical = safe_artifact_path(relative)
        except InvalidArgument:
            return None
        return canonical if canonical and canonical == relative else None
