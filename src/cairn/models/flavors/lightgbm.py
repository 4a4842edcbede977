"""The LightGBM flavor: boosters and scikit-learn wrappers in LightGBM's own text model format."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, SavedFlavor
from cairn.models.flavors.flavor_support import (
    check_serialization,
    distribution_of,
    plain_params,
    require_library,
    survives_json,
    type_name,
)

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
        require_library("lightgbm", "lightgbm")
        import lightgbm

        fmt = check_serialization("lightgbm", serialization, _FILES, "text")
        if options:
            raise InvalidArgument(f"options: the lightgbm flavor takes no options; got {sorted(options)}")
        if not self.can_save(model):
            raise InvalidArgument(f"model: expected a lightgbm Booster or LGBMModel; got {type_name(model)}")
        path = data_dir / _FILES[fmt]
        config: dict[str, Any] = {
            "serialization": fmt,
            "file": path.name,
            "lightgbm_version": lightgbm.__version__,
        }
        packages = [distribution_of("lightgbm")]
        if isinstance(model, lightgbm.LGBMModel):
            packages.append(distribution_of("sklearn"))
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
        require_library("lightgbm", "lightgbm")
        import lightgbm

        fmt = check_serialization("lightgbm", config.get("serialization"), _FILES, "text")
        path = data_dir / str(config.get("file", _FILES[fmt]))
        if fmt == "pickle":
            with path.open("rb") as stream:
                model = pickle.load(stream)
            if not self.can_save(model):
                raise InvalidArgument(f"{path.name}: holds a {type_name(model)}, not a lightgbm model")
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


def _wrapper_config(model: Any) -> dict[str, Any]:
    """What `_rebuild_wrapper` needs besides the booster: class, parameters, objective and class labels."""
    import lightgbm

    name = type(model).__name__
    if getattr(lightgbm, name, None) is not type(model):
        raise InvalidArgument(
            f"model: {type_name(model)} is not one of LightGBM's own wrapper classes, so the text format "
            "cannot rebuild it; save its booster (model.booster_) or pass serialization='pickle'"
        )
    if not model.__sklearn_is_fitted__():
        raise InvalidArgument(f"model: the {name} is not fitted")
    if callable(model.objective_):
        raise InvalidArgument(
            f"model: the {name} uses a custom objective function, which the text format cannot hold; "
            "save its booster (model.booster_) or pass serialization='pickle'"
        )
    params, left_out = plain_params(model.get_params())
    config: dict[str, Any] = {
        "model_type": name,
        "params": params,
        "params_left_out": left_out,
        "objective": model.objective_,
        "fitted_with_feature_names": bool(model._fitted_with_feature_names),
    }
    if isinstance(model, lightgbm.LGBMClassifier):
        classes = model.classes_.tolist()
        if not survives_json(classes):
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


FLAVOR = LightGBMFlavor()
"""The lightgbm flavor instance."""
