"""Symlink escapes on local artifact roots: nothing outside the root is read, listed or written."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cairn.entities import ArtifactInfo
from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts import FsspecArtifactStore


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"top secret")
    return folder


@pytest.fixture
def root(tmp_path: Path, outside: Path) -> Path:
    """A store root holding one real file, links that escape, and links that stay inside."""
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "data.txt").write_bytes(b"data")
    (root / "escape_dir").symlink_to(outside, target_is_directory=True)
    (root / "escape_file").symlink_to(outside / "secret.txt")
    (root / "dangling").symlink_to(outside / "not-yet.txt")
    (root / "sneaky").symlink_to("real/../../outside/secret.txt")
    (root / "alias.txt").symlink_to("real/data.txt")
    (root / "alias_dir").symlink_to("real", target_is_directory=True)
    return root


@pytest.fixture
def store(root: Path) -> FsspecArtifactStore:
    return FsspecArtifactStore(root.as_uri())


ESCAPING = ["escape_dir", "escape_dir/secret.txt", "escape_file", "dangling", "sneaky"]


def _outside_untouched(outside: Path) -> None:
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"top secret"


@pytest.mark.parametrize("path", ESCAPING)
def test_read_through_escaping_link_refused(store: FsspecArtifactStore, path: str) -> None:
    with pytest.raises(InvalidArgument, match="outside the artifact root"):
        store.open(path)


def test_list_refuses_escaping_folder_and_hides_escaping_entries(store: FsspecArtifactStore) -> None:
    with pytest.raises(InvalidArgument, match="outside"):
        store.list("escape_dir")
    assert store.list() == [
        ArtifactInfo("alias.txt", False, 4),
        ArtifactInfo("alias_dir", True),
        ArtifactInfo("real", True),
    ]


@pytest.mark.parametrize("path", [*ESCAPING, None, "."])
def test_download_refuses_escapes_and_writes_nothing(
    store: FsspecArtifactStore, tmp_path: Path, outside: Path, path: str | None
) -> None:
    dst = tmp_path / "dst"
    with pytest.raises(InvalidArgument, match="outside"):
        store.download(path, dst)
    assert not dst.exists() or not any(dst.rglob("*"))
    _outside_untouched(outside)


@pytest.mark.parametrize(
    "path", ["escape_dir/new.txt", "escape_dir/deeper/new.txt", "escape_file", "dangling", "sneaky"]
)
def test_write_through_escaping_link_refused(store: FsspecArtifactStore, outside: Path, path: str) -> None:
    with pytest.raises(InvalidArgument, match="outside"):
        store.log_bytes(b"pwned", path)
    with pytest.raises(InvalidArgument, match="outside"):
        store.log_stream(io.BytesIO(b"pwned"), path)
    _outside_untouched(outside)
    assert not (outside / "deeper").exists()
    assert not (outside / "not-yet.txt").exists()


@pytest.mark.parametrize("path", ["escape_dir", "escape_dir/secret.txt", "escape_file"])
def test_delete_through_escaping_link_refused(store: FsspecArtifactStore, outside: Path, path: str) -> None:
    with pytest.raises(InvalidArgument, match="outside"):
        store.delete(path)
    _outside_untouched(outside)


def test_delete_root_removes_links_not_targets(store: FsspecArtifactStore, root: Path, outside: Path) -> None:
    store.delete()
    assert list(root.iterdir()) == []
    _outside_untouched(outside)


def test_links_inside_the_root_work(store: FsspecArtifactStore, root: Path) -> None:
    with store.open("alias.txt") as stream:
        assert stream.read() == b"data"
    assert store.list("alias_dir") == [ArtifactInfo("alias_dir/data.txt", False, 4)]
    store.log_bytes(b"via alias dir", "alias_dir/new.txt")
    assert (root / "real" / "new.txt").read_bytes() == b"via alias dir"


def test_writing_an_inside_link_replaces_the_link(store: FsspecArtifactStore, root: Path) -> None:
    store.log_bytes(b"new", "alias.txt")
    assert not (root / "alias.txt").is_symlink()
    assert (root / "alias.txt").read_bytes() == b"new"
    assert (root / "real" / "data.txt").read_bytes() == b"data"


def test_deleting_an_inside_link_removes_only_the_link(store: FsspecArtifactStore, root: Path) -> None:
    store.delete("alias.txt")
    store.delete("alias_dir")
    assert not (root / "alias.txt").exists()
    assert not (root / "alias_dir").exists()
    assert (root / "real" / "data.txt").read_bytes() == b"data"


def test_root_that_is_itself_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real-root"
    real.mkdir()
    link = tmp_path / "link-root"
    link.symlink_to(real, target_is_directory=True)
    store = FsspecArtifactStore(str(link))
    store.log_bytes(b"ok", "a/b.txt")
    assert (real / "a" / "b.txt").read_bytes() == b"ok"
    assert store.list("a") == [ArtifactInfo("a/b.txt", False, 2)]


def test_fifo_is_not_opened_or_listed(store: FsspecArtifactStore, root: Path) -> None:
    os.mkfifo(root / "real" / "pipe")
    with pytest.raises(NotFound, match="pipe"):
        store.open("real/pipe")
    assert [i.path for i in store.list("real")] == ["real/data.txt"]


def test_temp_files_are_never_listed_or_readable(store: FsspecArtifactStore, root: Path) -> None:
    (root / "real" / ".cairn-tmp-0123abcd").write_bytes(b"half-written")
    assert [i.path for i in store.list("real")] == ["real/data.txt"]
    with pytest.raises(InvalidArgument):
        store.open("real/.cairn-tmp-0123abcd")


def _source_with(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "a.txt").write_bytes(b"a")
    (src / "z.txt").write_bytes(b"z")
    return src


@pytest.mark.parametrize("kind", ["file", "folder", "relative"])
def test_log_dir_refuses_links_leaving_the_source(tmp_path: Path, outside: Path, kind: str) -> None:
    src = _source_with(tmp_path)
    link = src / "inner" / "leak"
    if kind == "file":
        link.symlink_to(outside / "secret.txt")
    elif kind == "folder":
        link.symlink_to(outside, target_is_directory=True)
    else:
        link.symlink_to("../../outside/secret.txt")
    store = FsspecArtifactStore(str(tmp_path / "store"))
    with pytest.raises(InvalidArgument, match="leak"):
        store.log_dir(src, "run")
    assert store.list() == []
    assert not (tmp_path / "store").exists()


def test_log_dir_copies_inside_file_links_as_files(tmp_path: Path) -> None:
    src = _source_with(tmp_path)
    (src / "copy.txt").symlink_to("inner/a.txt")
    (src / "inner_again").symlink_to("inner", target_is_directory=True)
    store = FsspecArtifactStore(str(tmp_path / "store"))
    infos = store.log_dir(src)
    assert [i.path for i in infos] == ["copy.txt", "inner/a.txt", "z.txt"]
    copied = tmp_path / "store" / "copy.txt"
    assert not copied.is_symlink()
    assert copied.read_bytes() == b"a"
