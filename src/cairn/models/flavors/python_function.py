"""The python_function flavor: `PythonModel` subclasses and plain functions, by reference or cloudpickle."""

from __future__ import annotations

import importlib
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from cairn.errors import InvalidArgument
from cairn.models.code_paths import code_reference, import_reference
from cairn.models.flavor import InputKind, Predictor, SavedFlavor
from cairn.models.python_model import PythonModel, PythonModelContext

PICKLE_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
_OPTIONS = {"artifacts", "code_paths", "model_config", "input_kind"}
_SERIALIZATIONS = ("reference", "cloudpickle")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class PythonFunctionPredictor:
    """A loaded `PythonModel` (with its context) or plain function."""

    def __init__(self, model: Any, context: PythonModelContext, input_kind: InputKind) -> None:
        self.input_kind = input_kind
        self._model = model
        self._context = context

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Call `PythonModel.predict(context, data, params=...)`, or the function on `data`."""
        if isinstance(self._model, PythonModel):
            return self._model.predict(self._context, data, params=dict(params) if params else None)
        if params:
            return self._model(data, params=dict(params))
        return self._model(data)

    def unwrap(self) -> Any:
        """The `PythonModel` instance or the function."""
        return self._model


class PythonFunctionFlavor:
    """Saves Python models written by the user.

    Serialization "reference" records `module:qualname` (and, for a `PythonModel`, the instance's
    attributes as JSON) and needs the class or function to live in one of the `code_paths`;
    "cloudpickle" pickles the object (an unsafe format). None picks "reference" when possible.
    Options: `artifacts` (name -> local file or folder, copied into the package), `model_config`
    (JSON settings handed to the model), `input_kind` ("dataframe", "ndarray" or "native").
    """

    name = "python_function"

    def can_save(self, model: Any) -> bool:
        """True for `PythonModel` instances and plain callables (not classes)."""
        return isinstance(model, PythonModel) or (callable(model) and not isinstance(model, type))

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write the model by reference or with cloudpickle, and copy its artifacts."""
        if not self.can_save(model):
            raise InvalidArgument(
                f"model: python_function saves PythonModel instances or functions, not {type(model).__name__}"
            )
        opts = dict(options or {})
        unknown = sorted(set(opts) - _OPTIONS)
        if unknown:
            raise InvalidArgument(f"python_function options: unknown {', '.join(unknown)}")
        if serialization not in (None, *_SERIALIZATIONS):
            raise InvalidArgument(
                f"serialization must be one of {', '.join(_SERIALIZATIONS)}; got {serialization!r}"
            )
        input_kind = _input_kind(opts.get("input_kind", InputKind.DATAFRAME.value))
        model_config = _json_mapping("model_config", opts.get("model_config") or {})
        config: dict[str, Any] = {
            "kind": "python_model" if isinstance(model, PythonModel) else "function",
            "input_kind": input_kind.value,
            "model_config": model_config,
            "artifacts": _copy_artifacts(opts.get("artifacts") or {}, data_dir),
        }
        reference = _reference(model, opts.get("code_paths") or (), serialization)
        if reference is not None:
            config.update(serialization="reference", **reference)
            return SavedFlavor(config=config)
        cloudpickle = _cloudpickle()
        with (data_dir / PICKLE_FILE).open("wb") as stream:
            cloudpickle.dump(model, stream)
        config.update(
            serialization="cloudpickle", pickle_file=PICKLE_FILE, cloudpickle_version=cloudpickle.__version__
        )
        return SavedFlavor(config=config, packages=("cloudpickle",), unsafe_format=True)

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> Predictor:
        """Rebuild the model, hand it its context and wrap it as a predictor."""
        if config.get("serialization") == "reference":
            model = _from_reference(config)
        elif config.get("serialization") == "cloudpickle":
            cloudpickle = _cloudpickle()
            with (data_dir / str(config["pickle_file"])).open("rb") as stream:
                model = cloudpickle.load(stream)
        else:
            raise InvalidArgument(f"python_function serialization {config.get('serialization')!r} is unknown")
        artifacts = {
            name: str(data_dir / relative) for name, relative in dict(config.get("artifacts", {})).items()
        }
        context = PythonModelContext(artifacts=artifacts, model_config=dict(config.get("model_config", {})))
        if isinstance(model, PythonModel):
            model.load_context(context)
        return PythonFunctionPredictor(model, context, _input_kind(config.get("input_kind", "dataframe")))


