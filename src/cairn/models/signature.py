"""Model signatures: the columns or tensors a model takes and returns, and the params it accepts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cairn.errors import InvalidArgument
from cairn.models.datatypes import DataType, parse_data_type
from cairn.models.param_values import convert_param_value, param_value_from_json, param_value_to_json


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a tabular input or output.

    Attributes:
        name: The column name; None for unnamed columns, which are matched by position.
        type: The values' type.
        optional: True if the column may be absent from the input.
    """

    name: str | None
    type: DataType
    optional: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", parse_data_type("column type", self.type))
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise InvalidArgument(f"column name must be a non-empty string or None; got {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this column."""
        return {"name": self.name, "type": self.type.value, "optional": self.optional}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor (numpy array) input or output.

    Attributes:
        name: The tensor name in a dict of tensors; None for a single, unnamed tensor.
        dtype: The numpy dtype name, such as "float32".
        shape: The dimensions; -1 marks a dimension of any size (usually the batch).
    """

    name: str | None
    dtype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        import numpy as np

        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise InvalidArgument(f"tensor {self.name!r} dtype {self.dtype!r} is not a numpy dtype") from None
        # Strings and bytes of any length: the length is a property of the data, not of the model.
        object.__setattr__(self, "dtype", {"U": "str", "S": "bytes"}.get(dtype.kind, dtype.name))
        shape = tuple(self.shape)
        if any(isinstance(d, bool) or not isinstance(d, int) or d < -1 for d in shape):
            raise InvalidArgument(f"tensor {self.name!r} shape must hold integers >= -1; got {self.shape!r}")
        object.__setattr__(self, "shape", shape)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this tensor."""
        return {"name": self.name, "type": "tensor", "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ParamSpec:
    """One inference parameter, passed to `predict(data, params=...)`.

    Attributes:
        name: The parameter name.
        type: The value's type.
        default: The value used when the caller does not pass the param.
        shape: None for a scalar, `(-1,)` for a list of values.
    """

    name: str
    type: DataType
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidArgument(f"param name must be a non-empty string; got {self.name!r}")
        object.__setattr__(self, "type", parse_data_type(f"param {self.name!r} type", self.type))
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))
            if self.shape != (-1,):
                raise InvalidArgument(f"param {self.name!r} shape must be None or (-1,); got {self.shape!r}")
        if self.default is not None:
            default = convert_param_value(self.name, self.type, self.shape, self.default)
            object.__setattr__(self, "default", default)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this param."""
        return {
            "name": self.name,
            "type": self.type.value,
            "default": param_value_to_json(self.type, self.default),
            "shape": None if self.shape is None else list(self.shape),
        }


Spec = ColumnSpec | TensorSpec


@dataclass(frozen=True)
class ModelSignature:
    """What a model takes and returns.

    Attributes:
        inputs: All columns or all tensors.
        outputs: All columns or all tensors; empty when unknown.
        params: The inference params the model accepts; empty when none.
    """

    inputs: tuple[Spec, ...]
    outputs: tuple[Spec, ...] = ()
    params: tuple[ParamSpec, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", _checked_specs("inputs", self.inputs))
        object.__setattr__(self, "outputs", _checked_specs("outputs", self.outputs))
        params = tuple(self.params or ())
        _check_unique("params", [p.name for p in params])
        object.__setattr__(self, "params", params)

    @property
    def has_tensor_inputs(self) -> bool:
        """True if the inputs are tensors rather than columns."""
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this signature."""
        return {
            "inputs": [spec.to_dict() for spec in self.inputs],
            "outputs": [spec.to_dict() for spec in self.outputs],
            "params": [param.to_dict() for param in self.params],
        }

    @classmethod
    def from_dict(cls, data: object) -> ModelSignature:
        """Parse `to_dict`'s form; `InvalidArgument` naming the offending field."""
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"signature must be an object; got {type(data).__name__}")
        unknown = sorted(set(data) - {"inputs", "outputs", "params"})
        if unknown:
            raise InvalidArgument(f"signature has unknown fields: {', '.join(map(str, unknown))}")
        return cls(
            inputs=tuple(_spec_from_dict(f"signature.inputs[{i}]", d) for i, d in _items(data, "inputs")),
            outputs=tuple(_spec_from_dict(f"signature.outputs[{i}]", d) for i, d in _items(data, "outputs")),
            params=tuple(_param_from_dict(f"signature.params[{i}]", d) for i, d in _items(data, "params")),
        )


def _checked_specs(field_name: str, specs: Sequence[Spec] | None) -> tuple[Spec, ...]:
    specs = tuple(specs or ())
    for spec in specs:
        if not isinstance(spec, ColumnSpec | TensorSpec):
            raise InvalidArgument(f"signature {field_name} must hold ColumnSpec or TensorSpec; got {spec!r}")
    if len({type(spec) for spec in specs}) > 1:
        raise InvalidArgument(f"signature {field_name} must be all columns or all tensors, not a mix")
    named = [spec.name for spec in specs if spec.name is not None]
    if named and len(named) != len(specs):
        raise InvalidArgument(f"signature {field_name} must be all named or all unnamed")
    if specs and isinstance(specs[0], TensorSpec) and len(specs) > 1 and not named:
        raise InvalidArgument(f"signature {field_name}: several tensors need names")
    _check_unique(field_name, named)
    return specs


def _check_unique(field_name: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidArgument(f"signature {field_name} names {name!r} twice")
        seen.add(name)


def _items(data: Mapping[str, Any], key: str) -> list[tuple[int, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgument(f"signature.{key} must be a list; got {type(value).__name__}")
    return list(enumerate(value))


def _require(where: str, data: object, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidArgument(f"{where} must be an object; got {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidArgument(f"{where} has unknown fields: {', '.join(map(str, unknown))}")
    return data


def _optional_name(where: str, data: Mapping[str, Any]) -> str | None:
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidArgument(f"{where}.name must be a string or null; got {name!r}")
    return name


def _spec_from_dict(where: str, raw: object) -> Spec:
    data = _require(where, raw, {"name", "type", "optional", "dtype", "shape"})
    name = _optional_name(where, data)
    if data.get("type") == "tensor":
        shape = data.get("shape")
        if not isinstance(shape, list):
            raise InvalidArgument(f"{where}.shape must be a list of integers; got {shape!r}")
        dtype = data.get("dtype")
        if not isinstance(dtype, str):
            raise InvalidArgument(f"{where}.dtype must be a string; got {dtype!r}")
        return TensorSpec(name=name, dtype=dtype, shape=tuple(shape))
    optional = data.get("optional", False)
    if not isinstance(optional, bool):
        raise InvalidArgument(f"{where}.optional must be true or false; got {optional!r}")
    return ColumnSpec(name=name, type=parse_data_type(f"{where}.type", data.get("type")), optional=optional)


def _param_from_dict(where: str, raw: object) -> ParamSpec:
    data = _require(where, raw, {"name", "type", "default", "shape"})
    name = data.get("name")
    if not isinstance(name, str):
        raise InvalidArgument(f"{where}.name must be a string; got {name!r}")
    type_ = parse_data_type(f"{where}.type", data.get("type"))
    shape = data.get("shape")
    if shape is not None and not isinstance(shape, list):
        raise InvalidArgument(f"{where}.shape must be null or [-1]; got {shape!r}")
    default = param_value_from_json(name, type_, data.get("default"))
    return ParamSpec(name=name, type=type_, default=default, shape=None if shape is None else tuple(shape))
