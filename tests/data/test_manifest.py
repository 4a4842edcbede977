"""Dataset manifests: canonical JSON, sorted files, and refusal of malformed input."""

from __future__ import annotations

import json

import pytest

from cairn.data.manifest import DataFile, Manifest
from cairn.errors import InvalidArgument

A = DataFile("part/a.parquet", "a" * 64, 10, "parquet")
B = DataFile("b.parquet", "b" * 64, 20, "parquet")


def test_manifest_sorts_files_and_serialises_canonically() -> None:
    one = Manifest((A, B), "copy", "/data")
    other = Manifest((B, A), "copy", "/data")
    assert [f.path for f in one.files] == ["b.parquet", "part/a.parquet"]
    assert one.to_json() == other.to_json() and one.digest() == other.digest()
    assert json.loads(one.to_json())["files"][0] == {
        "path": "b.parquet",
        "digest": "b" * 64,
        "size": 20,
        "format": "parquet",
    }
    assert one.total_size == 30
    assert Manifest.from_json(one.to_json()) == one
    assert Manifest((A,), "copy", "/data").digest() != one.digest()


def test_reference_manifest_keeps_locations() -> None:
    locations = {"part/a.parquet": "/src/part/a.parquet", "b.parquet": "/src/b.parquet"}
    manifest = Manifest((A, B), "reference", "/src", locations)
    assert Manifest.from_json(manifest.to_json()).locations == locations
    with pytest.raises(InvalidArgument, match="no location for file 'part/a.parquet'"):
        Manifest((A, B), "reference", "/src", {"b.parquet": "/src/b.parquet"})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DataFile("../x.csv", "a" * 64, 1, "csv"), "must not contain '..'"),
        (lambda: DataFile("/abs.csv", "a" * 64, 1, "csv"), "relative path"),
        (lambda: DataFile("x.csv", "XYZ", 1, "csv"), "64 lower-case hex"),
        (lambda: DataFile("x.csv", "a" * 64, -1, "csv"), "size of manifest file 'x.csv'"),
        (lambda: Manifest((A, A), "copy", "s"), "lists file 'part/a.parquet' twice"),
        (lambda: Manifest((A,), "move", "s"), "'copy' or 'reference', not 'move'"),
    ],
)
def test_malformed_parts_are_refused(make: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "manifest_version 1"),
        (b'{"manifest_version": 1, "storage": "copy"}', "missing or mistypes field 'files'"),
        (b'{"manifest_version": 1, "storage": "copy", "source": "s", "files": [{"path": "a"}]}', "'digest'"),
    ],
)
def test_from_json_refuses_what_is_not_a_manifest(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        Manifest.from_json(data)
