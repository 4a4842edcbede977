"""The column and parameter types a model signature can name, and how values map onto them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from cairn.errors import InvalidArgument


class DataType(StrEnum):
    """A column or parameter type, named as it appears in a serialised signature."""

    BOOLEAN = "boolean"
    INTEGER = "integer"
    """32-bit signed integer."""
    LONG = "long"
    """64-bit signed integer."""
    FLOAT = "float"
    """32-bit floating point."""
    DOUBLE = "double"
    """64-bit floating point."""
    STRING = "string"
    BINARY = "binary"
    DATETIME = "datetime"


NUMPY_DTYPES: dict[DataType, str] = {
    DataType.BOOLEAN: "bool",
    DataType.INTEGER: "int32",
    DataType.LONG: "int64",
    DataType.FLOAT: "float32",
    DataType.DOUBLE: "float64",
    DataType.STRING: "object",
    DataType.BINARY: "object",
    DataType.DATETIME: "datetime64[ns]",
}
"""The numpy dtype each type converts to."""


def parse_data_type(field: str, value: object) -> DataType:
    """The `DataType` named `value`; `InvalidArgument` naming `field` and the known types otherwise."""
    try:
        return DataType(str(value))
    except ValueError:
        known = ", ".join(t.value for t in DataType)
        raise InvalidArgument(f"{field} must be one of {known}; got {value!r}") from None


def type_of_dtype(dtype: Any) -> DataType | None:
    """The type a numpy or pandas dtype holds, or None for object and other mixed dtypes."""
    import numpy as np

    kind = getattr(dtype, "kind", None)
    name = str(dtype)
    if name in ("string", "str") or name.startswith("string["):
        return DataType.STRING
    if name == "boolean" or kind == "b":
        return DataType.BOOLEAN
    if kind in ("i", "u"):
        itemsize = np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype).itemsize
        small = itemsize < 4 or (kind == "i" and itemsize == 4)
        return DataType.INTEGER if small else DataType.LONG
    if kind == "f":
        itemsize = np.dtype(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype).itemsize
        return DataType.FLOAT if itemsize <= 4 else DataType.DOUBLE
    if kind == "M" or name.startswith("datetime64"):
        return DataType.DATETIME
    if kind == "S":
        return DataType.BINARY
    if kind == "U":
        return DataType.STRING
    return None


def type_of_value(value: object) -> DataType | None:
    """The type of one Python or numpy scalar, or None when it is missing (None or NaN) or not a scalar."""
    import numpy as np

    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool | np.bool_):
        return DataType.BOOLEAN
    if isinstance(value, np.generic):
        return type_of_dtype(value.dtype)
    if isinstance(value, int):
        return DataType.LONG
    if isinstance(value, float):
        return DataType.DOUBLE
    if isinstance(value, str):
        return DataType.STRING
    if isinstance(value, bytes | bytearray):
        return DataType.BINARY
    if isinstance(value, dt.datetime | dt.date):
        return DataType.DATETIME
    return None


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas' missing markers (NaT, NA); False for containers."""
    import numpy as np
    import pandas as pd

    if value is None:
        return True
    try:
        result: Any = pd.isna(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    return isinstance(result, bool | np.bool_) and bool(result)
