"""The default prediction event sink: hive-partitioned Parquet files in an artifact store.

Each `write` produces one file per (model, version, UTC date, UTC hour) present in the batch, at
`<prefix>/model=<name>/version=<version>/date=YYYY-MM-DD/hour=HH/<uuid>.parquet`, so `pyarrow.dataset`
or duckdb read the folder with hive partitioning. A file holds one row per predicted row:
`request_id`, `timestamp_ms`, `model_name`, `model_version`, `latency_ms`, `row` (index within the
request), `input_<feature>` per input column, and `prediction` (a single output) or `output_<name>`.

Feature types are fixed by kind, so files of one model version agree whatever a request held: numbers
are float64, booleans bool, timestamps timestamp[us, UTC], dates date32, everything else text (lists and
dicts as JSON). An all-null column takes the type the column had before in this sink, or text. Files
may differ in which columns they hold (a request without a feature, a new output); read them with a
unified schema (`pyarrow.unify_schemas` over the fragments, or duckdb's `union_by_name`).
"""

from __future__ import annotations

import io
import json
import math
import re
import threading
import uuid
from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.serving.events import PredictionEvent
from cairn.store.artifacts.paths import safe_artifact_path

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from cairn.store.protocols import ArtifactStore

_UNSAFE_SEGMENT_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_GroupKey = tuple[str, str, str, str]


class ParquetEventSink:
    """Writes batches of prediction events as partitioned Parquet files into an artifact store."""

    def __init__(self, artifact_store: ArtifactStore, prefix: str = "predictions") -> None:
        """Write under folder `prefix` of `artifact_store`.

        Raises:
            InvalidArgument: when `prefix` is not a safe relative artifact path.
        """
        self._store = artifact_store
        self._prefix = safe_artifact_path(prefix, "prefix")
        self._known_types: dict[tuple[str, str], dict[str, pa.DataType]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def write(self, events: Sequence[PredictionEvent]) -> None:
        """Write `events`: one Parquet file per model version and UTC hour they cover.

        Raises:
            InvalidArgument: when the sink is closed.
        """
        if self._closed:
            raise InvalidArgument("the Parquet event sink is closed; create a new one to write events")
        groups: dict[_GroupKey, list[PredictionEvent]] = {}
        for event in events:
            moment = datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
            key = (event.model_name, event.model_version, f"{moment:%Y-%m-%d}", f"{moment:%H}")
            groups.setdefault(key, []).append(event)
        for (name, version, date, hour), group in groups.items():
            with self._lock:
                table = self._table(group, self._known_types.setdefault((name, version), {}))
            self._store.log_bytes(_parquet_bytes(table), self.file_path(name, version, date, hour))

    def file_path(self, model_name: str, model_version: str, date: str, hour: str) -> str:
        """A new file's path in the partition of this model version, date and hour."""
        folder = f"model={_segment(model_name)}/version={_segment(model_version)}/date={date}/hour={hour}"
        name = f"{folder}/{uuid.uuid4().hex}.parquet"
        return f"{self._prefix}/{name}" if self._prefix else name

    def close(self) -> None:
        """Refuse further writes (each write is complete and durable when it returns)."""
        self._closed = True

    def _table(self, events: Sequence[PredictionEvent], known: dict[str, pa.DataType]) -> pa.Table:
        import pandas as pd
        import pyarrow as pa

        frames = [_event_frame(event) for event in events]
        counts = [len(frame) for frame in frames]
        base = {
            "request_id": pa.array(_repeat([e.request_id for e in events], counts), pa.string()),
            "timestamp_ms": pa.array(_repeat([e.timestamp_ms for e in events], counts), pa.int64()),
            "model_name": pa.array(_repeat([e.model_name for e in events], counts), pa.string()),
            "model_version": pa.array(_repeat([str(e.model_version) for e in events], counts), pa.string()),
            "latency_ms": pa.array(_repeat([float(e.latency_ms) for e in events], counts), pa.float64()),
            "row": pa.array([row for count in counts for row in range(count)], pa.int64()),
        }
        features = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        columns = dict(base)
        for column in features.columns:
            array = _arrow_column(features[column], known.get(column))
            known[column] = array.type
            columns[column] = array
        return pa.table(columns)


def _event_frame(event: PredictionEvent) -> pd.DataFrame:
    """The event's inputs and outputs side by side, one row per predicted row."""
    import pandas as pd

    inputs = pd.DataFrame(event.inputs).reset_index(drop=True)
    inputs.columns = pd.Index([f"input_{column}" for column in inputs.columns])
    outputs = _output_frame(event.outputs).reset_index(drop=True)
    return pd.concat([inputs, outputs], axis=1)


def _output_frame(outputs: Any) -> pd.DataFrame:
    """Model output as named columns: `prediction` for a single output, else `output_<name>`."""
    import numpy as np
    import pandas as pd

    if isinstance(outputs, pd.DataFrame):
        if outputs.shape[1] == 1:
            return pd.DataFrame({"prediction": outputs.iloc[:, 0].to_numpy()})
        return pd.DataFrame({f"output_{c}": outputs[c].to_numpy() for c in outputs.columns})
    if isinstance(outputs, pd.Series):
        return pd.DataFrame({"prediction": outputs.to_numpy()})
    if isinstance(outputs, dict):
        columns: dict[str, Any] = {}
        for name, value in outputs.items():
            columns.update(_array_columns(f"output_{name}", np.asarray(value)))
        return pd.DataFrame(columns)
    array = np.asarray(outputs)
    if array.ndim == 2 and array.shape[1] > 1:
        return pd.DataFrame({f"output_{j}": array[:, j] for j in range(array.shape[1])})
    return pd.DataFrame(_array_columns("prediction", array))


def _array_columns(name: str, array: Any) -> dict[str, Any]:
    """One column for a 0-d/1-d array or one column per row; `<name>_<j>` for wider rows."""
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim == 1:
        return {name: array}
    wide = array.reshape(array.shape[0], -1)
    if wide.shape[1] == 1:
        return {name: wide[:, 0]}
    return {f"{name}_{j}": wide[:, j] for j in range(wide.shape[1])}


def _arrow_column(series: pd.Series[Any], known: pa.DataType | None) -> pa.Array:
    """Convert a feature column to its stable Arrow type (see the module docstring)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(series.dtype, pd.DatetimeTZDtype):  # as naive UTC: pyarrow would read `.values`
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _text_array(series)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(len(array), known if known is not None else pa.string())
    if pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_date32(kind):
        return array
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(array, pa.float64(), safe=False)
    if pa.types.is_timestamp(kind):
        return pc.cast(array, pa.timestamp("us", tz="UTC"), safe=False)
    if pa.types.is_large_string(kind) or pa.types.is_date64(kind):
        return pc.cast(array, pa.string() if pa.types.is_large_string(kind) else pa.date32())
    return _text_array(series)


def _text_array(series: pd.Series[Any]) -> pa.Array:
    import pyarrow as pa

    return pa.array([_text(value) for value in series], pa.string())


def _text(value: Any) -> str | None:
    """A value as text: None for missing, JSON for lists, dicts and arrays, `str` otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


def _repeat(values: list[Any], counts: list[int]) -> list[Any]:
    return [value for value, count in zip(values, counts, strict=True) for _ in range(count)]


def _segment(value: Hashable) -> str:
    """A partition value safe as one path component: unsafe characters and a leading dot become `_`."""
    text = _UNSAFE_SEGMENT_CHARS.sub("_", str(value)) or "_"
    return "_" + text[1:] if text.startswith(".") else text


def _parquet_bytes(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
