"""The contract between the model package and each ML library ("flavor"), and the table of known flavors.

A flavor writes a model's files into the package's data folder and reads them back into a `Predictor`. The
package layer does everything else: the spec file, signatures, input conversion, digests and the
environment lock. Flavor modules import their ML library lazily, inside `save` and `load`, so that listing
flavors or reading a spec never imports torch or xgboost.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from cairn.errors import InvalidArgument


class InputKind(StrEnum):
    """The form a predictor wants its input in, after signature enforcement."""

    DATAFRAME = "dataframe"
    """A pandas DataFrame (tabular models: scikit-learn, XGBoost, LightGBM, most Python functions)."""
    NDARRAY = "ndarray"
    """A numpy array (tensor models: PyTorch, ONNX)."""
    NATIVE = "native"
    """Whatever the caller passed, unchanged (Python functions that take dicts, lists or strings)."""


class Predictor(Protocol):
    """A loaded model, ready to predict."""

    input_kind: InputKind

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict on `data` (already in `input_kind` form); return array-like, DataFrame, Series or dict."""
        ...

    def unwrap(self) -> Any:
        """The library's own model object (the estimator, booster, module or session)."""
        ...


@dataclass(frozen=True)
class SavedFlavor:
    """What a flavor wrote: its settings for `load` and the distributions the saved model needs.

    Attributes:
        config: JSON-serialisable settings stored in the spec under the flavor's name (file names, format,
            library version); `load` receives them back.
        packages: Distribution names whose installed versions the environment lock must pin
            (e.g. `scikit-learn`, `skops`); the package layer adds their exact versions.
        unsafe_format: True when the files can run code when loaded (pickle): loading then requires the
            digests to match, and the caller must have asked for it.
    """

    config: Mapping[str, Any] = field(default_factory=dict)
    packages: tuple[str, ...] = ()
    unsafe_format: bool = False


class Flavor(Protocol):
    """One ML library's way of saving and loading models."""

    name: str

    def can_save(self, model: Any) -> bool:
        """True if `model` is an object this flavor knows how to save (used to pick a flavor)."""
        ...

    def save(
        self,
        model: Any,
        data_dir: Path,
        *,
        serialization: str | None = None,
        options: Mapping[str, Any] | None = None,
        input_example: Any = None,
    ) -> SavedFlavor:
        """Write the model's files into the empty folder `data_dir`.

        Args:
            model: The trained model object.
            data_dir: An existing, empty folder inside the package.
            serialization: A format name the flavor offers (e.g. "skops", "pickle", "torchscript",
                "state_dict"); None picks the flavor's safe default. An unknown name is `InvalidArgument`.
            options: Flavor-specific settings (e.g. PyTorch's `model_class` and `init_args` for state
                dicts); an unknown key is `InvalidArgument` naming it.
            input_example: The caller's input example, if any (PyTorch traces with it).
        """
        ...

    def load(self, data_dir: Path, config: Mapping[str, Any]) -> Predictor:
        """Read the files written by `save` back into a predictor."""
        ...


FLAVOR_MODULES: dict[str, str] = {
    "xgboost": "cairn.models.flavors.xgboost",
    "lightgbm": "cairn.models.flavors.lightgbm",
    "sklearn": "cairn.models.flavors.sklearn",
    "pytorch": "cairn.models.flavors.pytorch",
    "onnx": "cairn.models.flavors.onnx",
    "python_function": "cairn.models.flavors.python_function",
}
"""Flavor name -> module; each module defines `FLAVOR`, an instance of its `Flavor`.

The order is the order `flavor_for` asks in: XGBoost's and LightGBM's scikit-learn wrappers are also
scikit-learn estimators, so their own flavors (native formats) come before scikit-learn's.
"""


def get_flavor(name: str) -> Flavor:
    """The flavor called `name`; `InvalidArgument` listing the known flavors otherwise."""
    module_name = FLAVOR_MODULES.get(name)
    if module_name is None:
        known = ", ".join(sorted(FLAVOR_MODULES))
        raise InvalidArgument(f"flavor must be one of {known}; got {name!r}")
    flavor: Flavor = importlib.import_module(module_name).FLAVOR
    return flavor


def flavor_for(model: Any) -> Flavor:
    """The flavor that can save `model`, tried in table order; `InvalidArgument` naming its type if none.

    Only flavors whose library is already imported are asked, so this never imports a library the caller
    has not used itself.
    """
    import sys

    for name in FLAVOR_MODULES:
        if name == "python_function" or _library_loaded(name, sys.modules):
            flavor = get_flavor(name)
            if flavor.can_save(model):
                return flavor
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    raise InvalidArgument(f"model: no flavor knows how to save a {kind}; pass flavor= explicitly")


_LIBRARY_MODULES = {
    "sklearn": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "pytorch": "torch",
    "onnx": "onnx",
}


def _library_loaded(flavor_name: str, modules: Mapping[str, object]) -> bool:
    library = _LIBRARY_MODULES.get(flavor_name)
    return library is not None and library in modules
