"""Checking and converting one inference parameter value against its declared type and shape."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cairn.errors import InvalidArgument
from cairn.models.datatypes import DataType


def convert_param_value(name: str, type_: DataType, shape: tuple[int, ...] | None, value: Any) -> Any:
    """`value` as the Python value a param of `type_` (a scalar, or a list when `shape` is `(-1,)`) holds.

    Only safe conversions happen: an int becomes a float for float params, an ISO string becomes a
    datetime; anything else of the wrong type is `InvalidArgument` naming the param.
    """
    if shape is None:
        return _convert_scalar(name, type_, value)
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        raise InvalidArgument(f"param {name!r} must be a list of {type_.value}; got {type(value).__name__}")
    values = value.tolist() if hasattr(value, "tolist") else list(value)
    return [_convert_scalar(name, type_, item) for item in values]


def _convert_scalar(name: str, type_: DataType, value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, bytes | str):
        value = value.item()
    converted = _SCALAR_CONVERTERS[type_](value)
    if converted is _REFUSED:
        raise InvalidArgument(f"param {name!r} must be {type_.value}; got {type(value).__name__} {value!r}")
    return converted


_REFUSED = object()


def _to_boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else _REFUSED


def _to_integer(bits: int) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            return _REFUSED
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            return _REFUSED
        return value

    return convert


def _to_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _REFUSED
    return float(value)


def _to_string(value: Any) -> Any:
    return value if isinstance(value, str) else _REFUSED


def _to_binary(value: Any) -> Any:
    return bytes(value) if isinstance(value, bytes | bytearray) else _REFUSED


def _to_datetime(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return _REFUSED
    return _REFUSED


_SCALAR_CONVERTERS = {
    DataType.BOOLEAN: _to_boolean,
    DataType.INTEGER: _to_integer(32),
    DataType.LONG: _to_integer(64),
    DataType.FLOAT: _to_float,
    DataType.DOUBLE: _to_float,
    DataType.STRING: _to_string,
    DataType.BINARY: _to_binary,
    DataType.DATETIME: _to_datetime,
}


def param_value_to_json(type_: DataType, value: Any) -> Any:
    """A converted param value as JSON: datetimes in ISO form, bytes in base64."""
    if isinstance(value, list):
        return [param_value_to_json(type_, item) for item in value]
    if type_ is DataType.DATETIME and isinstance(value, dt.datetime):
        return value.isoformat()
    if type_ is DataType.BINARY and isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def param_value_from_json(name: str, type_: DataType, value: Any) -> Any:
    """The inverse of `param_value_to_json` (base64 strings back to bytes for binary params)."""
    if type_ is not DataType.BINARY or value is None:
        return value
    items = value if isinstance(value, list) else [value]
    try:
        decoded = [base64.b64decode(item, validate=True) for item in items]
    except (TypeError, ValueError):
        raise InvalidArgument(f"param {name!r} default must be base64 text") from None
    return decoded if isinstance(value, list) else decoded[0]
