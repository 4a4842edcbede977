"""Checking and converting predict inputs and params against a model signature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.array_casting import CastRefused, cast_array
from cairn.models.column_conversion import convert_column
from cairn.models.datatypes import NUMPY_DTYPES, DataType
from cairn.models.input_forms import to_dataframe, to_ndarray, to_tensors
from cairn.models.param_values import convert_param_value
from cairn.models.signature import ColumnSpec, ModelSignature, ParamSpec, TensorSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_EXACT_DTYPES = {
    kind: NUMPY_DTYPES[kind]
    for kind in (DataType.BOOLEAN, DataType.INTEGER, DataType.LONG, DataType.FLOAT, DataType.DOUBLE)
}


def enforce_input(signature: ModelSignature, data: Any) -> Any:
    """`data` in the form the signature describes, after safe conversions.

    Column signatures give a DataFrame with the signature's columns in its order (extra columns dropped,
    absent optional columns left out). Tensor signatures give one array, or a dict of arrays when there
    are several named tensors. A signature without inputs returns `data` unchanged.

    Raises:
        InvalidArgument: one error naming every missing or mistyped column or tensor, with the expected
            and actual types.
    """
    if not signature.inputs:
        return data
    if signature.has_tensor_inputs:
        return _enforce_tensors([s for s in signature.inputs if isinstance(s, TensorSpec)], data)
    return _enforce_columns([s for s in signature.inputs if isinstance(s, ColumnSpec)], data)


def _fail(problems: Sequence[str]) -> InvalidArgument:
    return InvalidArgument("input does not match the model signature: " + "; ".join(problems))


def _enforce_columns(specs: list[ColumnSpec], data: Any) -> pd.DataFrame:
    import pandas as pd

    named = specs[0].name is not None
    names = [str(spec.name) for spec in specs] if named else None
    frame = to_dataframe(data, names)
    if not named:
        return _enforce_positional(specs, frame)
    if names is not None and _unlabelled(frame) and len(frame.columns) == len(names):
        frame = frame.set_axis(names, axis="columns")
    if names is not None and _conforms_exactly(specs, names, frame):
        return frame if frame.columns.tolist() == names else frame[names]
    problems: list[str] = []
    columns: dict[str, pd.Series] = {}
    repeated = set(frame.columns[frame.columns.duplicated()].tolist())
    for spec in specs:
        name = str(spec.name)
        if name not in frame.columns:
            if not spec.optional:
                problems.append(f"column {name!r} is missing (expected {spec.type.value})")
            continue
        if name in repeated:
            problems.append(f"column {name!r} appears more than once")
            continue
        try:
            columns[name] = convert_column(frame[name], spec.type)
        except CastRefused as refused:
            problems.append(f"column {name!r} expected {spec.type.value}, {refused}")
    if problems:
        raise _fail(problems)
    return pd.DataFrame(columns, index=frame.index)


def _conforms_exactly(specs: list[ColumnSpec], names: list[str], frame: pd.DataFrame) -> bool:
    """True when every column is present, once, already in the numeric or boolean dtype its spec converts to.

    Such a frame would come out of the conversions unchanged, so the per-column work is skipped.
    """
    labels = frame.columns.tolist()
    if len(set(labels)) != len(labels):
        return False
    actual = dict(zip(labels, frame.dtypes.tolist(), strict=True))
    for spec, name in zip(specs, names, strict=True):
        wanted = _EXACT_DTYPES.get(spec.type)
        if wanted is None or name not in actual or actual[name] != wanted:
            return False
    return True


def _unlabelled(frame: pd.DataFrame) -> bool:
    """True for the default 0..n-1 column labels pandas gives rows without names."""
    if frame.columns.dtype.kind not in "iu":
        return False
    labels: list[Any] = frame.columns.tolist()
    return labels == list(range(len(labels)))


def _enforce_positional(specs: list[ColumnSpec], frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    if len(frame.columns) != len(specs):
        raise _fail([f"expected {len(specs)} unnamed column(s), got {len(frame.columns)}"])
    problems: list[str] = []
    columns = {}
    for position, (spec, label) in enumerate(zip(specs, frame.columns, strict=True)):
        try:
            columns[label] = convert_column(frame[label], spec.type)
        except CastRefused as refused:
            problems.append(f"column {position} expected {spec.type.value}, {refused}")
    if problems:
        raise _fail(problems)
    return pd.DataFrame(columns, index=frame.index)


def _enforce_tensors(specs: list[TensorSpec], data: Any) -> np.ndarray | dict[str, np.ndarray]:
    if len(specs) == 1:
        spec = specs[0]
        if isinstance(data, Mapping) and spec.name is not None and spec.name in data:
            data = data[spec.name]
        problems: list[str] = []
        array = _enforce_tensor(spec, to_ndarray(data), problems)
        if problems:
            raise _fail(problems)
        return array
    tensors = to_tensors(data)
    problems = []
    result = {}
    for spec in specs:
        name = str(spec.name)
        if name not in tensors:
            problems.append(f"tensor {name!r} is missing (expected {spec.dtype} {list(spec.shape)})")
            continue
        result[name] = _enforce_tensor(spec, tensors[name], problems)
    if problems:
        raise _fail(problems)
    return result


def _enforce_tensor(spec: TensorSpec, array: np.ndarray, problems: list[str]) -> np.ndarray:
    label = "tensor" if spec.name is None else f"tensor {spec.name!r}"
    shape_ok = len(array.shape) == len(spec.shape) and all(
        want in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
    )
    if not shape_ok:
        problems.append(f"{label} expected shape {list(spec.shape)}, got {list(array.shape)}")
        return array
    try:
        return cast_array(array, spec.dtype)
    except CastRefused as refused:
        problems.append(f"{label} expected {spec.dtype}, got {array.dtype}: {refused}")
        return array


def enforce_params(signature: ModelSignature | None, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The params to pass to the model: checked against the signature, with defaults filled in.

    Without a signature, `params` pass through unchanged.

    Raises:
        InvalidArgument: naming every unknown param and every value of the wrong type.
    """
    given = dict(params or {})
    if signature is None:
        return given
    specs: dict[str, ParamSpec] = {spec.name: spec for spec in signature.params}
    problems = [f"param {name!r} is not in the model signature" for name in given if name not in specs]
    result: dict[str, Any] = {}
    for name, spec in specs.items():
        if name not in given:
            result[name] = spec.default
            continue
        try:
            result[name] = convert_param_value(name, spec.type, spec.shape, given[name])
        except InvalidArgument as error:
            problems.append(error.message)
    if problems:
        raise InvalidArgument("params do not match the model signature: " + "; ".join(problems))
    return result
