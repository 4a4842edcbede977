"""Scoring a CSV, Parquet or JSON-lines file with a model, chunk by chunk, into a new file."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from cairn.errors import AlreadyExists, CairnError, InvalidArgument, NotFound

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cairn.models.loaded import LoadedModel

FORMATS = ("csv", "parquet", "jsonl")
PREDICTION_COLUMN = "prediction"
DEFAULT_CHUNK_ROWS = 10_000
_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

ProgressCallback = Callable[[int, int | None], None]
"""Called after each chunk with the rows scored so far and the input's row count (None when unknown)."""


@dataclass(frozen=True)
class ScoringSummary:
    """What a scoring pass did.

    Attributes:
        rows: Rows scored (and written).
        chunks: Chunks the input was read in.
        seconds: Wall time of the whole pass.
    """

    rows: int
    chunks: int
    seconds: float


def file_format(path: str | Path, given: str | None, role: str) -> str:
    """The format of a file: `given` when set, else inferred from the suffix of `path`.

    Args:
        path: The file.
        given: A format the caller named, or None.
        role: "input" or "output", for error messages.

    Raises:
        InvalidArgument: the named format or the suffix is not csv, parquet or jsonl.
    """
    if given is not None:
        if given.lower() not in FORMATS:
            raise InvalidArgument(f"{role}_format {given!r} is not one of {', '.join(FORMATS)}")
        return given.lower()
    suffix = Path(path).suffix.lower()
    inferred = _SUFFIXES.get(suffix)
    if inferred is None:
        raise InvalidArgument(
            f"{role} {str(path)!r}: cannot tell the format from suffix {suffix or '(none)'!r}; "
            f"name it with {role}_format ({', '.join(FORMATS)})"
        )
    return inferred


