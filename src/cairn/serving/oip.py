"""Open Inference Protocol (KServe v2) bodies: infer requests to model input, predictions to infer responses.

A request's `inputs` are tensors `{name, shape, datatype, data}`; `data` is flat (row-major) or nested and
must hold exactly the number of values its `shape` needs. For a model with a column signature (or no
signature and only 1-D inputs) each tensor becomes one column of a DataFrame; for a tensor signature the
tensors are passed as one array (a single input) or a dict of arrays by name. Request `parameters` become
the predict params. Every problem is an `InvalidArgument` naming the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cairn.errors import InvalidArgument
from cairn.models.datatypes import DataType
from cairn.serving.codecs import parse_json, to_json_value

if TYPE_CHECKING:
    from cairn.models.signature import ModelSignature, Spec

NUMPY_DTYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
"""The numpy dtype each Open Inference Protocol datatype decodes to."""

_COLUMN_DATATYPES = {
    DataType.BOOLEAN: "BOOL",
    DataType.INTEGER: "INT32",
    DataType.LONG: "INT64",
    DataType.FLOAT: "FP32",
    DataType.DOUBLE: "FP64",
}
DEFAULT_OUTPUT_NAME = "predict"
_TENSOR_KEYS = ("name", "shape", "datatype", "data")


@dataclass(frozen=True)
class InferRequest:
    """A decoded infer request: the model input, the predict params and the client's request id."""

    data: Any
    params: dict[str, Any] | None
    request_id: str | None


def decode_infer_request(body: bytes, signature: ModelSignature | None) -> InferRequest:
    """Decode an infer request body into model input shaped for `signature`."""
    payload = parse_json(body)
    if not isinstance(payload, dict):
        raise InvalidArgument("infer request must be a JSON object with an 'inputs' list")
    raw_inputs = payload.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidArgument("infer request 'inputs' must be a non-empty list of tensors")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidArgument(f"infer request 'id' must be a string; got {request_id!r}")
    params = payload.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise InvalidArgument("infer request 'parameters' must be an object of name -> value")
    tensors = [decode_tensor(position, raw) for position, raw in enumerate(raw_inputs)]
    return InferRequest(model_input(tensors, signature), params or None, request_id)


def decode_tensor(position: int, raw: Any) -> tuple[str, np.ndarray[Any, Any]]:
    """One request tensor as `(name, array)`, checked against its shape and datatype."""
    if not isinstance(raw, dict) or any(key not in raw for key in _TENSOR_KEYS):
        raise InvalidArgument(f"inputs[{position}] must be an object with {', '.join(_TENSOR_KEYS)}")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"inputs[{position}].name must be a non-empty string; got {name!r}")
    where = f"input {name!r}"
    shape = raw["shape"]
    if not isinstance(shape, list) or any(type(size) is not int or size < 0 for size in shape):
        raise InvalidArgument(f"{where} shape must be a list of non-negative integers; got {shape!r}")
    datatype = raw["datatype"]
    if datatype not in NUMPY_DTYPES:
        known = ", ".join(NUMPY_DTYPES)
        raise InvalidArgument(f"{where} datatype must be one of {known}; got {datatype!r}")
    values = _flatten(raw["data"])
    needed = math.prod(shape)
    if len(values) != needed:
        raise InvalidArgument(f"{where} has {len(values)} values but shape {shape} needs {needed}")
    return name, _typed_array(where, datatype, values).reshape(shape)


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    if not any(isinstance(item, list) for item in data):
        return data
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item))
    return flat


def _typed_array(where: str, datatype: str, values: list[Any]) -> np.ndarray[Any, Any]:
    """`values` as an array of `datatype`, refusing values of another kind or out of its range."""
    if datatype == "BYTES":
        wanted: tuple[type, ...] = (str,)
    elif datatype == "BOOL":
        wanted = (bool,)
    elif datatype.startswith("FP"):
        wanted = (int, float)
    else:
        wanted = (int,)
    for value in values:
        if not isinstance(value, wanted) or (datatype != "BOOL" and isinstance(value, bool)):
            raise InvalidArgument(f"{where} datatype {datatype} cannot hold the value {value!r}")
    try:
        return np.array(values, dtype=NUMPY_DTYPES[datatype])
    except (OverflowError, ValueError):
        raise InvalidArgument(f"{where} holds values out of the range of {datatype}") from None