def _cloudpickle() -> Any:
    try:
        return importlib.import_module("cloudpickle")
    except ImportError:
        raise InvalidArgument(
            "cloudpickle is not installed; run: pip install cloudpickle (or save the model by reference "
            "from code_paths)"
        ) from None


def _input_kind(value: object) -> InputKind:
    try:
        return InputKind(str(value))
    except ValueError:
        known = ", ".join(kind.value for kind in InputKind)
        raise InvalidArgument(f"input_kind must be one of {known}; got {value!r}") from None


def _json_mapping(field: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{field} must be a dict; got {type(value).__name__}")
    try:
        result: dict[str, Any] = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidArgument(f"{field} must be JSON-serialisable: {error}") from None
    return result


def _reference(model: Any, code_paths: Any, serialization: str | None) -> dict[str, Any] | None:
    if serialization == "cloudpickle":
        return None
    target = type(model) if isinstance(model, PythonModel) else model
    reference = code_reference(target, code_paths)
    why = "its class or function is not defined in a module among the code_paths"
    state: dict[str, Any] | None = None
    if reference is not None and isinstance(model, PythonModel):
        state = _json_state(getattr(model, "__dict__", None))
        why = "its attributes are not plain JSON values (keep large state in artifacts)"
        reference = reference if state is not None else None
    if reference is None:
        if serialization == "reference":
            raise InvalidArgument(f"model cannot be saved by reference: {why}")
        return None
    return {"reference": reference, "state": state}


def _json_state(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if attributes is None:
        return None
    try:
        state: dict[str, Any] = json.loads(json.dumps(dict(attributes), allow_nan=False))
    except (TypeError, ValueError):
        return None
    return state if state == dict(attributes) else None


def _from_reference(config: Mapping[str, Any]) -> Any:
    target = import_reference(str(config.get("reference")))
    if config.get("kind") != "python_model":
        if not callable(target):
            raise InvalidArgument(f"model reference {config.get('reference')!r} is not callable")
        return target
    if not (isinstance(target, type) and issubclass(target, PythonModel)):
        raise InvalidArgument(f"model reference {config.get('reference')!r} is not a PythonModel subclass")
    instance = target.__new__(target)
    instance.__dict__.update(dict(config.get("state") or {}))
    return instance


def _copy_artifacts(artifacts: Mapping[str, Any], data_dir: Path) -> dict[str, str]:
    if not isinstance(artifacts, Mapping):
        raise InvalidArgument(
            f"artifacts must be a dict of name -> local path; got {type(artifacts).__name__}"
        )
    copied: dict[str, str] = {}
    for name, location in artifacts.items():
        if not isinstance(name, str) or not _ARTIFACT_NAME.match(name) or name in (".", ".."):
            raise InvalidArgument(f"artifact name {name!r} must be letters, digits, '_', '-' and '.'")
        source = _local_path(name, location)
        relative = f"{ARTIFACTS_DIR}/{name}/{source.name}"
        target = data_dir / relative
        target.parent.mkdir(parents=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
        copied[name] = relative
    return copied


def _local_path(name: str, location: Any) -> Path:
    text = str(location)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        path = Path(url2pathname(parsed.path))
    elif parsed.scheme and len(parsed.scheme) > 1:
        raise InvalidArgument(
            f"artifact {name!r}: only local paths and file: URIs are accepted; got {text!r}"
        )
    else:
        path = Path(text)
    if not path.exists():
        raise InvalidArgument(f"artifact {name!r}: {text!r} does not exist")
    return path.resolve()


FLAVOR = PythonFunctionFlavor()
"""The python_function flavor."""
