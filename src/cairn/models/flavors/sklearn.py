"""The scikit-learn flavor: skops files by default (types checked at load), pickle only when asked."""

from __future__ import annotations

import importlib
import pickle
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn._internal.skops_import import import_skops
from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, Predictor, SavedFlavor

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"
_SERIALIZATIONS = ("skops", "pickle")


class SklearnPredictor:
    """A loaded scikit-learn estimator; predicts with `estimator.predict`."""

    input_kind = InputKind.DATAFRAME

    def __init__(self, estimator: Any) -> None:
        self._estimator = estimator

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """`estimator.predict(data)`, feeding the estimator the form (names or not) it was fitted on."""
        if params:
            raise InvalidArgument(f"scikit-learn models take no params; got {', '.join(sorted(params))}")
        return self._estimator.predict(self._fitted_form(data))

    def _fitted_form(self, data: Any) -> Any:
        import pandas as pd

        if not isinstance(data, pd.DataFrame):
            return data
        names = getattr(self._estimator, "feature_names_in_", None)
        if names is None:
            return data.to_numpy()
        if not all(isinstance(column, str) for column in data.columns) and len(data.columns) == len(names):
            return data.set_axis(list(names), axis="columns")
        return data

    def unwrap(self) -> Any:
        """The estimator."""
        return self._estimator


class SklearnFlavor:
    """Saves scikit-learn estimators and pipelines.

    Serialization "skops" (the default) writes a skops file and records the non-default types it holds
    as trusted; loading refuses any other type. "pickle" writes a pickle, an unsafe format.
    """

    name = "sklearn"

    def can_save(self, model: Any) -> bool:
        """True for scikit-learn estimators (only checked when scikit-learn is already imported)."""
        if "sklearn" not in sys.modules:
            return False
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write the estimator as a skops file, or as a pickle when asked."""
        if options:
            raise InvalidArgument(f"sklearn options: unknown {', '.join(sorted(options))}")
        chosen = serialization or "skops"
        if chosen not in _SERIALIZATIONS:
            raise InvalidArgument(
                f"serialization must be one of {', '.join(_SERIALIZATIONS)}; got {chosen!r}"
            )
        import sklearn

        config: dict[str, Any] = {"serialization": chosen, "sklearn_version": sklearn.__version__}
        if chosen == "pickle":
            with (data_dir / PICKLE_FILE).open("wb") as stream:
                pickle.dump(model, stream, protocol=pickle.HIGHEST_PROTOCOL)
            config["file"] = PICKLE_FILE
            return SavedFlavor(config=config, packages=("scikit-learn",), unsafe_format=True)
        skops, sio = import_skops()
        sio.dump(model, data_dir / SKOPS_FILE)
        config.update(
            file=SKOPS_FILE,
            skops_version=skops.__version__,
            trusted_types=sorted(sio.get_untrusted_types(file=data_dir / SKOPS_FILE)),
        )
        return SavedFlavor(config=config, packages=("scikit-learn", "skops"))

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> Predictor:
        """Read the estimator back; a skops file holding a type not recorded as trusted is refused."""
        serialization = config.get("serialization")
        path = data_dir / str(config.get("file"))
        if serialization == "pickle":
            with path.open("rb") as stream:
                return SklearnPredictor(pickle.load(stream))  # noqa: S301 - digests verified, caller opted in
        if serialization != "skops":
            raise InvalidArgument(f"sklearn serialization {serialization!r} is unknown")
        trusted = config.get("trusted_types", [])
        if not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted):
            raise InvalidArgument("sklearn config trusted_types must be a list of type names")
        _, sio = import_skops()
        untrusted_error = importlib.import_module("skops.io.exceptions").UntrustedTypesFoundException
        try:
            return SklearnPredictor(sio.load(path, trusted=trusted))
        except untrusted_error as error:
            raise InvalidArgument(
                f"{path.name} holds types that were not trusted when it was saved: {error}"
            ) from None


FLAVOR = SklearnFlavor()
"""The scikit-learn flavor."""
