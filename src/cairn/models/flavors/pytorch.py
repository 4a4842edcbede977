"""The PyTorch flavor: modules as TorchScript (the default), as a state dict plus their class, or pickled."""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, SavedFlavor
from cairn.models.flavors.flavor_support import (
    check_serialization,
    distribution_of,
    require_library,
    survives_json,
    type_name,
)

if TYPE_CHECKING:
    import torch

_FILES = {"torchscript": "model.pt", "state_dict": "state_dict.pt", "pickle": "model.pth"}
"""Serialization name -> the file it writes; "torchscript" is the default, "pickle" must be asked for."""
_OPTIONS = {
    "float_dtype": set(_FILES),
    "model_class": {"state_dict"},
    "init_args": {"state_dict"},
}
"""Option name -> the serializations it applies to."""
_FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


class PyTorchFlavor:
    """Saves `torch.nn.Module`s (CPU only)."""

    name = "pytorch"

    def can_save(self, model: Any) -> bool:
        """True for any `torch.nn.Module` (only if torch is already imported)."""
        library = sys.modules.get("torch")
        return library is not None and isinstance(model, library.nn.Module)

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write the module in the chosen format.

        Options:
            float_dtype: the dtype floating inputs are cast to before `forward` ("float32" by default).
            model_class: for "state_dict", the module's class or its "module:QualName", importable at load.
            init_args: for "state_dict", the JSON-able keyword arguments that build an empty module.
        """
        require_library("torch", "pytorch")
        import torch

        fmt = check_serialization("pytorch", serialization, _FILES, "torchscript")
        settings = _check_options(fmt, options or {})
        if not self.can_save(model):
            raise InvalidArgument(f"model: expected a torch.nn.Module; got {type_name(model)}")
        path = data_dir / _FILES[fmt]
        config: dict[str, Any] = {"serialization": fmt, "file": path.name, "torch_version": torch.__version__}
        config["float_dtype"] = settings.get("float_dtype", "float32")
        if fmt == "torchscript":
            config["method"] = _save_torchscript(model, path, input_example, config["float_dtype"])
        elif fmt == "state_dict":
            config.update(_save_state_dict(model, path, settings))
        else:
            torch.save(model, path)
        return SavedFlavor(config=config, packages=(distribution_of("torch"),), unsafe_format=fmt == "pickle")

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> PyTorchPredictor:
        """Read the files written by `save`; state dicts load with `weights_only=True`."""
        require_library("torch", "pytorch")
        import torch

        fmt = check_serialization("pytorch", config.get("serialization"), _FILES, "torchscript")
        path = data_dir / str(config.get("file", _FILES[fmt]))
        float_dtype = _check_float_dtype(config.get("float_dtype", "float32"))
        if fmt == "torchscript":
            with _torchscript_deprecation_silenced():
                model = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
        elif fmt == "state_dict":
            cls = _import_class(str(config.get("model_class")))
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            model = _module_from_state(cls, dict(config.get("init_args") or {}), state)
        else:
            model = torch.load(path, map_location="cpu", weights_only=False)
            if not self.can_save(model):
                raise InvalidArgument(f"{path.name}: holds a {type_name(model)}, not a torch.nn.Module")
        model.eval()
        return PyTorchPredictor(model, float_dtype)


class PyTorchPredictor:
    """Runs a module in eval mode without gradients: numpy in, numpy out."""

    input_kind = InputKind.NDARRAY

    def __init__(self, model: torch.nn.Module, float_dtype: str = "float32") -> None:
        self._model = model
        self._float_dtype = float_dtype

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Call the module on an array (or a dict of arrays, as keyword arguments); return numpy.

        Floating inputs are cast to the saved `float_dtype`; outputs that are tuples or dicts of tensors
        come back as lists or dicts of arrays.
        """
        import torch

        if params:
            raise InvalidArgument(f"params: the pytorch flavor takes no predict params; got {sorted(params)}")
        with torch.no_grad():
            if isinstance(data, Mapping):
                kwargs = {str(k): _to_tensor(v, self._float_dtype) for k, v in data.items()}
                output = self._model(**kwargs)
            else:
                output = self._model(_to_tensor(data, self._float_dtype))
        return _to_numpy(output)

    def unwrap(self) -> torch.nn.Module:
        """The module (a ScriptModule for TorchScript packages)."""
        return self._model


