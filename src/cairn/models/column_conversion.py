"""Safe conversion of one DataFrame column to the type a column signature names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.models.array_casting import CastRefused, cast_array
from cairn.models.datatypes import NUMPY_DTYPES, DataType, is_missing, type_of_dtype, type_of_value

if TYPE_CHECKING:
    import pandas as pd

_NUMERIC = {DataType.INTEGER, DataType.LONG, DataType.FLOAT, DataType.DOUBLE}


def describe_column(values: pd.Series) -> str:
    """The column's dtype, with the Python types it holds when it is an object column."""
    if str(values.dtype) != "object":
        return str(values.dtype)
    kinds = sorted({type(v).__name__ for v in values if not is_missing(v)})
    return f"object ({', '.join(kinds)})" if kinds else "object (all missing)"


def convert_column(values: pd.Series, expected: DataType) -> pd.Series:
    """`values` converted to `expected` without changing any value.

    Raises:
        CastRefused: "got <actual type> (<why>)": the column holds another type, or a value would change
            (1.5 as an integer).
    """
    try:
        return _convert(values, expected)
    except CastRefused as refused:
        if str(refused).startswith("got "):
            raise
        raise CastRefused(f"got {describe_column(values)} ({refused})") from None


def _convert(values: pd.Series, expected: DataType) -> pd.Series:
    import pandas as pd

    actual = _actual_type(values)
    if expected in _NUMERIC:
        if actual not in _NUMERIC:
            raise CastRefused(f"got {describe_column(values)}")
        return _numeric(values, expected)
    if expected is DataType.DATETIME:
        return _datetime(values, actual)
    if actual is not expected:
        raise CastRefused(f"got {describe_column(values)}")
    if expected is DataType.BOOLEAN:
        if values.isna().any():
            raise CastRefused("it has missing values")
        return values.astype(bool)
    if values.dtype.kind == "O":
        return values
    return pd.Series(values.astype(object), index=values.index, name=values.name)


def _actual_type(values: pd.Series) -> DataType | None:
    found = type_of_dtype(values.dtype)
    if found is not None:
        return found
    kinds = {type_of_value(v) for v in values if not is_missing(v)}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds and kinds <= _NUMERIC:
        return DataType.DOUBLE
    return None


def _numeric(values: pd.Series, expected: DataType) -> pd.Series:
    import numpy as np
    import pandas as pd

    if values.dtype.kind == "O" or hasattr(values.dtype, "numpy_dtype"):
        if values.isna().any() and expected not in (DataType.FLOAT, DataType.DOUBLE):
            raise CastRefused("it has missing values")
        raw = np.asarray(values.astype("float64" if values.isna().any() else values.dtype).tolist())
    else:
        raw = values.to_numpy()
    converted = cast_array(raw, NUMPY_DTYPES[expected])
    return pd.Series(converted, index=values.index, name=values.name)


def _datetime(values: pd.Series, actual: DataType | None) -> pd.Series:
    import pandas as pd

    if actual is DataType.DATETIME and values.dtype.kind == "M":
        return values
    if actual not in (DataType.DATETIME, DataType.STRING):
        raise CastRefused(f"got {describe_column(values)}")
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError) as error:
        raise CastRefused(f"values are not dates: {error}") from None
