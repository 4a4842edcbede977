"""The XGBoost flavor: boosters and scikit-learn wrappers in XGBoost's own UBJSON or JSON files."""

from __future__ import annotations

import inspect
import pickle
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, SavedFlavor
from cairn.models.flavors.flavor_support import (
    check_serialization,
    distribution_of,
    plain_params,
    require_library,
    type_name,
)

if TYPE_CHECKING:
    import xgboost

_FILES = {"ubj": "model.ubj", "json": "model.json", "pickle": "model.pkl"}
"""Serialization name -> the file it writes; "ubj" is the default, "pickle" must be asked for."""
_BOOSTER = "Booster"


class XGBoostFlavor:
    """Saves `xgboost.Booster` and the scikit-learn wrappers (`XGBClassifier`, `XGBRegressor`, ...)."""

    name = "xgboost"

    def can_save(self, model: Any) -> bool:
        """True for a Booster or any XGBoost scikit-learn wrapper (only if xgboost is already imported)."""
        library = sys.modules.get("xgboost")
        return library is not None and isinstance(model, (library.Booster, library.XGBModel))

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write the model as `model.ubj`/`model.json` (native) or `model.pkl` (pickle, on request)."""
        require_library("xgboost", "xgboost")
        import xgboost

        fmt = check_serialization("xgboost", serialization, _FILES, "ubj")
        if options:
            raise InvalidArgument(f"options: the xgboost flavor takes no options; got {sorted(options)}")
        if not self.can_save(model):
            raise InvalidArgument(f"model: expected an xgboost Booster or XGBModel; got {type_name(model)}")
        model_type = _model_type(model, native=fmt != "pickle")
        path = data_dir / _FILES[fmt]
        if fmt == "pickle":
            with path.open("wb") as out:
                pickle.dump(model, out)
        else:
            model.save_model(str(path))
        config: dict[str, Any] = {
            "serialization": fmt,
            "file": path.name,
            "model_type": model_type,
            "xgboost_version": xgboost.__version__,
        }
        packages = [distribution_of("xgboost")]
        if model_type != _BOOSTER:  # XGBoost's scikit-learn wrappers refuse to work without scikit-learn
            config["params"], config["params_left_out"] = plain_params(model.get_params())
            packages.append(distribution_of("sklearn"))
        return SavedFlavor(config=config, packages=tuple(packages), unsafe_format=fmt == "pickle")

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> XGBoostPredictor:
        """Read the files written by `save`; sklearn wrappers come back as the same wrapper class."""
        require_library("xgboost", "xgboost")
        import xgboost

        fmt = check_serialization("xgboost", config.get("serialization"), _FILES, "ubj")
        path = data_dir / str(config.get("file", _FILES[fmt]))
        if fmt == "pickle":
            with path.open("rb") as stream:
                model = pickle.load(stream)
            if not self.can_save(model):
                raise InvalidArgument(f"{path.name}: holds a {type_name(model)}, not an xgboost model")
            return XGBoostPredictor(model)
        model_type = str(config.get("model_type", _BOOSTER))
        if model_type == _BOOSTER:
            booster = xgboost.Booster()
            booster.load_model(str(path))
            return XGBoostPredictor(booster)
        wrapper = _wrapper_class(model_type)(**dict(config.get("params") or {}))
        wrapper.load_model(str(path))
        return XGBoostPredictor(wrapper)


class XGBoostPredictor:
    """Predicts with a Booster (through a DMatrix) or a scikit-learn wrapper (labels for classifiers)."""

    input_kind = InputKind.DATAFRAME

    def __init__(self, model: xgboost.Booster | xgboost.XGBModel) -> None:
        self._model = model

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict on a DataFrame; `params` are keyword arguments of the library's `predict`."""
        import xgboost

        kwargs = _predict_kwargs(self._model.predict, params)
        if isinstance(self._model, xgboost.Booster):
            matrix = xgboost.DMatrix(data, enable_categorical=True)
            return self._model.predict(matrix, **kwargs)
        return self._model.predict(data, **kwargs)

    def unwrap(self) -> xgboost.Booster | xgboost.XGBModel:
        """The Booster or the scikit-learn wrapper."""
        return self._model


def _model_type(model: Any, *, native: bool) -> str:
    """The model's kind: `Booster`, or the wrapper's class name (XGBoost's own class, for native files)."""
    import xgboost

    if isinstance(model, xgboost.Booster):
        return _BOOSTER
    name = type(model).__name__
    if native and getattr(xgboost, name, None) is not type(model):
        raise InvalidArgument(
            f"model: {type_name(model)} is not one of XGBoost's own wrapper classes, so the native format "
            "cannot rebuild it; save its booster (model.get_booster()) or pass serialization='pickle'"
        )
    if not model.__sklearn_is_fitted__():
        raise InvalidArgument(f"model: the {name} is not fitted")
    return name


def _wrapper_class(name: str) -> type[xgboost.XGBModel]:
    import xgboost

    cls = getattr(xgboost, name, None)
    if not (isinstance(cls, type) and issubclass(cls, xgboost.XGBModel)):
        raise InvalidArgument(f"model_type: {name!r} is not an XGBoost scikit-learn wrapper class")
    return cls


def _predict_kwargs(method: Callable[..., Any], params: Mapping[str, Any] | None) -> dict[str, Any]:
    """`params` as keyword arguments of `method`; `InvalidArgument` naming any it does not take."""
    if not params:
        return {}
    signature = inspect.signature(method)
    accepted = list(signature.parameters.values())[1:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted):
        return dict(params)
    names = {p.name for p in accepted}
    unknown = sorted(set(params) - names)
    if unknown:
        raise InvalidArgument(
            f"params: {', '.join(unknown)} not accepted by the model's predict; "
            f"known: {', '.join(sorted(names))}"
        )
    return dict(params)


FLAVOR = XGBoostFlavor()
"""The xgboost flavor instance."""
