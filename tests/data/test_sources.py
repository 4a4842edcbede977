"""Resolving log_dataset sources (DataFrames, tables, paths, URIs) and reading files as one lazy Dataset."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from cairn.data.formats import format_of
from cairn.data.sources import SourceFile, open_tabular, resolve_source, tabular_of
from cairn.errors import InvalidArgument, NotFound


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_in_memory_frames_become_tables() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[10, 20])
    resolved = resolve_source(frame)
    assert (resolved.kind, resolved.source, resolved.source_type) == ("table", "pandas.DataFrame", "pandas")
    assert resolved.table is not None and resolved.table.column_names == ["a", "b"]  # index dropped
    polars = resolve_source(pl.DataFrame({"a": [1, 2]}))
    assert polars.source_type == "polars" and polars.table is not None
    assert polars.table.to_pydict() == {"a": [1, 2]}
    table = pa.table({"a": [1]})
    arrow = resolve_source(table)
    assert arrow.table is table and arrow.source_type == "pyarrow" and arrow.files == []


def test_unsupported_objects_and_empty_paths_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="not dict"):
        resolve_source({"a": [1]})
    with pytest.raises(InvalidArgument, match="empty path"):
        resolve_source("")


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nope.csv"):
        resolve_source(tmp_path / "nope.csv")
    with pytest.raises(NotFound, match="memory://absent"):
        resolve_source("memory://absent/x.parquet")


def test_folder_lists_data_files_recursively_sorted_skipping_hidden_and_markers(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _write(root / "z.csv", "a\n1\n")
    _write(root / "part" / "b.csv", "a\n2\n")
    _write(root / "_SUCCESS", "")
    _write(root / ".a.csv.crc", "junk")
    _write(root / ".hidden" / "c.csv", "a\n3\n")
    _write(root / "_temporary" / "d.csv", "a\n4\n")
    resolved = resolve_source(str(root))
    assert resolved.kind == "files" and resolved.source_type == "local"
    assert [f.name for f in resolved.files] == ["part/b.csv", "z.csv"]
    assert [f.size for f in resolved.files] == [4, 4]
    assert all(Path(f.location).is_absolute() and f.format == "csv" for f in resolved.files)
    assert resolve_source((root / "z.csv").as_uri()).files[0].name == "z.csv"


def test_format_names_by_extension() -> None:
    assert [format_of(n) for n in ["a.CSV", "a.csv.gz", "a.parquet", "a.pq", "a.jsonl", "a.ndjson"]] == [
        "csv",
        "csv",
        "parquet",
        "parquet",
        "jsonl",
        "jsonl",
    ]


def test_unknown_format_names_the_file_and_the_supported_formats(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "a.csv", "a\n1\n")
    _write(tmp_path / "d" / "notes.txt", "hello")
    with pytest.raises(InvalidArgument, match=r"'notes.txt' has an unknown format; supported: CSV"):
        resolve_source(tmp_path / "d")


def test_folder_mixing_formats_is_refused_naming_two_files(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "a.csv", "a\n1\n")
    pq.write_table(pa.table({"a": [1]}), tmp_path / "d" / "b.parquet")
    with pytest.raises(InvalidArgument, match=r"'a.csv' is csv but 'b.parquet' is parquet"):
        resolve_source(tmp_path / "d")


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "_SUCCESS", "")
    with pytest.raises(InvalidArgument, match="holds no data files"):
        resolve_source(tmp_path / "d")


def test_json_counts_only_when_it_is_json_lines(tmp_path: Path) -> None:
    lines = _write(tmp_path / "rows.json", '{"a": 1}\n{"a": 2}\n')
    assert resolve_source(lines).files[0].format == "jsonl"
    assert open_tabular(resolve_source(lines).files).to_table().to_pydict() == {"a": [1, 2]}
    document = _write(tmp_path / "doc.json", json.dumps([{"a": 1}], indent=2))
    with pytest.raises(InvalidArgument, match=r"'doc.json' is not JSON lines"):
        resolve_source(document)


def test_csv_folder_reads_as_one_dataset_with_widened_and_missing_columns(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "a.csv", "x,y\n1,a\n2,b\n")
    _write(tmp_path / "d" / "sub" / "b.csv", "x,z\n1.5,q\n")
    with gzip.open(tmp_path / "d" / "c.csv.gz", "wt") as stream:
        stream.write("x,y\n3,c\n")
    data = open_tabular(resolve_source(tmp_path / "d").files)
    assert isinstance(data, pads.Dataset)
    assert data.schema.field("x").type == pa.float64()
    table = data.to_table()
    assert sorted(table.column("x").to_pylist()) == [1.0, 1.5, 2.0, 3.0]
    assert table.column("z").null_count == 3


def test_parquet_schema_conflict_names_column_and_both_files(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": pa.array([1], pa.int32()), "k": [1]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": ["text"]}), tmp_path / "b.parquet")
    with pytest.raises(InvalidArgument, match=r"column 'x': file 'b.parquet' has type string.*'a.parquet'"):
        open_tabular(resolve_source(tmp_path).files)


def test_unreadable_file_is_named_before_any_scan(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1]}), tmp_path / "good.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InvalidArgument, match=r"file 'bad.parquet' cannot be read as parquet"):
        open_tabular(resolve_source(tmp_path).files)


def test_open_tabular_refuses_no_files_and_mixed_lists(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no files"):
        open_tabular([])
    files = [SourceFile(str(tmp_path / "a.csv"), "a.csv", 1, "csv"), SourceFile("b", "b.pq", 1, "parquet")]
    with pytest.raises(InvalidArgument, match=r"'b.pq' is parquet"):
        open_tabular(files)


def test_fsspec_memory_uri_folder(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    for name, values in [("part-1.parquet", [1, 2]), ("part-0.parquet", [3])]:
        with fs.open(f"/cairn-sources-test/{name}", "wb") as stream:
            pq.write_table(pa.table({"v": values}), stream)
    fs.pipe("/cairn-sources-test/_SUCCESS", b"")
    try:
        resolved = resolve_source("memory://cairn-sources-test")
        assert resolved.source_type == "memory"
        assert [f.name for f in resolved.files] == ["part-0.parquet", "part-1.parquet"]
        assert sorted(open_tabular(resolved.files).to_table().column("v").to_pylist()) == [1, 2, 3]
    finally:
        fs.rm("/cairn-sources-test", recursive=True)


def test_tabular_of_passes_tables_and_datasets_through(tmp_path: Path) -> None:
    table = pa.table({"a": [1]})
    assert tabular_of(table) is table
    pq.write_table(table, tmp_path / "t.parquet")
    data = tabular_of(tmp_path / "t.parquet")
    assert isinstance(data, pads.Dataset) and data.count_rows() == 1
    assert tabular_of(data) is data
