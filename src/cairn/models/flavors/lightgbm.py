"""The LightGBM flavor: boosters and scikit-learn wrappers in LightGBM's own text model format."""

from __future__ import annotations

import importlib.metadata
import json
import pickle
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument, MissingExtra
from cairn.models.flavor import InputKind, SavedFlavor

if TYPE_CHECKING:
    import lightgbm

_FILES = {"text": "model.txt", "pickle": "model.pkl"}
"""Serialization name -> the file it writes; "text" is the default, "pickle" must be asked for."""
_BOOSTER = "Booster"


class LightGBMFlavor:
    """Saves `lightgbm.Booster` and the scikit-learn wrappers (`LGBMClassifier`, `LGBMRegressor`, ...)."""

    name = "lightgbm"

    def can_save(self, model: Any) -> bool:
        """True for a Booster or a LightGBM scikit-learn wrapper (only if lightgbm is already imported)."""
        library = sys.modules.get("lightgbm")
        return library is not None and isinstance(model, (library.Booster, library.LGBMModel))

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write `model.txt` (the booster; wrapper settings go to the config) or `model.pkl` on request."""
        _require_lightgbm()
        import lightgbm

        fmt = _check_serialization(serialization)
        if options:
            raise InvalidArgument(f"options: the lightgbm flavor takes no options; got {sorted(options)}")
        if not self.can_save(model):
            raise InvalidArgument(f"model: expected a lightgbm Booster or LGBMModel; got {_type_name(model)}")
        path = data_dir / _FILES[fmt]
        config: dict[str, Any] = {
            "serialization": fmt,
            "file": path.name,
            "lightgbm_version": lightgbm.__version__,
        }
        packages = [_distribution("lightgbm")]
        if isinstance(model, lightgbm.LGBMModel):
            packages.append(_distribution("sklearn"))
        if fmt == "pickle":
            with path.open("wb") as out:
                pickle.dump(model, out)
            config["model_type"] = type(model).__name__
        elif isinstance(model, lightgbm.Booster):
            model.save_model(str(path))
            config["model_type"] = _BOOSTER
        else:
            config.update(_wrapper_config(model))
            model.booster_.save_model(str(path))
        return SavedFlavor(config=config, packages=tuple(packages), unsafe_format=fmt == "pickle")

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> LightGBMPredictor:
        """Read the files written by `save`; wrappers come back as the same class with the same labels."""
        _require_lightgbm()
        import lightgbm

        fmt = _check_serialization(config.get("serialization"))
        path = data_dir / str(config.get("file", _FILES[fmt]))
        if fmt == "pickle":
            with path.open("rb") as stream:
                model = pickle.load(stream)
            if not self.can_save(model):
                raise InvalidArgument(f"{path.name}: holds a {_type_name(model)}, not a lightgbm model")
            return LightGBMPredictor(model)
        booster = lightgbm.Booster(model_file=str(path))
        if config.get("model_type", _BOOSTER) == _BOOSTER:
            return LightGBMPredictor(booster)
        return LightGBMPredictor(_rebuild_wrapper(booster, config))


class LightGBMPredictor:
    """Predicts with a Booster or a scikit-learn wrapper (class labels for classifiers)."""

    input_kind = InputKind.DATAFRAME

    def __init__(self, model: lightgbm.Booster | lightgbm.LGBMModel) -> None:
        self._model = model

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict on a DataFrame; `params` are keyword arguments of the library's `predict`."""
        return self._model.predict(data, **dict(params or {}))

    def unwrap(self) -> lightgbm.Booster | lightgbm.LGBMModel:
        """The Booster or the scikit-learn wrapper."""
        return self._model


def _check_serialization(serialization: object) -> str:
    fmt = "text" if serialization is None else serialization
    if not isinstance(fmt, str) or fmt not in _FILES:
        raise InvalidArgument(
            f"serialization must be one of {', '.join(_FILES)} for the lightgbm flavor; got {serialization!r}"
        )
    return fmt


