"""Content-addressed storage of dataset files in the artifact store, with a verified local read cache."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

from cairn._internal.dataset_validation import validate_digest
from cairn.data.digests import bytes_digest, file_digest
from cairn.errors import Conflict, NotFound
from cairn.store.protocols import ArtifactStore

if TYPE_CHECKING:
    import pyarrow as pa

DATA_CACHE_ENV = "CAIRN_DATA_CACHE"
EXISTS_BATCH = 900
TRANSFER_WORKERS = 4
COPY_CHUNK = 1024 * 1024


class BlobIndex(Protocol):
    """Which blobs the store holds, asked and recorded in batches (SqlStore and RestStore provide it)."""

    def missing_dataset_blobs(self, digests: Sequence[str]) -> set[str]:
        """The digests among these that are not recorded as stored."""
        ...

    def record_dataset_blobs(self, blobs: Sequence[tuple[str, int]]) -> None:
        """Record (digest, size) pairs as stored."""
        ...


def blob_key(digest: str) -> str:
    """The artifact path of a blob: `blobs/<first two hex digits>/<digest>`."""
    validate_digest(digest, "blob digest")
    return f"blobs/{digest[:2]}/{digest}"


def default_cache_dir() -> Path:
    """`$CAIRN_DATA_CACHE`, else ~/.cache/cairn/data (or under `$XDG_CACHE_HOME`)."""
    configured = os.environ.get(DATA_CACHE_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cairn" / "data"


class ContentStore:
    """Dataset files stored once per content under `blobs/`, whatever their names or how often logged.

    Args:
        artifact_store: Where blobs live (a local folder, S3, ... or a server's artifact proxy).
        blobs: The record of which blobs are stored, so existence is checked in batches, not per file.
        cache_dir: The local read cache; default `default_cache_dir()`.
    """

    def __init__(
        self, artifact_store: ArtifactStore, blobs: BlobIndex, cache_dir: str | Path | None = None
    ) -> None:
        self.artifact_store = artifact_store
        self.blobs = blobs
        self.cache_dir = (Path(cache_dir) if cache_dir is not None else default_cache_dir()).absolute()

    def put_files(self, files: Sequence[tuple[str | Path, str, int]]) -> int:
        """Store local files, given as (path, digest, size), uploading only blobs not stored yet.

        Existence is asked 900 digests at a time; missing blobs upload in a few threads and are recorded
        after each batch. Returns the bytes uploaded.

        Raises:
            Conflict: naming a file whose bytes no longer match its digest (it changed since hashing).
        """
        unique = list({validate_digest(d, f"digest of {str(p)!r}"): (p, d, s) for p, d, s in files}.values())
        uploaded = 0
        for start in range(0, len(unique), EXISTS_BATCH):
            chunk = unique[start : start + EXISTS_BATCH]
            missing = self.blobs.missing_dataset_blobs([d for _, d, _ in chunk])
            todo = [item for item in chunk if item[1] in missing]
            with ThreadPoolExecutor(max_workers=TRANSFER_WORKERS) as pool:
                list(pool.map(self._upload, todo))
            self.blobs.record_dataset_blobs([(d, s) for _, d, s in todo])
            uploaded += sum(s for _, _, s in todo)
        return uploaded

    def _upload(self, item: tuple[str | Path, str, int]) -> None:
        path, digest, _ = item
        key = blob_key(digest)
        with open(path, "rb") as stream:
            info = self.artifact_store.log_stream(stream, key)
        if info.sha256 is not None and info.sha256 != digest:
            self.artifact_store.delete(key)
            raise Conflict(f"file {str(path)!r} changed since it was hashed (expected digest {digest[:12]})")

    def put_bytes(self, data: bytes) -> str:
        """Store `data` as a blob (once) and return its digest."""
        digest = bytes_digest(data)
        if self.blobs.missing_dataset_blobs([digest]):
            self.artifact_store.log_bytes(data, blob_key(digest))
            self.blobs.record_dataset_blobs([(digest, len(data))])
        return digest

    def cache_path(self, digest: str) -> Path:
        """The blob's local copy in the read cache, fetched and verified on first use.

        Raises:
            NotFound: if the store has no blob with this digest.
            Conflict: naming the blob, if the stored bytes do not match the digest.
        """
        target = self.cache_dir / digest[:2] / digest
        validate_digest(digest, "blob digest")
        if not target.is_file():
            self.fetch(digest, target)
        return target

    def fetch_many(self, digests: Sequence[str]) -> dict[str, Path]:
        """Local cache paths of several blobs, fetched in a few threads."""
        unique = list(dict.fromkeys(digests))
        with ThreadPoolExecutor(max_workers=TRANSFER_WORKERS) as pool:
            return dict(zip(unique, pool.map(self.cache_path, unique), strict=True))

    def read_bytes(self, digest: str) -> bytes:
        """A (small) blob's bytes, through the read cache."""
        return self.cache_path(digest).read_bytes()

    def fetch(self, digest: str, dst_path: str | Path) -> Path:
        """Copy a blob to `dst_path` atomically, verifying its digest; returns the path.

        Raises:
            NotFound: if the store has no blob with this digest.
            Conflict: naming the blob, if its bytes do not match the digest (nothing is written).
        """
        key = blob_key(digest)
        target = Path(dst_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        try:
            actual = self._copy_blob(key, digest, partial)
            if actual != digest:
                raise Conflict(f"blob {key!r} is corrupt: its content has digest {actual}, not {digest}")
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target

    def _copy_blob(self, key: str, digest: str, partial: Path) -> str:
        """Copy the blob at `key` to `partial`; return the digest of the bytes copied."""
        hasher = hashlib.sha256()
        try:
            source = self.artifact_store.open(key)
        except NotFound:
            raise NotFound(f"blob {digest} is not in the content store (looked for {key!r})") from None
        with source, partial.open("wb") as sink:
            while chunk := source.read(COPY_CHUNK):
                hasher.update(chunk)
                sink.write(chunk)
        return hasher.hexdigest()

    def delete(self, digests: Sequence[str]) -> None:
        """Delete blobs from the store and from the local read cache (purge); unknown ones are ignored."""
        for digest in dict.fromkeys(digests):
            self.artifact_store.delete(blob_key(digest))
            (self.cache_dir / digest[:2] / digest).unlink(missing_ok=True)


class MaterialisedTable(NamedTuple):
    """An in-memory table written as a Parquet file: its path, the file's digest and size."""

    path: Path
    digest: str
    size: int


def materialise_table(table: pa.Table, folder: str | Path | None = None) -> MaterialisedTable:
    """Write a table once as a zstd Parquet file (in `folder`, default the temp folder) and digest it.

    The stored blob is this file; the version's digest stays the canonical table digest (see digests.py).
    The caller removes the file when done.
    """
    import pyarrow.parquet as pq

    handle, name = tempfile.mkstemp(prefix="table-", suffix=".parquet", dir=folder)
    os.close(handle)
    path = Path(name)
    try:
        pq.write_table(table, path, compression="zstd")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return MaterialisedTable(path, file_digest(path), path.stat().st_size)
