"""Reading scoring requests (MLflow's JSON and CSV formats, and Parquet) and writing predictions as JSON.

A JSON request holds exactly one input key, plus optional `params`:

- `dataframe_split`: `{"columns": [...], "data": [[...], ...], "index": [...]}` -> a DataFrame;
- `dataframe_records`: `[{"col": value, ...}, ...]` -> a DataFrame;
- `instances` / `inputs`: a list -> a numpy array; a list of objects or an object of lists -> a dict of
  numpy arrays, one per name; a single string or number is passed on unchanged.

A CSV request is a table with a header row; a Parquet request is one Parquet file holding a table.
Every problem is an `InvalidArgument` naming it.
"""

from __future__ import annotations

import base64
import datetime
import functools
import io
import itertools
import json
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cairn._internal.json_body import loads_json
from cairn.errors import InvalidArgument

JSON_MEDIA_TYPE = "application/json"
CSV_MEDIA_TYPE = "text/csv"
PARQUET_MEDIA_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")
SUPPORTED_MEDIA_TYPES = (JSON_MEDIA_TYPE, CSV_MEDIA_TYPE, *PARQUET_MEDIA_TYPES)
INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARAMS_KEY = "params"
_SPLIT_KEYS = frozenset({"columns", "data", "index"})
_MAX_REMEMBERED_COLUMNS = 1024
_MAX_REMEMBERED_COLUMN_CHARS = 64 * 1024


@dataclass(frozen=True)
class ScoringInput:
    """A decoded request: the model input and the optional inference parameters."""

    data: Any
    params: dict[str, Any] | None = None
    layout: Hashable | None = None
    """When known without inspecting `data`: a value equal for two tables only if they have the same column
    labels (and label types) in the same order and the same dtypes. None when not known."""


def media_type_of(content_type: str | None) -> str | None:
    """The supported media type a `Content-Type` header names ("text/csv; charset=utf-8" -> "text/csv").

    Returns None when the header is missing or names a type the scoring app does not read.
    """
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type if media_type in SUPPORTED_MEDIA_TYPES else None


def decode_request(body: bytes, media_type: str) -> ScoringInput:
    """Decode a request body of a supported media type into model input."""
    if media_type == CSV_MEDIA_TYPE:
        return ScoringInput(decode_csv(body))
    if media_type == JSON_MEDIA_TYPE:
        return decode_json(body)
    if media_type in PARQUET_MEDIA_TYPES:
        return ScoringInput(decode_parquet(body))
    raise InvalidArgument(
        f"content type must be one of {', '.join(SUPPORTED_MEDIA_TYPES)}; got {media_type!r}"
    )


def decode_json(body: bytes) -> ScoringInput:
    """Decode a JSON scoring request: exactly one input key plus optional `params`."""
    payload = parse_json(body)
    expected = ", ".join(INPUT_KEYS)
    if not isinstance(payload, dict):
        raise InvalidArgument(f"request body must be a JSON object with one of the keys {expected}")
    unknown = sorted(key for key in payload if key not in INPUT_KEYS and key != PARAMS_KEY)
    if unknown:
        raise InvalidArgument(f"unknown top-level key(s) {', '.join(unknown)}; expected one of {expected}")
    present = [key for key in INPUT_KEYS if key in payload]
    if not present:
        raise InvalidArgument(f"request body has no input; give one of the keys {expected}")
    if len(present) > 1:
        raise InvalidArgument(f"request body has several inputs ({', '.join(present)}); give exactly one")
    key, params = present[0], _params(payload.get(PARAMS_KEY))
    if key == "dataframe_split":
        frame, layout = _dataframe_split(payload[key])
        return ScoringInput(frame, params, layout)
    return ScoringInput(_DECODERS[key](payload[key]), params)


def parse_json(body: bytes) -> Any:
    """A JSON request body as Python values (see `loads_json`); `InvalidArgument` when it is not JSON."""
    try:
        return loads_json(body)
    except ValueError as error:
        raise InvalidArgument(f"request body is not valid JSON: {error}") from None


def decode_csv(body: bytes) -> pd.DataFrame:
    """Decode a CSV table with a header row into a DataFrame."""
    if not body.strip():
        raise InvalidArgument("CSV request body is empty; send a header row and data rows")
    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError) as error:  # pandas' ParserError is a ValueError
        raise InvalidArgument(f"request body is not a valid CSV table: {error}") from None