def _check_options(fmt: str, options: Mapping[str, Any]) -> dict[str, Any]:
    for key in options:
        if key not in _OPTIONS:
            raise InvalidArgument(
                f"options: unknown key {key!r} for the pytorch flavor; known: {', '.join(sorted(_OPTIONS))}"
            )
        if fmt not in _OPTIONS[key]:
            raise InvalidArgument(f"options: {key!r} only applies to serialization='state_dict'; got {fmt!r}")
    settings = dict(options)
    if "float_dtype" in settings:
        settings["float_dtype"] = _check_float_dtype(settings["float_dtype"])
    return settings


def _check_float_dtype(value: object) -> str:
    if value not in _FLOAT_DTYPES:
        raise InvalidArgument(f"float_dtype must be one of {', '.join(_FLOAT_DTYPES)}; got {value!r}")
    return str(value)


@contextmanager
def _torchscript_deprecation_silenced() -> Iterator[None]:
    """Silence torch's deprecation notice for `torch.jit`, which this flavor uses on the user's behalf."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.", category=DeprecationWarning)
        yield


def _save_torchscript(model: torch.nn.Module, path: Path, input_example: Any, float_dtype: str) -> str:
    """Script the module, or trace it with `input_example` if scripting fails; return the method used."""
    import torch

    with _torchscript_deprecation_silenced():
        if isinstance(model, torch.jit.ScriptModule):
            torch.jit.save(model, str(path))
            return "script"
        try:
            compiled = torch.jit.script(model)
            method = "script"
        except Exception as script_error:  # scripting fails in many ways (syntax, types, missing source)
            compiled = _trace(model, input_example, float_dtype, script_error)
            method = "trace"
        torch.jit.save(compiled, str(path))
    return method


def _trace(model: torch.nn.Module, input_example: Any, float_dtype: str, script_error: Exception) -> Any:
    """Trace `model` with `input_example` (in eval mode, restoring the caller's mode afterwards)."""
    import torch

    name = type_name(model)
    if input_example is None:
        raise InvalidArgument(
            f"model: TorchScript cannot script {name}; pass an input_example to trace it, or use "
            f"serialization='state_dict'. Scripting failed with: {script_error}"
        )
    was_training = model.training
    try:
        example = _to_tensor(input_example, float_dtype)
        traced = torch.jit.trace(model.eval(), example)  # type: ignore[no-untyped-call]
    except Exception as trace_error:  # tracing runs the user's forward, which may raise anything
        raise InvalidArgument(
            f"model: TorchScript can neither script {name} nor trace it with the input example; use "
            f"serialization='state_dict'. Tracing failed with: {trace_error}. "
            f"Scripting failed with: {script_error}"
        ) from trace_error
    finally:
        model.train(was_training)
    warnings.warn(
        f"{name} could not be scripted, so it was traced with the input example: control flow that "
        f"depends on the input is frozen to the example's path. Scripting failed with: "
        f"{_first_line(script_error)}",
        UserWarning,
        stacklevel=2,
    )
    return traced


def _first_line(error: Exception) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(error).__name__


def _save_state_dict(model: torch.nn.Module, path: Path, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Write the weights; check that `model_class(**init_args)` is importable and accepts them."""
    import torch

    if "model_class" not in settings:
        raise InvalidArgument(
            "options: serialization='state_dict' needs model_class (a class or 'module:Name')"
        )
    model_class = _class_reference(settings["model_class"])
    init_args = settings.get("init_args") or {}
    if not (isinstance(init_args, dict) and survives_json(init_args)):
        raise InvalidArgument(
            f"options: init_args must be a dict that JSON stores unchanged; got {init_args!r}"
        )
    state = model.state_dict()
    try:
        # On the meta device the empty module allocates no memory: loading checks names and shapes only.
        with torch.device("meta"):
            empty = _import_class(model_class)(**init_args)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*copying from a non-meta parameter.*", category=UserWarning
            )
            empty.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as error:
        raise InvalidArgument(
            f"options: the state dict does not load into {model_class}(**init_args): {error}"
        ) from error
    torch.save(state, path)
    return {"model_class": model_class, "init_args": init_args}


def _module_from_state(cls: type[torch.nn.Module], init_args: dict[str, Any], state: Any) -> torch.nn.Module:
    """`cls(**init_args)` holding the saved weights, without first filling it with random ones.

    The module is built on the meta device and the saved tensors are assigned to it. A module that keeps
    tensors outside its state dict (non-persistent buffers) would be left with meta tensors; it is then
    built normally and the weights copied in.
    """
    import torch

    with torch.device("meta"):
        empty = cls(**init_args)
    empty.load_state_dict(state, assign=True)
    if not any(t.is_meta for t in (*empty.parameters(), *empty.buffers())):
        return empty
    model = cls(**init_args)
    model.load_state_dict(state)
    return model


def _class_reference(model_class: object) -> str:
    """The `module:QualName` reference of a class (or such a string); refuses what cannot be imported."""
    if isinstance(model_class, type):
        reference = f"{model_class.__module__}:{model_class.__qualname__}"
    elif isinstance(model_class, str):
        reference = model_class
    else:
        raise InvalidArgument(
            f"options: model_class must be a class or 'module:QualName'; got {model_class!r}"
        )
    module, _, qualname = reference.partition(":")
    if not module or not qualname or "<locals>" in qualname:
        raise InvalidArgument(f"options: model_class {reference!r} is not an importable 'module:QualName'")
    if module == "__main__":
        raise InvalidArgument(
            f"options: model_class {reference!r} lives in __main__, which cannot be imported at load; "
            "move it to a module and ship it with code_paths"
        )
    return reference


def _import_class(reference: str) -> type[torch.nn.Module]:
    """The `torch.nn.Module` subclass named "module:QualName"; `InvalidArgument` if it cannot be found."""
    import torch

    module_name, _, qualname = reference.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError) as error:
        raise InvalidArgument(
            f"model_class: cannot import {reference!r} ({error}); ship its module with code_paths"
        ) from error
    if not (isinstance(found, type) and issubclass(found, torch.nn.Module)):
        raise InvalidArgument(f"model_class: {reference!r} is not a torch.nn.Module subclass")
    return found


def _to_tensor(value: Any, float_dtype: str) -> torch.Tensor:
    """A CPU tensor from an array, DataFrame, list or tensor; floating values cast to `float_dtype`."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.cpu()
    else:
        array = value.to_numpy() if hasattr(value, "to_numpy") else np.asarray(value)
        try:
            tensor = torch.from_numpy(np.ascontiguousarray(array))
        except TypeError as error:
            raise InvalidArgument(
                f"input: cannot make a tensor from {array.dtype} values ({error})"
            ) from error
    if tensor.is_floating_point():
        tensor = tensor.to(getattr(torch, float_dtype))
    return tensor


def _to_numpy(output: Any) -> Any:
    import torch

    if isinstance(output, torch.Tensor):
        if output.dtype == torch.bfloat16:  # numpy has no bfloat16
            output = output.float()
        return output.detach().cpu().numpy()
    if isinstance(output, Mapping):
        return {key: _to_numpy(value) for key, value in output.items()}
    if isinstance(output, tuple | list):
        return [_to_numpy(value) for value in output]
    return output


FLAVOR = PyTorchFlavor()
"""The pytorch flavor instance."""
