"""Content digests (SHA-256) of files, in-memory tables and whole datasets, independent of names and order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

READ_SIZE = 1024 * 1024
CANONICAL_BATCH_ROWS = 65_536


def stream_digest(stream: IO[bytes]) -> tuple[str, int]:
    """The hex SHA-256 and the size of everything left in a binary stream, read in 1 MiB pieces."""
    hasher = hashlib.sha256()
    size = 0
    while chunk := stream.read(READ_SIZE):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def file_digest(path: str | Path) -> str:
    """The hex SHA-256 of a local file's bytes (streamed, so any size fits in memory)."""
    with open(path, "rb") as stream:
        return stream_digest(stream)[0]


def bytes_digest(data: bytes) -> str:
    """The hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def dataset_digest(part_digests: Iterable[str]) -> str:
    """The digest of a dataset made of parts: SHA-256 over the sorted part digests, one per line.

    Sorting makes it independent of file names and of the order files were written or listed in.
    """
    hasher = hashlib.sha256()
    for digest in sorted(part_digests):
        hasher.update(f"{digest}\n".encode("ascii"))
    return hasher.hexdigest()


class _HashingSink:
    """A write-only binary file that hashes what is written to it and keeps nothing."""

    def __init__(self) -> None:
        self.hasher = hashlib.sha256()
        self.closed = False
        self._position = 0

    def write(self, data: bytes | memoryview) -> int:
        self.hasher.update(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    """The schema without schema-level or field-level metadata (pandas and writer notes)."""
    import pyarrow as pa

    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


def table_digest(table: pa.Table) -> str:
    """The digest of an in-memory table's content, whatever its chunking or metadata.

    The table is written as an Arrow IPC stream, with its metadata removed, in record batches of exactly
    65,536 rows (the last one shorter), and that byte stream is hashed as it is produced: the same data
    built in different chunks gives the same digest, and at most one batch is copied at a time.
    """
    import pyarrow as pa

    schema = canonical_schema(table.schema)
    table = table.replace_schema_metadata(None).cast(schema)
    sink = _HashingSink()
    with pa.PythonFile(sink, mode="w") as out, pa.ipc.new_stream(out, schema) as writer:
        for start in range(0, table.num_rows, CANONICAL_BATCH_ROWS):
            writer.write_batch(_fresh_batch(table.slice(start, CANONICAL_BATCH_ROWS), schema))
    return sink.hasher.hexdigest()


def _fresh_batch(piece: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    """One record batch holding `piece` in newly built buffers.

    The IPC writer copies a sliced array's buffers as they lie (with the bytes outside the slice), so
    every column is concatenated afresh: offsets start at zero and buffers hold exactly the rows.
    """
    import pyarrow as pa

    columns = []
    for column in piece.columns:
        empty = pa.array([], type=column.type)
        columns.append(pa.concat_arrays([*column.chunks, empty]))
    return pa.RecordBatch.from_arrays(columns, schema=schema) if columns else _no_columns(piece, schema)


def _no_columns(piece: pa.Table, schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_struct_array(pa.array([{}] * piece.num_rows, type=pa.struct([])))
