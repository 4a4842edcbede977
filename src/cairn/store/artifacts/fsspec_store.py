"""FsspecArtifactStore: the ArtifactStore for local folders and every fsspec file system."""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts.backend import ArtifactBackend
from cairn.store.artifacts.local_files import write_atomically
from cairn.store.artifacts.local_tree import plan_local_tree
from cairn.store.artifacts.paths import join_key, safe_artifact_path
from cairn.store.artifacts.roots import backend_for


class FsspecArtifactStore:
    """Files under one artifact root, addressed by safe relative keys.

    Every path argument goes through `safe_artifact_path` first. On local roots every key is then
    resolved (symlinks followed) and must stay inside the resolved root; writes go through a temp file
    and a rename. On remote roots a write is one upload of a fully hashed local spool file.

    Args:
        root_uri: `file:///abs/path`, a local folder path, or an fsspec URI such as `s3://bucket/prefix`
            or `memory://name`. The root is trusted configuration, not client input.
    """

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri
        self._backend: ArtifactBackend = backend_for(root_uri)

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.root_uri!r})"

    def log_file(self, local_file: str | Path, artifact_path: str | None = None) -> ArtifactInfo:
        """Copy a local file into folder `artifact_path`, keeping its name; atomic.

        Raises:
            NotFound: if `local_file` is not an existing file.
            InvalidArgument: for an unsafe `artifact_path` or file name.
        """
        local = Path(local_file)
        folder = safe_artifact_path(artifact_path, "artifact_path")
        if not local.is_file():
            raise NotFound(f"local_file {str(local)!r} does not exist or is not a file")
        key = safe_artifact_path(join_key(folder, local.name), "local_file")
        with local.open("rb") as source:
            return self._write(key, source)

    def log_bytes(self, data: bytes, artifact_file: str) -> ArtifactInfo:
        """Write `data` as file `artifact_file`; atomic."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgument(f"data must be bytes, got {type(data).__name__}")
        return self._write(self._file_key(artifact_file), io.BytesIO(data))

    def log_stream(self, stream: BinaryIO, artifact_file: str) -> ArtifactInfo:
        """Write a binary stream as file `artifact_file`, reading it in 1 MiB chunks; atomic."""
        return self._write(self._file_key(artifact_file), stream)

    def log_dir(self, local_dir: str | Path, artifact_path: str | None = None) -> list[ArtifactInfo]:
        """Copy every file under `local_dir` into folder `artifact_path`, sorted by path.

        Every entry is checked before anything is written (see `plan_local_tree`).
        """
        folder = safe_artifact_path(artifact_path, "artifact_path")
        planned = plan_local_tree(local_dir)
        keys = [
            safe_artifact_path(join_key(folder, item.relative_key), "local_dir entry") for item in planned
        ]
        infos = []
        for item, key in zip(planned, keys, strict=True):
            with item.source.open("rb") as source:
                infos.append(self._write(key, source))
        return sorted(infos, key=lambda info: info.path)

    def list(self, path: str | None = None) -> list[ArtifactInfo]:
        """List the direct children of folder `path`; [] for a file or a missing folder."""
        return self._backend.children(safe_artifact_path(path))

    def open(self, path: str) -> BinaryIO:
        """Open a file for streaming reads; `NotFound` if it is absent or a folder."""
        key = safe_artifact_path(path)
        if not key:
            raise NotFound("path '' is the artifact root folder, not a file")
        return self._backend.open(key)

    def download(self, path: str | None, dst_dir: str | Path) -> Path:
        """Copy a file or folder to `dst_dir / path` (the whole root to `dst_dir` when None).

        Raises:
            NotFound: if nothing exists at `path`.
        """
        key = safe_artifact_path(path)
        dst = Path(dst_dir)
        kind = self._backend.kind(key)
        if kind is None and key:
            raise NotFound(f"path {key!r} does not exist in the artifact store")
        target = dst.joinpath(*key.split("/")) if key else dst
        if kind == "file":
            self._fetch(key, target)
            return target
        files = self._backend.files_under(key) if kind == "dir" else []
        target.mkdir(parents=True, exist_ok=True)
        for file_key in files:
            self._fetch(file_key, dst.joinpath(*file_key.split("/")))
        return target

    def delete(self, path: str | None = None) -> None:
        """Delete a file or folder (everything when None); nothing there is not an error."""
        self._backend.delete(safe_artifact_path(path))

    def _file_key(self, artifact_file: str) -> str:
        key = safe_artifact_path(artifact_file, "artifact_file")
        if not key:
            raise InvalidArgument("artifact_file must name a file, not the root folder")
        return key

    def _write(self, key: str, source: BinaryIO) -> ArtifactInfo:
        digest = self._backend.write(key, source)
        return ArtifactInfo(path=key, is_dir=False, file_size=digest.size, sha256=digest.sha256)

    def _fetch(self, key: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._backend.open(key) as source:
            write_atomically(target, source)
