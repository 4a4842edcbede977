"""FsspecArtifactStore behaviour on local folders (file:// and plain paths) and memory:// roots."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast

import fsspec
import pytest

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts import FsspecArtifactStore, artifact_store_for
from cairn.store.protocols import ArtifactStore

MIB = 1024 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["file-uri", "plain-path", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FsspecArtifactStore]:
    if request.param == "memory":
        name = f"cairn-test-{uuid.uuid4().hex}"
        yield FsspecArtifactStore(f"memory://{name}/artifacts")
        memory = fsspec.filesystem("memory")
        if memory.exists(f"/{name}"):
            memory.rm(f"/{name}", recursive=True)
        return
    root = tmp_path / "root"
    yield FsspecArtifactStore(root.as_uri() if request.param == "file-uri" else str(root))


def _stored_names(store: FsspecArtifactStore) -> list[str]:
    """Every name physically present under the root, temp files included."""
    root_uri = store.root_uri
    if root_uri.startswith("memory://"):
        memory = fsspec.filesystem("memory")
        prefix = "/" + root_uri.removeprefix("memory://")
        found = memory.find(prefix) if memory.exists(prefix) else []
        return sorted(name[len(prefix) + 1 :] for name in found)
    root = Path(root_uri.removeprefix("file://"))
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class FailingStream(io.RawIOBase):
    """Yields `good` bytes of zeros in 1 MiB reads, then fails like a dropped connection."""

    def __init__(self, good: int) -> None:
        self.remaining = good

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            raise ConnectionResetError("client went away")
        chunk = min(size if size > 0 else MIB, self.remaining)
        self.remaining -= chunk
        return b"\0" * chunk


class CountingStream(io.RawIOBase):
    """A deterministic pseudo-random byte stream of `total` bytes, generated on the fly."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0
        self.hasher = hashlib.sha256()
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.total - self.sent if size < 0 else min(size, self.total - self.sent)
        self.largest_read = max(self.largest_read, size)
        block = hashlib.sha512(str(self.sent).encode()).digest()
        chunk = (block * (size // len(block) + 1))[:size]
        self.sent += size
        self.hasher.update(chunk)
        return chunk


def test_store_satisfies_protocol(store: FsspecArtifactStore) -> None:
    checked: ArtifactStore = store
    assert isinstance(artifact_store_for(store.root_uri), FsspecArtifactStore)
    assert checked.list() == []


def test_log_bytes_round_trip(store: FsspecArtifactStore) -> None:
    info = store.log_bytes(b"hello", "dir/./greeting.txt")
    assert info == ArtifactInfo(path="dir/greeting.txt", is_dir=False, file_size=5, sha256=_sha(b"hello"))
    with store.open("dir/greeting.txt") as stream:
        assert stream.read() == b"hello"
    assert store.list("dir") == [ArtifactInfo("dir/greeting.txt", False, 5)]


def test_overwrite_replaces_content(store: FsspecArtifactStore) -> None:
    store.log_bytes(b"first version", "f.txt")
    info = store.log_bytes(b"second", "f.txt")
    assert info.sha256 == _sha(b"second")
    with store.open("f.txt") as stream:
        assert stream.read() == b"second"


def test_log_file_keeps_name_under_artifact_path(store: FsspecArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "model.bin"
    local.write_bytes(b"\x00\x01weights")
    info = store.log_file(local, "model/")
    assert info == ArtifactInfo("model/model.bin", False, 9, _sha(b"\x00\x01weights"))
    assert store.log_file(str(local)).path == "model.bin"


def test_log_file_missing_names_it(store: FsspecArtifactStore, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(NotFound, match="nope.txt"):
        store.log_file(missing)
    with pytest.raises(NotFound, match="local_file"):
        store.log_file(tmp_path)


def test_log_stream_twenty_megabytes(store: FsspecArtifactStore) -> None:
    source = CountingStream(20 * MIB + 123)
    info = store.log_stream(cast(BinaryIO, source), "big/blob.bin")
    assert info.file_size == 20 * MIB + 123
    assert info.sha256 == source.hasher.hexdigest()
    assert source.largest_read == MIB
    reread = hashlib.sha256()
    with store.open("big/blob.bin") as stream:
        while chunk := stream.read(MIB):
            reread.update(chunk)
    assert reread.hexdigest() == info.sha256


def test_log_file_twenty_megabytes_sha(store: FsspecArtifactStore, tmp_path: Path) -> None:
    local = tmp_path / "data.bin"
    data = os.urandom(20 * MIB)
    local.write_bytes(data)
    info = store.log_file(local, "data")
    assert (info.file_size, info.sha256) == (len(data), _sha(data))


def test_failed_stream_leaves_nothing(store: FsspecArtifactStore) -> None:
    with pytest.raises(ConnectionResetError):
        store.log_stream(cast(BinaryIO, FailingStream(3 * MIB + 7)), "out/partial.bin")
    assert _stored_names(store) == []
    assert store.list("out") == []
    with pytest.raises(NotFound):
        store.open("out/partial.bin")


def test_failed_overwrite_keeps_old_file(store: FsspecArtifactStore) -> None:
    store.log_bytes(b"old", "keep.txt")
    with pytest.raises(ConnectionResetError):
        store.log_stream(cast(BinaryIO, FailingStream(2 * MIB)), "keep.txt")
    with store.open("keep.txt") as stream:
        assert stream.read() == b"old"
    assert _stored_names(store) == ["keep.txt"]


def test_text_stream_is_refused(store: FsspecArtifactStore) -> None:
    with pytest.raises(InvalidArgument, match="binary"):
        store.log_stream(io.StringIO("text"), "t.txt")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="data must be bytes"):
        store.log_bytes("text", "t.txt")  # type: ignore[arg-type]
    assert _stored_names(store) == []


def test_artifact_file_must_name_a_file(store: FsspecArtifactStore) -> None:
    with pytest.raises(InvalidArgument, match="artifact_file"):
        store.log_bytes(b"x", "./")
    store.log_bytes(b"x", "folder/inner.txt")
    with pytest.raises(InvalidArgument, match="folder"):
        store.log_bytes(b"x", "folder")


def _make_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "b.txt").write_bytes(b"bee")
    (src / "a.txt").write_bytes(b"ay")
    (src / "sub" / "c.txt").write_bytes(b"sea")
    (src / "sub" / "deeper" / "d.bin").write_bytes(b"\x00" * 10)
    return src


def test_log_dir_recursive_sorted(store: FsspecArtifactStore, tmp_path: Path) -> None:
    infos = store.log_dir(_make_tree(tmp_path), "run")
    assert infos == [
        ArtifactInfo("run/a.txt", False, 2, _sha(b"ay")),
        ArtifactInfo("run/b.txt", False, 3, _sha(b"bee")),
        ArtifactInfo("run/sub/c.txt", False, 3, _sha(b"sea")),
        ArtifactInfo("run/sub/deeper/d.bin", False, 10, _sha(b"\x00" * 10)),
    ]
    assert [i.path for i in store.log_dir(tmp_path / "src")][0] == "a.txt"


def test_log_dir_missing_or_bad_name(store: FsspecArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="local_dir"):
        store.log_dir(tmp_path / "absent")
    src = _make_tree(tmp_path)
    (src / "sub" / "weird%2e%2e.txt").write_bytes(b"x")
    with pytest.raises(InvalidArgument, match="weird"):
        store.log_dir(src)
    assert _stored_names(store) == []


def test_list_children(store: FsspecArtifactStore, tmp_path: Path) -> None:
    store.log_dir(_make_tree(tmp_path), "run")
    assert store.list() == [ArtifactInfo("run", True)]
    assert store.list("run/") == [
        ArtifactInfo("run/a.txt", False, 2),
        ArtifactInfo("run/b.txt", False, 3),
        ArtifactInfo("run/sub", True),
    ]
    assert store.list("run/sub") == [
        ArtifactInfo("run/sub/c.txt", False, 3),
        ArtifactInfo("run/sub/deeper", True),
    ]
    assert store.list("run/a.txt") == []
    assert store.list("missing/folder") == []


def test_open_missing_or_folder(store: FsspecArtifactStore) -> None:
    store.log_bytes(b"x", "d/f.txt")
    for path in ("d/nope.txt", "d", "", "nope/deeper.txt"):
        with pytest.raises(NotFound):
            store.open(path)


def test_download_file_folder_and_root(store: FsspecArtifactStore, tmp_path: Path) -> None:
    store.log_dir(_make_tree(tmp_path), "run")
    dst = tmp_path / "dst"
    got = store.download("run/sub/c.txt", dst / "one")
    assert got == dst / "one" / "run" / "sub" / "c.txt"
    assert got.read_bytes() == b"sea"
    folder = store.download("run/sub", dst / "two")
    assert folder == dst / "two" / "run" / "sub"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "c.txt",
        "deeper/d.bin",
    ]
    whole = store.download(None, dst / "three")
    assert whole == dst / "three"
    assert (whole / "run" / "sub" / "deeper" / "d.bin").read_bytes() == b"\x00" * 10
    assert not list(dst.rglob(".cairn-tmp-*"))


def test_download_missing(store: FsspecArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nothing/here"):
        store.download("nothing/here", tmp_path / "dst")
    assert store.download(None, tmp_path / "empty") == tmp_path / "empty"
    assert list((tmp_path / "empty").iterdir()) == []


def test_delete_file_folder_root(store: FsspecArtifactStore, tmp_path: Path) -> None:
    store.log_dir(_make_tree(tmp_path), "run")
    store.log_bytes(b"x", "other.txt")
    store.delete("run/a.txt")
    assert "run/a.txt" not in _stored_names(store)
    store.delete("run/sub")
    assert store.list("run") == [ArtifactInfo("run/b.txt", False, 3)]
    store.delete("does/not/exist")
    store.delete()
    assert store.list() == []
    assert _stored_names(store) == []
    store.log_bytes(b"again", "again.txt")
    assert store.list() == [ArtifactInfo("again.txt", False, 5)]


BAD_PATHS = [
    "../x",
    "..\\x",
    "/etc/passwd",
    "//proc/self/root",
    "file:/etc/passwd",
    "a%2f..%2f..",
    "a?b",
    "a#b",
    "a;b",
    "%252f",
    "C:\\x",
    "a\x00b",
]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_every_operation_refuses_bad_paths(store: FsspecArtifactStore, tmp_path: Path, bad: str) -> None:
    local = tmp_path / "f.txt"
    local.write_bytes(b"x")
    calls: list[Callable[[], object]] = [
        lambda: store.log_bytes(b"x", bad),
        lambda: store.log_stream(io.BytesIO(b"x"), bad),
        lambda: store.log_file(local, bad),
        lambda: store.log_dir(tmp_path, bad),
        lambda: store.list(bad),
        lambda: store.open(bad),
        lambda: store.download(bad, tmp_path / "dst"),
        lambda: store.delete(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument, match="not a safe artifact path"):
            call()
    assert _stored_names(store) == []
    assert not (tmp_path / "dst").exists()


def test_glob_characters_are_literal(store: FsspecArtifactStore) -> None:
    store.log_bytes(b"star", "a*")
    store.log_bytes(b"plain", "ab")
    store.log_bytes(b"bracket", "[a]b")
    assert [i.path for i in store.list()] == ["[a]b", "a*", "ab"]
    with store.open("[a]b") as stream:
        assert stream.read() == b"bracket"
    store.delete("a*")
    store.delete("[a]b")
    assert [i.path for i in store.list()] == ["ab"]


def test_open_supports_partial_reads(store: FsspecArtifactStore) -> None:
    store.log_bytes(b"0123456789", "s.bin")
    stream: BinaryIO = store.open("s.bin")
    try:
        assert stream.read(4) == b"0123"
        assert stream.read() == b"456789"
    finally:
        stream.close()


def test_local_streaming_never_holds_the_file(tmp_path: Path) -> None:
    store = FsspecArtifactStore(str(tmp_path / "root"))
    tracemalloc.start()
    try:
        info = store.log_stream(cast(BinaryIO, CountingStream(20 * MIB)), "big.bin")
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        store.download("big.bin", tmp_path / "dst")
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.file_size == 20 * MIB
    assert write_peak < 6 * MIB
    assert download_peak < 4 * MIB
    assert _sha((tmp_path / "dst" / "big.bin").read_bytes()) == info.sha256
