"""Content-addressed storage of dataset files: de-duplicated uploads, verified fetches, purge, S3."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cairn.data.content_store import ContentStore, blob_key, materialise_table
from cairn.data.digests import table_digest
from cairn.data.hash_cache import digest_local_files
from cairn.data.manifest import DataFile, Manifest
from cairn.errors import Conflict, InvalidArgument, NotFound
from cairn.store.artifacts import artifact_store_for
from cairn.store.sql.store import SqlStore
from moto_server import MotoS3


@pytest.fixture
def sql_store(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'meta.db'}", (tmp_path / "artifacts").as_uri())
    yield store
    store.close()


@pytest.fixture
def content(sql_store: SqlStore, tmp_path: Path) -> ContentStore:
    return ContentStore(artifact_store_for(str(tmp_path / "blobs-root")), sql_store, tmp_path / "read-cache")


def _files(folder: Path, count: int) -> list[tuple[str, str, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for index in range(count):
        data = f"row,{index}\n".encode() * (index + 1)
        (folder / f"f{index}.csv").write_bytes(data)
        out.append((str(folder / f"f{index}.csv"), hashlib.sha256(data).hexdigest(), len(data)))
    return out


class CountingBlobIndex:
    """A BlobIndex over a dict that notes the size of every existence check (a protocol test double)."""

    def __init__(self) -> None:
        self.stored: dict[str, int] = {}
        self.checks: list[int] = []

    def missing_dataset_blobs(self, digests: Sequence[str]) -> set[str]:
        self.checks.append(len(digests))
        return {d for d in digests if d not in self.stored}

    def record_dataset_blobs(self, blobs: Sequence[tuple[str, int]]) -> None:
        self.stored.update(blobs)


def test_blob_keys_fan_out_by_digest_prefix() -> None:
    digest = "ab" + "0" * 62
    assert blob_key(digest) == f"blobs/ab/{digest}"
    with pytest.raises(InvalidArgument, match="blob digest"):
        blob_key("../../etc/passwd")


def test_same_content_is_stored_once_and_only_new_files_upload(content: ContentStore, tmp_path: Path) -> None:
    files = _files(tmp_path / "v1", 5)
    assert content.put_files(files) == sum(size for _, _, size in files)
    assert content.put_files(files) == 0  # logged again: nothing uploaded
    copy = tmp_path / "elsewhere.csv"
    copy.write_bytes(Path(files[0][0]).read_bytes())
    assert content.put_files([(str(copy), files[0][1], files[0][2])]) == 0  # same bytes, other name
    changed = _files(tmp_path / "v2", 6)[5:]  # one new file in a new version
    assert content.put_files([*files, *changed]) == changed[0][2]
    root = tmp_path / "blobs-root" / "blobs"
    stored = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert stored == sorted(d for _, d, _ in [*files, *changed])


def test_existence_is_checked_in_batches_of_900(tmp_path: Path) -> None:
    index = CountingBlobIndex()
    store = ContentStore(artifact_store_for(str(tmp_path / "root")), index, tmp_path / "cache")
    files = _files(tmp_path / "many", 950)
    uploaded = store.put_files(files + files[:10])  # repeats count once
    assert index.checks == [900, 50]
    assert uploaded == sum(size for _, _, size in files) and len(index.stored) == 950


def test_fetch_verifies_and_caches_blobs(content: ContentStore, tmp_path: Path) -> None:
    files = _files(tmp_path / "v", 2)
    content.put_files(files)
    path, digest, _ = files[1]
    cached = content.cache_path(digest)
    assert cached == tmp_path / "read-cache" / digest[:2] / digest
    assert cached.read_bytes() == Path(path).read_bytes()
    fetched = content.fetch(digest, tmp_path / "out" / "copy.csv")
    assert fetched.read_bytes() == Path(path).read_bytes()
    assert content.fetch_many([files[0][1], digest, digest]) == {
        files[0][1]: tmp_path / "read-cache" / files[0][1][:2] / files[0][1],
        digest: cached,
    }


def test_corrupt_blob_is_refused_and_nothing_is_written(content: ContentStore, tmp_path: Path) -> None:
    files = _files(tmp_path / "v", 1)
    content.put_files(files)
    digest = files[0][1]
    (tmp_path / "blobs-root" / blob_key(digest)).write_bytes(b"tampered")
    with pytest.raises(Conflict, match=f"blob 'blobs/{digest[:2]}/{digest}' is corrupt"):
        content.cache_path(digest)
    assert [p for p in (tmp_path / "read-cache").rglob("*") if p.is_file()] == []


def test_missing_blob_is_not_found(content: ContentStore) -> None:
    with pytest.raises(NotFound, match="is not in the content store"):
        content.cache_path("0" * 64)


def test_file_changed_after_hashing_is_refused(content: ContentStore, tmp_path: Path) -> None:
    (path, digest, size) = _files(tmp_path / "v", 1)[0]
    Path(path).write_bytes(b"something else")
    with pytest.raises(Conflict, match="changed since it was hashed"):
        content.put_files([(path, digest, size)])
    assert not (tmp_path / "blobs-root" / blob_key(digest)).exists()
    assert content.blobs.missing_dataset_blobs([digest]) == {digest}


def test_put_bytes_and_read_back_a_manifest(content: ContentStore) -> None:
    manifest = Manifest(
        files=(DataFile("b.csv", "b" * 64, 3, "csv"), DataFile("a.csv", "a" * 64, 2, "csv")),
        storage="copy",
        source="/data",
    )
    digest = content.put_bytes(manifest.to_json())
    assert digest == manifest.digest() == content.put_bytes(manifest.to_json())
    again = Manifest.from_json(content.read_bytes(digest))
    assert again == manifest and [f.path for f in again.files] == ["a.csv", "b.csv"]


def test_delete_purges_store_and_read_cache(content: ContentStore, tmp_path: Path) -> None:
    files = _files(tmp_path / "v", 2)
    content.put_files(files)
    cached = content.cache_path(files[0][1])
    content.delete([files[0][1], "f" * 64])
    assert not cached.exists() and not (tmp_path / "blobs-root" / blob_key(files[0][1])).exists()
    assert content.cache_path(files[1][1]).is_file()
    with pytest.raises(NotFound):
        content.fetch(files[0][1], tmp_path / "x")


def test_materialise_table_writes_parquet_once(tmp_path: Path) -> None:
    table = pa.table({"a": list(range(1000)), "b": ["x"] * 1000})
    written = materialise_table(table, tmp_path)
    path, digest, size = written
    assert path.parent == tmp_path and path.suffix == ".parquet" and size == path.stat().st_size
    assert digest == digest_local_files([path]).digests[0]
    assert pq.read_table(path).equals(table)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert table_digest(pq.read_table(path)) == table_digest(table)


def test_put_and_fetch_through_s3(s3_bucket: str, moto_s3: MotoS3, tmp_path: Path) -> None:
    index = CountingBlobIndex()
    store = ContentStore(artifact_store_for(f"s3://{s3_bucket}/datasets"), index, tmp_path / "cache")
    files = _files(tmp_path / "v", 3)
    assert store.put_files(files) == sum(size for _, _, size in files)
    assert moto_s3.keys(s3_bucket) == sorted(f"datasets/{blob_key(d)}" for _, d, _ in files)
    fetched = store.cache_path(files[2][1])
    assert fetched.read_bytes() == Path(files[2][0]).read_bytes()
    store.delete([files[0][1]])
    assert moto_s3.keys(s3_bucket) == sorted(f"datasets/{blob_key(d)}" for _, d, _ in files[1:])


def test_folder_round_trip_through_the_content_store(content: ContentStore, tmp_path: Path) -> None:
    from cairn.data.hash_cache import HashCache, digest_source_files
    from cairn.data.sources import SourceFile, open_tabular, resolve_source

    for index in range(3):
        (tmp_path / "src" / f"day={index}").mkdir(parents=True)
        pq.write_table(pa.table({"v": [index, index * 10]}), tmp_path / "src" / f"day={index}" / "p.parquet")
    resolved = resolve_source(tmp_path / "src")
    with HashCache(tmp_path / "hashes.sqlite") as cache:
        digests = digest_source_files(resolved.files, cache)
    content.put_files([(f.location, d, f.size) for f, d in zip(resolved.files, digests, strict=True)])
    manifest = Manifest(
        tuple(DataFile(f.name, d, f.size, f.format) for f, d in zip(resolved.files, digests, strict=True)),
        "copy",
        resolved.source,
    )
    stored = Manifest.from_json(content.read_bytes(content.put_bytes(manifest.to_json())))
    paths = content.fetch_many([f.digest for f in stored.files])
    files = [SourceFile(str(paths[f.digest]), f.path, f.size, f.format) for f in stored.files]
    table = open_tabular(files).to_table()
    assert sorted(table.column("v").to_pylist()) == [0, 0, 1, 2, 10, 20]