def _wrapper_config(model: Any) -> dict[str, Any]:
    """What `_rebuild_wrapper` needs besides the booster: class, parameters, objective and class labels."""
    import lightgbm

    name = type(model).__name__
    if getattr(lightgbm, name, None) is not type(model):
        raise InvalidArgument(
            f"model: {_type_name(model)} is not one of LightGBM's own wrapper classes, so the text format "
            "cannot rebuild it; save its booster (model.booster_) or pass serialization='pickle'"
        )
    if not model.__sklearn_is_fitted__():
        raise InvalidArgument(f"model: the {name} is not fitted")
    if callable(model.objective_):
        raise InvalidArgument(
            f"model: the {name} uses a custom objective function, which the text format cannot hold; "
            "save its booster (model.booster_) or pass serialization='pickle'"
        )
    params, left_out = _plain_params(model.get_params())
    config: dict[str, Any] = {
        "model_type": name,
        "params": params,
        "params_left_out": left_out,
        "objective": model.objective_,
        "fitted_with_feature_names": bool(model._fitted_with_feature_names),
    }
    if isinstance(model, lightgbm.LGBMClassifier):
        classes = model.classes_.tolist()
        if not _survives_json(classes):
            raise InvalidArgument(
                f"model: the {name}'s class labels cannot be stored as JSON; pass serialization='pickle'"
            )
        config["classes"] = classes
        config["classes_dtype"] = str(model.classes_.dtype)
    return config


def _rebuild_wrapper(booster: lightgbm.Booster, config: Mapping[str, Any]) -> lightgbm.LGBMModel:
    """A fitted wrapper around `booster`, in the state `LGBMModel.fit` leaves it in.

    LightGBM offers no public way to attach a booster to a wrapper, so this sets the attributes that
    `fit` sets; the environment lock pins the LightGBM version these names belong to.
    """
    import lightgbm
    import numpy as np
    from sklearn.preprocessing import LabelEncoder

    name = str(config["model_type"])
    cls = getattr(lightgbm, name, None)
    if not (isinstance(cls, type) and issubclass(cls, lightgbm.LGBMModel)):
        raise InvalidArgument(f"model_type: {name!r} is not a LightGBM scikit-learn wrapper class")
    wrapper = cls(**dict(config.get("params") or {}))
    state: dict[str, Any] = {
        "_Booster": booster,
        "_n_features": booster.num_feature(),
        "_n_features_in": booster.num_feature(),
        "_fitted_with_feature_names": bool(config.get("fitted_with_feature_names", False)),
        "_objective": config.get("objective"),
        "fitted_": True,
    }
    if isinstance(wrapper, lightgbm.LGBMClassifier):
        encoder = LabelEncoder().fit(np.asarray(config["classes"], dtype=config.get("classes_dtype")))
        state["_le"] = encoder
        state["_classes"] = encoder.classes_
        state["_n_classes"] = len(encoder.classes_)
        state["_class_map"] = dict(zip(encoder.classes_, encoder.transform(encoder.classes_), strict=True))
    for attribute, value in state.items():
        setattr(wrapper, attribute, value)
    return wrapper


def _plain_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The constructor parameters that survive JSON unchanged, and the names of those that do not."""
    import numpy as np

    kept: dict[str, Any] = {}
    left_out: list[str] = []
    for key, value in params.items():
        plain = value.item() if isinstance(value, np.generic) else value
        if _survives_json(plain):
            kept[key] = plain
        elif value is not None:
            left_out.append(key)
    return kept, left_out


def _survives_json(value: Any) -> bool:
    """True if `value` comes back from JSON equal (tuples as lists); NaN and objects do not."""
    try:
        return bool(json.loads(json.dumps(value, allow_nan=False)) == _as_json_shape(value))
    except (TypeError, ValueError):
        return False


def _as_json_shape(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_json_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_json_shape(item) for key, item in value.items()}
    return value


def _require_lightgbm() -> None:
    """Fail with the `pip install` to run when lightgbm is missing."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        raise MissingExtra("lightgbm", "lightgbm") from None


@cache
def _distribution(module: str) -> str:
    """The installed distribution that provides `module` (e.g. scikit-learn for sklearn)."""
    names = importlib.metadata.packages_distributions().get(module)
    return names[0] if names else module


def _type_name(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


FLAVOR = LightGBMFlavor()
"""The lightgbm flavor instance."""
