"""A model loaded from a package: one `predict` for every flavor, taking pandas, numpy, dicts or lists."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cairn.models.enforcement import enforce_input, enforce_params
from cairn.models.flavor import InputKind, Predictor
from cairn.models.input_example import read_input_example
from cairn.models.input_forms import to_dataframe, to_ndarray, to_output, to_tensors
from cairn.models.signature import ModelSignature
from cairn.models.spec import ModelSpec


class LoadedModel:
    """A model ready to predict, with the spec it was saved with.

    Attributes:
        spec: The package's spec.
        path: The package folder.
    """

    def __init__(self, spec: ModelSpec, predictor: Predictor, path: Path) -> None:
        self.spec = spec
        self.path = path
        self._predictor = predictor

    @property
    def signature(self) -> ModelSignature | None:
        """The model's signature, if it was saved with one."""
        return self.spec.signature

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The free-form metadata saved with the model."""
        return self.spec.metadata

    @property
    def flavor(self) -> str:
        """The name of the flavor that loaded the model."""
        return self.spec.flavor

    def unwrap(self) -> Any:
        """The library's own model object (estimator, booster, module, session, PythonModel or function)."""
        return self._predictor.unwrap()

    def input_example(self) -> Any:
        """The saved input example (a DataFrame, an array or a dict of arrays), or None."""
        if self.spec.input_example is None:
            return None
        return read_input_example(self.path / self.spec.input_example)

    def predict(self, data: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Predict on `data`, enforcing the signature when there is one.

        Args:
            data: A DataFrame, Series, numpy array, dict (column -> values, column -> scalar, or
                name -> array), list of dicts, list of rows or list of scalars.
            params: Inference params; checked against the signature's params, whose defaults fill in.

        Returns:
            A DataFrame, Series or numpy array (a dict of arrays for several outputs of different shapes).

        Raises:
            InvalidArgument: the input does not match the signature (naming each bad column) or a param
                is unknown or mistyped.
        """
        checked_params = enforce_params(self.signature, params)
        model_input = prepare_input(self.signature, self._predictor.input_kind, data)
        return to_output(self._predictor.predict(model_input, checked_params or None))


def prepare_input(signature: ModelSignature | None, kind: InputKind, data: Any) -> Any:
    """`data` checked against the signature (when it has inputs) and put in the form `kind` names.

    `InputKind.NATIVE` predictors get the caller's `data` unchanged, once it has passed the checks.
    """
    enforced = data
    if signature is not None and signature.inputs:
        enforced = enforce_input(signature, data)
    if kind is InputKind.DATAFRAME:
        return to_dataframe(enforced)
    if kind is InputKind.NDARRAY:
        many = isinstance(enforced, Mapping) and len(enforced) > 1
        return to_tensors(enforced) if many else to_ndarray(enforced)
    return data
