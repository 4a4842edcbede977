"""Inferring a model signature from an input example, the model's output and example params."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.datatypes import DataType, is_missing, type_of_dtype, type_of_value
from cairn.models.input_forms import is_scalar, to_dataframe
from cairn.models.signature import ColumnSpec, ModelSignature, ParamSpec, Spec, TensorSpec

if TYPE_CHECKING:
    import pandas as pd


def infer_signature(
    model_input: Any, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> ModelSignature:
    """Describe `model_input`, `model_output` and `params` as a signature.

    DataFrames, Series, dicts of values, lists of dicts and lists of scalars become columns; numpy arrays,
    dicts of arrays and lists of lists become tensors whose first dimension is -1 (any batch size).

    Raises:
        InvalidArgument: a column mixes types, holds only missing values, or the data has no known form.
    """
    inputs = infer_specs("model_input", model_input)
    outputs = () if model_output is None else infer_specs("model_output", model_output)
    return ModelSignature(inputs=inputs, outputs=outputs, params=infer_params(params or {}))


def infer_specs(field: str, data: Any) -> tuple[Spec, ...]:
    """The column or tensor specs describing `data`; `field` names it in errors."""
    import numpy as np
    import pandas as pd

    if isinstance(data, np.ndarray):
        return (_tensor(None, data),)
    if isinstance(data, Mapping) and data and all(isinstance(v, np.ndarray) for v in data.values()):
        return tuple(_tensor(str(name), value) for name, value in data.items())
    if isinstance(data, list | tuple) and data and all(isinstance(r, list | tuple) for r in data):
        try:
            return (_tensor(None, np.asarray(data)),)
        except ValueError as error:
            raise InvalidArgument(f"{field}: rows cannot form an array: {error}") from None
    if isinstance(data, pd.DataFrame | pd.Series | Mapping | list | tuple) or is_scalar(data):
        if isinstance(data, list | tuple) and not data:
            raise InvalidArgument(f"{field} is empty; its columns cannot be inferred")
        return _columns(field, data)
    if hasattr(data, "__array__"):
        return (_tensor(None, np.asarray(data)),)
    raise InvalidArgument(f"{field} of type {type(data).__name__} has no signature form")


def _tensor(name: str | None, array: Any) -> TensorSpec:
    shape = (-1, *array.shape[1:]) if array.ndim else ()
    return TensorSpec(name=name, dtype=array.dtype.str, shape=shape)


def _columns(field: str, data: Any) -> tuple[ColumnSpec, ...]:
    import pandas as pd

    frame = to_dataframe(data)
    named = all(isinstance(column, str) for column in frame.columns)
    if isinstance(data, pd.Series) and not isinstance(data.name, str):
        named = False
    specs = []
    for column in frame.columns:
        type_, optional = column_type(f"{field} column {column!r}", frame[column])
        if isinstance(data, list | tuple) and data and isinstance(data[0], Mapping):
            optional = optional or any(column not in record for record in data)
        specs.append(ColumnSpec(name=str(column) if named else None, type=type_, optional=optional))
    return tuple(specs)


def column_type(where: str, values: pd.Series) -> tuple[DataType, bool]:
    """The type of a column's values and whether it has missing values (making it optional)."""
    found = type_of_dtype(values.dtype)
    has_missing = bool(values.isna().any())
    optional = has_missing and getattr(values.dtype, "kind", "") != "f"
    if found is not None:
        return found, optional
    kinds = set()
    for value in values:
        if is_missing(value):
            continue
        kind = type_of_value(value)
        if kind is None:
            raise InvalidArgument(
                f"{where} holds {type(value).__name__} values, which no column type describes"
            )
        kinds.add(kind)
    return _merge(where, kinds), optional


def _merge(where: str, kinds: set[DataType]) -> DataType:
    if not kinds:
        raise InvalidArgument(f"{where} holds only missing values; its type cannot be inferred")
    if len(kinds) == 1:
        return kinds.pop()
    if kinds <= {DataType.INTEGER, DataType.LONG}:
        return DataType.LONG if DataType.LONG in kinds else DataType.INTEGER
    if kinds <= {DataType.INTEGER, DataType.LONG, DataType.FLOAT, DataType.DOUBLE}:
        return DataType.DOUBLE
    names = ", ".join(sorted(kind.value for kind in kinds))
    raise InvalidArgument(f"{where} mixes types ({names}); pass a signature explicitly")


def infer_params(params: Mapping[str, Any]) -> tuple[ParamSpec, ...]:
    """Param specs whose defaults are the example values in `params`."""
    specs = []
    for name, value in params.items():
        if is_scalar(value):
            kind = type_of_value(value)
            if kind is None:
                raise InvalidArgument(f"param {name!r}: a None example value has no type; give a default")
            specs.append(ParamSpec(name=name, type=kind, default=value))
            continue
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        kinds = {type_of_value(item) for item in items}
        if None in kinds or not kinds:
            raise InvalidArgument(f"param {name!r} must be a scalar or a non-empty list of scalars")
        merged = _merge(f"param {name!r}", {k for k in kinds if k is not None})
        specs.append(ParamSpec(name=name, type=merged, default=items, shape=(-1,)))
    return tuple(specs)
