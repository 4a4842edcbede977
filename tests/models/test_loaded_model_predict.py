from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.models import (
    ColumnSpec,
    LoadedModel,
    ModelSignature,
    PythonModel,
    PythonModelContext,
    TensorSpec,
    load_model,
    save_model,
)
from cairn.models.datatypes import DataType


@pytest.fixture
def sklearn_model(tmp_path: Path, tree: Any, frame: pd.DataFrame) -> LoadedModel:
    save_model(tree, tmp_path / "model", serialization="pickle", input_example=frame.head(2))
    return load_model(tmp_path / "model")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (pd.DataFrame({"b": [1, 0], "a": [6.0, 1.0], "extra": ["x", "y"]}), [1, 0]),
        (np.array([[6.0, 1.0], [1.0, 0.0]]), [1, 0]),
        ({"a": [6.0, 1.0], "b": [1, 0]}, [1, 0]),
        ({"a": 6, "b": 1}, [1]),
        ([{"a": 6.0, "b": 1}, {"a": 1, "b": 0}], [1, 0]),
        ([[6.0, 1], [1.0, 0]], [1, 0]),
        (pd.Series({"a": 6.0, "b": 1.0}).to_frame().T, [1]),
    ],
    ids=["dataframe", "ndarray", "dict-of-lists", "dict-of-scalars", "records", "rows", "transposed-series"],
)
def test_every_input_form_predicts(sklearn_model: LoadedModel, data: Any, expected: list[int]) -> None:
    result = sklearn_model.predict(data)
    assert isinstance(result, np.ndarray)
    assert result.tolist() == expected


def test_signature_errors_name_each_column(sklearn_model: LoadedModel) -> None:
    with pytest.raises(InvalidArgument) as caught:
        sklearn_model.predict({"a": ["high"]})
    assert "column 'a' expected double, got str" in caught.value.message
    assert "column 'b' is missing (expected long)" in caught.value.message


class _Echo(PythonModel):
    """Returns whatever `output` says, to check how results are normalised."""

    def __init__(self, output: str) -> None:
        self.output = output

    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        n = len(model_input)
        if self.output == "list":
            return [1.5] * n
        if self.output == "dict":
            return {"score": [0.5] * n, "label": ["x"] * n}
        if self.output == "ragged":
            return {"first": np.zeros((n, 2)), "second": np.zeros(n)}
        if self.output == "series":
            return pd.Series([1] * n, name="y")
        return 7


def test_outputs_are_pandas_or_numpy_never_lists(tmp_path: Path) -> None:
    outputs: dict[str, Any] = {}
    for kind in ("list", "dict", "ragged", "series", "scalar"):
        save_model(_Echo(kind), tmp_path / kind)
        outputs[kind] = load_model(tmp_path / kind).predict({"a": [1.0, 2.0]})
    assert isinstance(outputs["list"], np.ndarray) and outputs["list"].tolist() == [1.5, 1.5]
    assert isinstance(outputs["dict"], pd.DataFrame) and list(outputs["dict"].columns) == ["score", "label"]
    assert set(outputs["ragged"]) == {"first", "second"}
    assert all(isinstance(v, np.ndarray) for v in outputs["ragged"].values())
    assert isinstance(outputs["series"], pd.Series)
    assert isinstance(outputs["scalar"], np.ndarray) and outputs["scalar"].item() == 7


class _SumRows(PythonModel):
    def predict(
        self, context: PythonModelContext, model_input: Any, params: Mapping[str, Any] | None = None
    ) -> Any:
        assert isinstance(model_input, np.ndarray) and model_input.dtype == np.float32
        return model_input.sum(axis=1)


def test_tensor_models_get_arrays_of_the_signature_dtype(tmp_path: Path) -> None:
    signature = ModelSignature(inputs=(TensorSpec(None, "float32", (-1, 3)),))
    save_model(_SumRows(), tmp_path / "model", signature=signature, options={"input_kind": "ndarray"})
    loaded = load_model(tmp_path / "model")
    for data in ([[1, 2, 3]], np.array([[1.0, 2.0, 3.0]]), pd.DataFrame([[1, 2, 3]])):
        result = loaded.predict(data)
        assert result.dtype == np.float32 and result.tolist() == [6.0]
    with pytest.raises(InvalidArgument, match=r"expected shape \[-1, 3\], got \[1, 2\]"):
        loaded.predict([[1, 2]])


def test_input_example_round_trips_arrays(tmp_path: Path) -> None:
    example = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    save_model(_SumRows(), tmp_path / "model", input_example=example, options={"input_kind": "ndarray"})
    loaded = load_model(tmp_path / "model")
    assert loaded.signature is not None
    assert loaded.signature.inputs == (TensorSpec(None, "float32", (-1, 3)),)
    assert loaded.signature.outputs == (TensorSpec(None, "float32", (-1,)),)
    assert np.array_equal(loaded.input_example(), example)


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    signature = ModelSignature(
        inputs=(ColumnSpec("a", DataType.DOUBLE), ColumnSpec("note", DataType.STRING, optional=True))
    )
    save_model(_Echo("list"), tmp_path / "model", signature=signature)
    assert load_model(tmp_path / "model").predict([{"a": 1}]).tolist() == [1.5]