def count_rows(path: str | Path, fmt: str) -> int | None:
    """The number of rows in a file when its metadata says so (Parquet), else None."""
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def read_chunks(path: Path, fmt: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of `path` as DataFrames of at most `chunk_rows` rows, read one at a time.

    Raises:
        InvalidArgument: the file cannot be parsed as `fmt`.
    """
    try:
        yield from _raw_chunks(path, fmt, chunk_rows)
    except (ValueError, OSError) as error:
        raise InvalidArgument(f"input {str(path)!r}: cannot read it as {fmt}: {error}") from error


def _raw_chunks(path: Path, fmt: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pandas as pd

    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as source:
            for batch in source.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
    elif fmt == "csv":
        with pd.read_csv(path, chunksize=chunk_rows) as reader:
            yield from reader
    else:
        yield from _json_lines_chunks(path, chunk_rows)


def _json_lines_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """JSON objects, one a line, as DataFrames; values keep their JSON types (no date guessing)."""
    import pandas as pd

    line_number = 0
    with path.open(encoding="utf-8") as handle:
        while lines := list(itertools.islice(handle, chunk_rows)):
            records = []
            for line in lines:
                line_number += 1
                if line.strip():
                    records.append(_json_record(line, line_number))
            if records:
                yield pd.DataFrame.from_records(records)


def _json_record(line: str, line_number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ValueError(f"line {line_number} is not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise ValueError(f"line {line_number} holds a {type(record).__name__}, not a JSON object")
    return record


def predictions_frame(output: Any, rows: int) -> pd.DataFrame:
    """A model's output for `rows` rows as prediction columns.

    A single output becomes the column `prediction`; a 2-D array with several columns becomes
    `prediction_0`, `prediction_1`, ...; a DataFrame or a dict of arrays keeps its own column names.
    Outputs with more dimensions per row are stored as nested lists.

    Raises:
        CairnError: the output does not have one entry per input row.
    """
    import numpy as np
    import pandas as pd

    if isinstance(output, pd.DataFrame):
        columns = {str(name): output[name].to_numpy() for name in output.columns}
    elif isinstance(output, pd.Series):
        columns = {PREDICTION_COLUMN: output.to_numpy()}
    elif isinstance(output, Mapping):
        columns = {str(name): _row_values(np.asarray(value)) for name, value in output.items()}
    else:
        array = np.asarray(output)
        if array.ndim == 2 and array.shape[1] > 1:
            columns = {f"{PREDICTION_COLUMN}_{i}": array[:, i] for i in range(array.shape[1])}
        elif array.ndim == 2:
            columns = {PREDICTION_COLUMN: array[:, 0]}
        else:
            columns = {PREDICTION_COLUMN: _row_values(array)}
    for name, values in columns.items():
        if len(values) != rows:
            raise CairnError(f"the model returned {len(values)} values for {name!r} on {rows} rows")
    return pd.DataFrame(columns)


def _row_values(array: Any) -> Any:
    """A 1-D array as it is; a higher-dimensional one as one nested list per row."""
    if array.ndim <= 1:
        return array.reshape(-1) if array.ndim == 0 else array
    return [row.tolist() for row in array]


class ChunkWriter(Protocol):
    """Appends scored chunks to an output file."""

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of `frame`."""

    def close(self) -> None:
        """Finish the file (footers, flushes)."""


class CsvChunkWriter:
    """Appends chunks to a CSV file, with the header once."""

    def __init__(self, path: Path) -> None:
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._header = True

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of `frame` (and the header before the first chunk)."""
        frame.to_csv(self._handle, index=False, header=self._header)
        self._header = False

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


class JsonLinesChunkWriter:
    """Appends chunks to a JSON-lines file, one object per row; NaN becomes null."""

    def __init__(self, path: Path) -> None:
        self._handle: IO[str] = path.open("w", encoding="utf-8")

    def write(self, frame: pd.DataFrame) -> None:
        """Append one JSON object per row of `frame`."""
        names = [str(name) for name in frame.columns]
        lines = []
        for values in frame.itertuples(index=False, name=None):
            record = {name: _json_value(value) for name, value in zip(names, values, strict=True)}
            lines.append(json.dumps(record, allow_nan=False) + "\n")
        self._handle.write("".join(lines))

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _json_value(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool | dict):
        return value
    return None if _is_missing(value) else str(value)


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class ParquetChunkWriter:
    """Appends chunks to a Parquet file as row groups; later chunks are cast to the first one's schema."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append `frame` as a row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None or self._schema is None:
            self._schema = table.schema.remove_metadata()
            self._writer = pq.ParquetWriter(self._path, self._schema)
        try:
            table = table.cast(self._schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
            raise InvalidArgument(
                f"output column types changed between chunks ({error}); "
                f"first chunk's schema: {self._schema.to_string(show_schema_metadata=False)}"
            ) from error
        self._writer.write_table(table)

    def close(self) -> None:
        """Write the footer (an empty file if nothing was written)."""
        if self._writer is not None:
            self._writer.close()


def open_writer(path: Path, fmt: str) -> ChunkWriter:
    """A writer that appends chunks to `path` in format `fmt`."""
    if fmt == "parquet":
        return ParquetChunkWriter(path)
    if fmt == "csv":
        return CsvChunkWriter(path)
    return JsonLinesChunkWriter(path)


def score_chunk(model: LoadedModel, chunk: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """`chunk` with the model's prediction columns appended; errors name the chunk's first row (0-based).

    Raises:
        InvalidArgument: the chunk does not fit the model's signature, or a prediction column has the
            name of an input column.
        CairnError: the model failed on the chunk.
    """
    import pandas as pd

    where = f"chunk starting at row {first_row} ({len(chunk)} rows)"
    try:
        output = model.predict(chunk)
    except InvalidArgument as error:
        raise InvalidArgument(f"{where}: {error.message}") from error
    except Exception as error:
        raise CairnError(f"{where}: the model failed: {type(error).__name__}: {error}") from error
    predictions = predictions_frame(output, len(chunk))
    clashes = sorted(set(map(str, chunk.columns)) & set(predictions.columns))
    if clashes:
        raise InvalidArgument(
            f"prediction column(s) {', '.join(map(repr, clashes))} already exist in the input; "
            "rename them in the input"
        )
    return pd.concat([chunk.reset_index(drop=True), predictions], axis=1)


def score_file(
    model: LoadedModel,
    input_path: str | Path,
    output_path: str | Path,
    *,
    input_format: str | None = None,
    output_format: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> ScoringSummary:
    """Score every row of a CSV, Parquet or JSON-lines file, writing the input columns plus predictions.

    The input is read `chunk_rows` rows at a time and each scored chunk is appended to the output at
    once, so memory follows the chunk size, not the file size. The output is written to a temporary
    file beside it and renamed into place at the end: a failure leaves no output behind.

    Args:
        model: The loaded model.
        input_path: The file to score.
        output_path: The file to write.
        input_format: csv, parquet or jsonl; None infers it from the input's suffix.
        output_format: csv, parquet or jsonl; None infers it from the output's suffix.
        chunk_rows: Rows per chunk.
        overwrite: Replace an existing output file.
        progress: Called after each chunk with the rows done and the total (None when unknown).

    Returns:
        Rows, chunks and seconds taken.

    Raises:
        InvalidArgument: an unknown format, a bad `chunk_rows`, an unreadable or empty input, or a chunk
            that does not fit the model's signature (naming the chunk's first row, counting from 0).
        NotFound: the input does not exist.
        AlreadyExists: the output exists and `overwrite` is False.
        CairnError: the model failed on a chunk.
    """
    started = time.perf_counter()
    source, target = Path(input_path), Path(output_path)
    in_fmt = file_format(source, input_format, "input")
    out_fmt = file_format(target, output_format, "output")
    if chunk_rows < 1:
        raise InvalidArgument(f"chunk_rows must be at least 1; got {chunk_rows}")
    if not source.is_file():
        raise NotFound(f"input {str(source)!r} does not exist or is not a file")
    if target.exists() and not overwrite:
        raise AlreadyExists(f"output {str(target)!r} exists; pass overwrite=True (--overwrite) to replace it")
    total = count_rows(source, in_fmt) if progress is not None else None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(handle)
    temp = Path(temp_name)
    temp.chmod(0o644)
    try:
        rows, chunks = _score_into(model, source, in_fmt, temp, out_fmt, chunk_rows, total, progress)
        if rows == 0:
            raise InvalidArgument(f"input {str(source)!r} holds no rows")
        _publish(temp, target, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return ScoringSummary(rows=rows, chunks=chunks, seconds=time.perf_counter() - started)


def _score_into(
    model: LoadedModel,
    source: Path,
    in_fmt: str,
    temp: Path,
    out_fmt: str,
    chunk_rows: int,
    total: int | None,
    progress: ProgressCallback | None,
) -> tuple[int, int]:
    rows = chunks = 0
    writer = open_writer(temp, out_fmt)
    try:
        for chunk in read_chunks(source, in_fmt, chunk_rows):
            if chunk.empty:
                continue
            writer.write(score_chunk(model, chunk, rows))
            rows += len(chunk)
            chunks += 1
            if progress is not None:
                progress(rows, total)
    finally:
        writer.close()
    return rows, chunks


def _publish(temp: Path, target: Path, overwrite: bool) -> None:
    """Move the finished file into place; without `overwrite`, never replace a file made meanwhile."""
    if overwrite:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)
    except FileExistsError:
        raise AlreadyExists(f"output {str(target)!r} was created by someone else while scoring") from None
    except OSError:  # the file system has no hard links
        if target.exists():
            raise AlreadyExists(f"output {str(target)!r} was created by someone else while scoring") from None
        os.replace(temp, target)
