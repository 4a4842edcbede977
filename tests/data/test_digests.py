"""Content digests: files, canonical table digests independent of chunking, and order-free dataset digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from cairn.data.digests import bytes_digest, dataset_digest, file_digest, table_digest
from cairn.data.hash_cache import digest_local_files


def _table(rows: int) -> pa.Table:
    return pa.table(
        {
            "n": list(range(rows)),
            "s": [f"v{i}" if i % 7 else None for i in range(rows)],
            "c": pa.array(["x", "y", "z"] * (rows // 3) + ["x"] * (rows % 3)).dictionary_encode(),
            "l": [[i, None] if i % 3 else None for i in range(rows)],
        }
    )


def test_file_digest_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # more than one 1 MiB read
    (tmp_path / "f.bin").write_bytes(data)
    assert file_digest(tmp_path / "f.bin") == hashlib.sha256(data).hexdigest() == bytes_digest(data)


@pytest.mark.parametrize("chunk", [997, 65_536, 100_000])
def test_table_digest_does_not_depend_on_chunking(chunk: int) -> None:
    table = _table(150_000)
    rechunked = pa.Table.from_batches(table.to_batches(max_chunksize=chunk))
    assert rechunked.column("n").num_chunks == -(-150_000 // chunk)
    assert table_digest(rechunked) == table_digest(table)
    assert table_digest(rechunked.slice(5, 70_000)) == table_digest(table.slice(5, 70_000).combine_chunks())


def test_table_digest_ignores_metadata_but_not_content_types_or_names() -> None:
    table = pa.table({"a": [1, 2, 3], "b": ["x", "y", None]})
    base = table_digest(table)
    assert table_digest(table.replace_schema_metadata({"pandas": "{}"})) == base
    assert table_digest(pa.table({"a": [1, 2, 4], "b": ["x", "y", None]})) != base
    assert table_digest(pa.table({"a": [1, 2, 3], "b": ["x", "y", ""]})) != base
    assert table_digest(table.cast(pa.schema([("a", pa.int32()), ("b", pa.string())]))) != base
    assert table_digest(table.rename_columns(["a", "c"])) != base
    assert table_digest(table.slice(0, 2)) != base
    assert table_digest(table.slice(0, 0)) != table_digest(pa.table({"a": pa.array([], pa.int64())}))


def test_pandas_and_polars_with_the_same_data_agree() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, None], "s": ["x", None, "z"]})
    from_pandas = pa.Table.from_pandas(frame, preserve_index=False)
    from_polars = pl.from_pandas(frame).to_arrow()
    assert from_pandas.schema.metadata and not from_polars.schema.metadata
    assert table_digest(from_pandas) == table_digest(from_polars)


def test_dataset_digest_ignores_order_and_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder, names in [("a", ["one.csv", "two.csv"]), ("b", ["zz.csv", "aa.csv"])]:
        (tmp_path / folder / names[0]).write_text("x\n1\n")
        (tmp_path / folder / names[1]).write_text("x\n2\n")
    first = digest_local_files([tmp_path / "a" / "one.csv", tmp_path / "a" / "two.csv"]).digests
    renamed = digest_local_files([tmp_path / "b" / "aa.csv", tmp_path / "b" / "zz.csv"]).digests
    assert first != renamed  # listed in another order ...
    assert dataset_digest(first) == dataset_digest(renamed) == dataset_digest(reversed(first))  # same digest
    (tmp_path / "b" / "aa.csv").write_text("x\n3\n")
    changed = digest_local_files([tmp_path / "b" / "aa.csv", tmp_path / "b" / "zz.csv"]).digests
    assert dataset_digest(changed) != dataset_digest(first)


def test_dataset_digest_is_sha256_over_sorted_lines() -> None:
    parts = ["b" * 64, "a" * 64]
    expected = hashlib.sha256(("a" * 64 + "\n" + "b" * 64 + "\n").encode()).hexdigest()
    assert dataset_digest(parts) == expected
    assert dataset_digest(parts + ["a" * 64]) != expected
