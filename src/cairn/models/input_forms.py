"""Turning the many forms a caller passes (pandas, numpy, dicts, lists) into DataFrames or arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_SCALARS = (str, bytes, bytearray, int, float, bool)


def is_scalar(value: object) -> bool:
    """True for strings, bytes, numbers, booleans, dates, None and numpy scalars."""
    import datetime as dt

    import numpy as np

    return value is None or isinstance(value, _SCALARS + (np.generic, dt.date))


def to_dataframe(data: Any, names: Sequence[str] | None = None) -> pd.DataFrame:
    """`data` as a DataFrame; `names` label columns of row-wise inputs (arrays, lists of lists) by position.

    Accepts a DataFrame, Series, 1-D or 2-D array, a dict of column -> values or column -> scalar (one row),
    a list of dicts (records), a list of lists (rows), a list of scalars (one column) or one scalar.
    """
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    first = names[0] if names and len(names) == 1 else 0
    if isinstance(data, pd.Series):
        return data.to_frame(name=data.name if data.name is not None else first)
    if isinstance(data, np.ndarray):
        return _array_frame(data, names, first)
    if isinstance(data, Mapping):
        return _mapping_frame(data)
    if isinstance(data, list | tuple):
        return _list_frame(list(data), names, first)
    if is_scalar(data):
        return pd.DataFrame({first: [data]})
    raise InvalidArgument(f"input of type {type(data).__name__} cannot be read as a table")


def _array_frame(data: np.ndarray, names: Sequence[str] | None, first: Any) -> pd.DataFrame:
    import pandas as pd

    if data.ndim == 1:
        return pd.DataFrame({first: data})
    if data.ndim == 2:
        columns = list(names) if names is not None and len(names) == data.shape[1] else None
        return pd.DataFrame(data, columns=columns)
    raise InvalidArgument(f"a {data.ndim}-D array cannot be read as a table; pass 1-D or 2-D data")


def _mapping_frame(data: Mapping[Any, Any]) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if all(is_scalar(value) for value in data.values()):
        return pd.DataFrame([dict(data)])
    columns = {
        key: list(value) if isinstance(value, np.ndarray) and value.ndim > 1 else value
        for key, value in data.items()
    }
    try:
        return pd.DataFrame(columns)
    except ValueError as error:
        raise InvalidArgument(f"input dict cannot be read as a table: {error}") from None


def _list_frame(rows: list[Any], names: Sequence[str] | None, first: Any) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    if not rows:
        return pd.DataFrame(columns=list(names or []))
    if all(isinstance(row, Mapping) for row in rows):
        return pd.DataFrame.from_records(rows)
    if all(is_scalar(row) for row in rows):
        return pd.DataFrame({first: rows})
    if all(isinstance(row, list | tuple | np.ndarray) for row in rows):
        width = {len(row) for row in rows}
        if len(width) != 1:
            raise InvalidArgument(f"input rows have different lengths: {sorted(width)}")
        columns = list(names) if names is not None and len(names) == width.pop() else None
        return pd.DataFrame([list(row) for row in rows], columns=columns)
    raise InvalidArgument("input list must hold only dicts, only rows (lists) or only scalars")


def to_ndarray(data: Any) -> np.ndarray:
    """`data` as one numpy array (DataFrames and Series by their values, lists as nested arrays)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, pd.DataFrame | pd.Series):
        return data.to_numpy()
    if isinstance(data, Mapping):
        if len(data) == 1:
            return to_ndarray(next(iter(data.values())))
        raise InvalidArgument(f"input dict with {len(data)} keys cannot be read as one array")
    try:
        return np.asarray(data)
    except ValueError as error:
        raise InvalidArgument(f"input cannot be read as an array: {error}") from None


def to_tensors(data: Any) -> dict[str, np.ndarray]:
    """`data` as named arrays: a dict's values, or a DataFrame's columns."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return {str(column): np.asarray(data[column].tolist()) for column in data.columns}
    if isinstance(data, Mapping):
        return {str(key): to_ndarray(value) for key, value in data.items()}
    raise InvalidArgument(f"input of type {type(data).__name__} cannot be read as named tensors")


def to_output(result: Any) -> Any:
    """A predictor's result as a DataFrame, Series or array (a dict of arrays when shapes differ)."""
    import numpy as np
    import pandas as pd

    if isinstance(result, pd.DataFrame | pd.Series | np.ndarray):
        return result
    if isinstance(result, Mapping):
        arrays = {key: to_output(value) for key, value in result.items()}
        lengths = {len(a) if getattr(a, "ndim", 0) == 1 else -1 for a in arrays.values()}
        if len(lengths) == 1 and -1 not in lengths:
            return pd.DataFrame(arrays)
        return arrays
    try:
        return np.asarray(result)
    except ValueError:
        values = list(result)
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array