def decode_parquet(body: bytes) -> pd.DataFrame:
    """Decode one Parquet file into a DataFrame (its columns as stored, no index)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not body:
        raise InvalidArgument("Parquet request body is empty; send one Parquet file")
    try:
        table = pq.read_table(pa.BufferReader(body))
    except (pa.ArrowException, ValueError, OSError) as error:
        raise InvalidArgument(f"request body is not a valid Parquet file: {error}") from None
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _params(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"params must be a JSON object of name -> value; got {_json_kind(value)}")
    return value


def _dataframe_split(value: Any) -> tuple[pd.DataFrame, Hashable | None]:
    """The table, and its layout (see `ScoringInput.layout`) when every value is a float."""
    if not isinstance(value, dict):
        raise InvalidArgument(
            f"dataframe_split must be an object with 'columns' and 'data'; got {_json_kind(value)}"
        )
    unknown = sorted(set(value) - _SPLIT_KEYS)
    if unknown:
        raise InvalidArgument(
            f"dataframe_split has unknown key(s) {', '.join(unknown)}; allowed: columns, data, index"
        )
    data = value.get("data")
    if not isinstance(data, list):
        raise InvalidArgument(f"dataframe_split.data must be a list of rows; got {_json_kind(data)}")
    for name in ("columns", "index"):
        if value.get(name) is not None and not isinstance(value[name], list):
            raise InvalidArgument(f"dataframe_split.{name} must be a list; got {_json_kind(value[name])}")
    names = value.get("columns")
    strings = None if names is None else _string_labels(names)
    columns = names if strings is None else _column_labels(strings)
    try:
        if _float_rows(data, None if names is None else len(names)):
            # Same frame pandas would build from the lists (float64 columns), a few times faster.
            values = np.array(data, dtype=np.float64)
            frame = pd.DataFrame(values, columns=columns, index=value.get("index"), copy=False)
            if names is None:
                return frame, ("float64", values.shape[1])
            return frame, None if strings is None else ("float64", strings)
        return pd.DataFrame(data=data, columns=columns, index=value.get("index")), None
    except (ValueError, TypeError) as error:
        raise InvalidArgument(f"dataframe_split does not form a table: {error}") from None


def _string_labels(names: list[Any]) -> tuple[str, ...] | None:
    """`names` as a tuple when every one is a string, else None.

    Only such labels key a layout or the remembered indexes: labels such as 1, 1.0 and True are equal in
    Python but not to pandas.
    """
    return tuple(names) if all(type(name) is str for name in names) else None


def _column_labels(names: tuple[str, ...]) -> pd.Index | list[str]:
    """The column labels for string `names`: a remembered `pd.Index` unless the list is long, else a list.

    Building an Index of strings costs more than the rest of decoding a one-row request; scoring clients
    send the same column names again and again.
    """
    if len(names) > _MAX_REMEMBERED_COLUMNS or sum(map(len, names)) > _MAX_REMEMBERED_COLUMN_CHARS:
        return list(names)
    return _string_index(names).copy()  # a new object per frame: setting its `name` must not leak


@functools.lru_cache(maxsize=256)
def _string_index(names: tuple[str, ...]) -> pd.Index:
    return pd.Index(list(names))


def _float_rows(data: list[Any], width: int | None) -> bool:
    """True when `data` is a non-empty list of equally long, non-empty lists holding only floats."""
    if not data or type(data[0]) is not list:
        return False
    width = len(data[0]) if width is None else width
    if width == 0:
        return False
    if not all(type(row) is list and len(row) == width for row in data):
        return False
    return set(map(type, itertools.chain.from_iterable(data))) == {float}


def _dataframe_records(value: Any) -> pd.DataFrame:
    if not isinstance(value, list):
        raise InvalidArgument(f"dataframe_records must be a list of objects; got {_json_kind(value)}")
    for position, record in enumerate(value):
        if not isinstance(record, dict):
            raise InvalidArgument(
                f"dataframe_records[{position}] must be an object; got {_json_kind(record)}"
            )
    return pd.DataFrame.from_records(value) if value else pd.DataFrame()


def _tensor_input(key: str) -> Any:
    def decode(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(name): _array(f"{key}.{name}", column) for name, column in value.items()}
        if isinstance(value, list) and value and all(isinstance(row, dict) for row in value):
            return _rows_to_columns(key, value)
        if isinstance(value, list):
            return _array(key, value)
        if isinstance(value, (str, int, float, bool)):
            return value
        raise InvalidArgument(f"{key} must be a list, an object or a scalar; got {_json_kind(value)}")

    return decode


def _rows_to_columns(key: str, rows: list[dict[str, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    """Row-format tensors (`[{"a": 1, "b": 2}, ...]`) as one array per name; every row needs every name."""
    names = list(rows[0])
    for position, row in enumerate(rows):
        if set(row) != set(names):
            missing = sorted(set(names) - set(row)) or sorted(set(row) - set(names))
            raise InvalidArgument(
                f"{key}[{position}] differs from {key}[0] in the name(s) {', '.join(missing)}"
            )
    return {name: _array(f"{key}.{name}", [row[name] for row in rows]) for name in names}


def _array(where: str, value: Any) -> np.ndarray[Any, Any]:
    try:
        return np.asarray(value)
    except ValueError as error:  # ragged nesting
        raise InvalidArgument(f"{where} is not a rectangular array: {error}") from None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


_DECODERS = {
    "dataframe_records": _dataframe_records,
    "instances": _tensor_input("instances"),
    "inputs": _tensor_input("inputs"),
}


def encode_predictions(predictions: Any) -> bytes:
    """The response body `{"predictions": ...}`: a DataFrame as a list of records, arrays as lists.

    NaN and infinities become null; timestamps become ISO 8601 strings; bytes become base64 strings.

    Raises:
        TypeError: The predictions hold a value JSON cannot represent.
    """
    return json.dumps({"predictions": to_json_value(predictions)}, allow_nan=False).encode()


def to_json_value(value: Any) -> Any:
    """`value` made of JSON types only (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, pd.DataFrame):
        return [to_json_value(record) for record in value.to_dict(orient="records")]
    if isinstance(value, (pd.Series, pd.Index)):
        return [to_json_value(item) for item in value.tolist()]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "mM":  # tolist() would give integers; go item by item instead
            return to_json_value(value[()]) if value.ndim == 0 else [to_json_value(item) for item in value]
        return to_json_value(value.tolist())
    if isinstance(value, Mapping):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    return _scalar_value(value)


def _scalar_value(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.timedelta64):
        value = pd.Timedelta(value)
    elif isinstance(value, np.generic):
        return to_json_value(value.item())
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise TypeError(f"a prediction of type {kind} cannot be written as JSON")
