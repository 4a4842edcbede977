"""The ONNX flavor: checked `.onnx` graphs, run with ONNX Runtime on the CPU."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, SavedFlavor
from cairn.models.flavors.flavor_support import distribution_of, require_library

if TYPE_CHECKING:
    import numpy as np
    import onnx

_FILE = "model.onnx"
_PROVIDERS = ["CPUExecutionProvider"]
_NUMPY_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint64)": "uint64",
    "tensor(uint32)": "uint32",
    "tensor(uint16)": "uint16",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
"""ONNX Runtime's input type names -> the numpy dtype inputs are cast to (when numpy can do it safely)."""


class OnnxFlavor:
    """Saves an `onnx.ModelProto`, its serialized bytes, or a path to a `.onnx` file."""

    name = "onnx"

    def can_save(self, model: Any) -> bool:
        """True for an `onnx.ModelProto` (if onnx is imported) or a path to an existing `.onnx` file."""
        if isinstance(model, str | os.PathLike):
            path = Path(model)
            return path.suffix == ".onnx" and path.is_file()
        library = sys.modules.get("onnx")
        return library is not None and isinstance(model, library.ModelProto)

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Check the graph with `onnx.checker` and write it as `model.onnx`."""
        require_library("onnx", "onnx")
        import onnx

        if serialization not in (None, "onnx"):
            raise InvalidArgument(f"serialization must be onnx for the onnx flavor; got {serialization!r}")
        if options:
            raise InvalidArgument(f"options: the onnx flavor takes no options; got {sorted(options)}")
        proto = _as_proto(model)
        try:
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as error:
            raise InvalidArgument(f"model: not a valid ONNX graph: {error}") from error
        onnx.save_model(proto, str(data_dir / _FILE))
        initializers = {tensor.name for tensor in proto.graph.initializer}
        config = {
            "serialization": "onnx",
            "file": _FILE,
            "onnx_version": onnx.__version__,
            "ir_version": proto.ir_version,
            "opsets": {entry.domain or "ai.onnx": entry.version for entry in proto.opset_import},
            "inputs": [value.name for value in proto.graph.input if value.name not in initializers],
            "outputs": [value.name for value in proto.graph.output],
        }
        return SavedFlavor(config=config, packages=(distribution_of("onnx"), distribution_of("onnxruntime")))

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> OnnxPredictor:
        """Open the graph in an ONNX Runtime session on the CPU."""
        require_library("onnxruntime", "onnx")
        import onnxruntime  # type: ignore[import-untyped]

        if config.get("serialization", "onnx") != "onnx":
            raise InvalidArgument(
                f"serialization must be onnx for the onnx flavor; got {config.get('serialization')!r}"
            )
        path = data_dir / str(config.get("file", _FILE))
        session = onnxruntime.InferenceSession(str(path), providers=_PROVIDERS)
        return OnnxPredictor(session)


class OnnxPredictor:
    """Runs an ONNX Runtime session: one array (single-input graphs) or a dict of arrays by input name."""

    input_kind = InputKind.NDARRAY

    def __init__(self, session: Any) -> None:
        from onnxruntime.capi import onnxruntime_pybind11_state as state  # type: ignore[import-untyped]

        self._refusals: tuple[type[Exception], ...] = (state.InvalidArgument, state.Fail)
        self._session = session
        self._inputs: dict[str, str] = {item.name: item.type for item in session.get_inputs()}
        self._outputs: list[str] = [item.name for item in session.get_outputs()]

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Run the graph; return an array for a single output, else a dict of output name -> array.

        Inputs are cast to the graph's declared types when numpy can do so without changing their kind
        (float64 -> float32, int -> float); outputs that are sequences of maps (scikit-learn's ZipMap
        probabilities) come back as DataFrames with one column per key.
        """
        if params:
            raise InvalidArgument(f"params: the onnx flavor takes no predict params; got {sorted(params)}")
        feeds = {name: _cast(name, value, self._inputs[name]) for name, value in self._feeds(data).items()}
        try:
            results = self._session.run(None, feeds)
        except self._refusals as error:
            raise InvalidArgument(f"input: ONNX Runtime refused it: {error}") from error
        outputs = {name: _output(value) for name, value in zip(self._outputs, results, strict=True)}
        if len(outputs) == 1:
            return next(iter(outputs.values()))
        return outputs

    def unwrap(self) -> Any:
        """The `onnxruntime.InferenceSession`."""
        return self._session

    def _feeds(self, data: Any) -> Mapping[str, Any]:
        if isinstance(data, Mapping):
            unknown = sorted(set(map(str, data)) - set(self._inputs))
            missing = sorted(set(self._inputs) - set(map(str, data)))
            if unknown or missing:
                raise InvalidArgument(
                    f"input: the graph's inputs are {', '.join(self._inputs)}; "
                    f"missing: {', '.join(missing) or 'none'}; unknown: {', '.join(unknown) or 'none'}"
                )
            return {str(name): value for name, value in data.items()}
        if len(self._inputs) != 1:
            raise InvalidArgument(
                f"input: the graph has several inputs ({', '.join(self._inputs)}); "
                "pass a dict of name -> array"
            )
        return {next(iter(self._inputs)): data}


def _as_proto(model: Any) -> onnx.ModelProto:
    """The ModelProto for a ModelProto, its serialized bytes, or a path to a `.onnx` file."""
    import onnx
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

    if isinstance(model, onnx.ModelProto):
        return model
    try:
        if isinstance(model, bytes | bytearray):
            return onnx.load_model_from_string(bytes(model))
        if isinstance(model, str | os.PathLike):
            return onnx.load_model(os.fspath(model))
    except DecodeError as error:
        raise InvalidArgument(f"model: not a serialized ONNX model: {error}") from error
    except OSError as error:
        raise InvalidArgument(f"model: cannot read the ONNX file {os.fspath(model)!r}: {error}") from error
    raise InvalidArgument(
        f"model: expected an onnx.ModelProto, bytes or a .onnx path; got {type(model).__name__}"
    )


def _cast(name: str, value: Any, onnx_type: str) -> np.ndarray[Any, Any]:
    """`value` as an array of the input's declared dtype, when numpy can convert it within its kind."""
    import numpy as np

    array = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
    target = _NUMPY_TYPES.get(onnx_type)
    if target is None or array.dtype == target:
        return array
    if np.can_cast(array.dtype, target, casting="same_kind"):
        return array.astype(target)
    raise InvalidArgument(f"input {name!r}: cannot convert {array.dtype} values to {onnx_type}")


def _output(value: Any) -> Any:
    """An ONNX Runtime result: arrays unchanged, a list of maps as a DataFrame, anything else as an array."""
    import numpy as np

    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        import pandas as pd

        return pd.DataFrame(value)
    return np.asarray(value)


FLAVOR = OnnxFlavor()
"""The onnx flavor instance."""