def model_input(tensors: list[tuple[str, np.ndarray[Any, Any]]], signature: ModelSignature | None) -> Any:
    """The tensors as the model takes them: one array, a dict of arrays, or a DataFrame of columns."""
    names = [name for name, _ in tensors]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidArgument(f"input(s) {', '.join(map(repr, repeated))} given more than once")
    if signature is not None and signature.has_tensor_inputs:
        single = len(signature.inputs) == 1 and len(tensors) == 1
        return tensors[0][1] if single else dict(tensors)
    columnar = signature is not None and bool(signature.inputs)
    if columnar or all(_is_column(array) for _, array in tensors):
        return _frame(tensors)
    return tensors[0][1] if len(tensors) == 1 else dict(tensors)


def _is_column(array: np.ndarray[Any, Any]) -> bool:
    return array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1)


def _frame(tensors: list[tuple[str, np.ndarray[Any, Any]]]) -> pd.DataFrame:
    first_name, first = tensors[0]
    for name, array in tensors:
        if not _is_column(array):
            raise InvalidArgument(
                f"input {name!r} has shape {list(array.shape)}; a column input needs [n] or [n, 1]"
            )
        if len(array) != len(first):
            raise InvalidArgument(
                f"input {name!r} has {len(array)} rows but input {first_name!r} has {len(first)}"
            )
    return pd.DataFrame({name: array.reshape(-1) for name, array in tensors})


def encode_infer_response(
    predictions: Any,
    *,
    model_name: str,
    model_version: str | None,
    request_id: str | None,
    signature: ModelSignature | None,
) -> bytes:
    """The infer response body: `model_name`, `model_version`, `id` and one output per prediction column.

    Raises:
        TypeError: A prediction holds a value JSON cannot represent.
    """
    body: dict[str, Any] = {"model_name": model_name}
    if model_version is not None:
        body["model_version"] = model_version
    if request_id is not None:
        body["id"] = request_id
    body["outputs"] = [_output(name, array) for name, array in _named_outputs(predictions, signature)]
    return json.dumps(body, allow_nan=False).encode()


def _named_outputs(predictions: Any, signature: ModelSignature | None) -> list[tuple[str, Any]]:
    if isinstance(predictions, pd.DataFrame):
        return [(str(column), predictions[column].to_numpy()) for column in predictions.columns]
    if isinstance(predictions, Mapping):
        return [(str(name), np.asarray(value)) for name, value in predictions.items()]
    default = DEFAULT_OUTPUT_NAME
    if signature is not None and len(signature.outputs) == 1 and signature.outputs[0].name:
        default = signature.outputs[0].name
    if isinstance(predictions, pd.Series):
        return [(default if predictions.name is None else str(predictions.name), predictions.to_numpy())]
    return [(default, np.asarray(predictions))]


def _output(name: str, array: np.ndarray[Any, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": datatype_of_dtype(array.dtype),
        "data": to_json_value(array.reshape(-1)),
    }


def datatype_of_dtype(dtype: Any) -> str:
    """The Open Inference Protocol datatype of a numpy dtype (BYTES for strings, objects and dates)."""
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return "BOOL"
    bits = 8 * int(getattr(dtype, "itemsize", 0))
    if kind in "iu":
        return f"{'U' if kind == 'u' else ''}INT{bits}"
    if kind == "f" and bits in (16, 32, 64):
        return f"FP{bits}"
    return "BYTES"


def model_metadata(
    name: str, version: str | None, flavor: str, signature: ModelSignature | None
) -> dict[str, Any]:
    """The model metadata response: name, versions, platform and the signature's inputs and outputs."""
    return {
        "name": name,
        "versions": [] if version is None else [version],
        "platform": f"cairn-{flavor}",
        "inputs": tensor_metadata("input", signature.inputs if signature else ()),
        "outputs": tensor_metadata("output", signature.outputs if signature else ()),
    }


def tensor_metadata(role: str, specs: tuple[Spec, ...]) -> list[dict[str, Any]]:
    """Each spec as `{name, datatype, shape}`; unnamed specs are called `<role>-<position>`."""
    from cairn.models.signature import ColumnSpec

    described = []
    for position, spec in enumerate(specs):
        if isinstance(spec, ColumnSpec):
            datatype, shape = _COLUMN_DATATYPES.get(spec.type, "BYTES"), [-1]
        else:
            dtype = np.dtype(object) if spec.dtype in ("str", "bytes") else np.dtype(spec.dtype)
            datatype, shape = datatype_of_dtype(dtype), list(spec.shape)
        name = spec.name if spec.name is not None else f"{role}-{position}"
        described.append({"name": name, "datatype": datatype, "shape": shape})
    return described
