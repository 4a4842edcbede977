"""Parsing artifact root URIs into local folders or fsspec file systems."""

from __future__ import annotations

from pathlib import Path

import pytest

from cairn.errors import InvalidArgument
from cairn.store.artifacts import artifact_store_for
from cairn.store.artifacts.roots import local_root


def test_file_uri_and_plain_path_name_the_same_folder(tmp_path: Path) -> None:
    assert local_root(tmp_path.as_uri()) == tmp_path
    assert local_root(str(tmp_path)) == tmp_path
    assert local_root(f"file://localhost{tmp_path}") == tmp_path
    assert local_root(f"local://{tmp_path}") == tmp_path


def test_file_uri_is_percent_decoded_once(tmp_path: Path) -> None:
    assert local_root(f"file://{tmp_path}/a%20b") == tmp_path / "a b"
    assert local_root(f"file://{tmp_path}/a%2520b") == tmp_path / "a%20b"


def test_relative_path_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert local_root("mlruns") == tmp_path / "mlruns"


def test_remote_schemes_are_not_local() -> None:
    assert local_root("memory://x") is None
    assert local_root("s3://bucket/prefix") is None


@pytest.mark.parametrize(
    "uri",
    [
        "file://host/share/x",
        "file://169.254.169.254/x",
        "file:///tmp/x?query=1",
        "file:///tmp/x#frag",
        "file:relative/path",
    ],
)
def test_bad_file_uris_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument, match="root_uri"):
        artifact_store_for(uri)


@pytest.mark.parametrize("uri", ["", "   ", "nosuchprotocol://x/y", "/tmp/a\x00b"])
def test_bad_roots_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument, match="root_uri"):
        artifact_store_for(uri)


def test_store_over_file_uri_writes_in_that_folder(tmp_path: Path) -> None:
    store = artifact_store_for(f"file://{tmp_path}/with%20space")
    store.log_bytes(b"x", "a.txt")
    assert (tmp_path / "with space" / "a.txt").read_bytes() == b"x"
