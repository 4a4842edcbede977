from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.models import load_model, save_model
from cairn.models.datatypes import DataType
from cairn.models.signature import ColumnSpec, TensorSpec


def test_skops_round_trip(tmp_path: Path, tree: Any, frame: pd.DataFrame) -> None:
    spec = save_model(tree, tmp_path / "model", input_example=frame.head(3), metadata={"team": "risk"})
    assert spec.flavor == "sklearn"
    assert spec.flavor_config["serialization"] == "skops" and not spec.unsafe_format
    assert sorted(spec.files) == ["data/model.skops", "input_example.json", "requirements.txt"]
    assert spec.requirements == (
        f"scikit-learn=={metadata.version('scikit-learn')}",
        f"skops=={metadata.version('skops')}",
    )
    assert spec.signature is not None
    assert spec.signature.inputs == (ColumnSpec("a", DataType.DOUBLE), ColumnSpec("b", DataType.LONG))
    assert spec.signature.outputs == (TensorSpec(None, "int64", (-1,)),)
    loaded = load_model(tmp_path / "model")
    assert loaded.metadata == {"team": "risk"}
    assert np.array_equal(loaded.predict(frame), tree.predict(frame))
    assert type(loaded.unwrap()).__name__ == "DecisionTreeClassifier"
    pd.testing.assert_frame_equal(loaded.input_example(), frame.head(3))
    lock = (tmp_path / "model" / "requirements.txt").read_text().splitlines()
    assert lock == list(spec.requirements)


def test_pickle_only_when_asked_and_refusable_at_load(tmp_path: Path, tree: Any, frame: pd.DataFrame) -> None:
    spec = save_model(tree, tmp_path / "model", serialization="pickle")
    assert spec.unsafe_format and spec.flavor_config["file"] == "model.pkl"
    assert spec.requirements == (f"scikit-learn=={metadata.version('scikit-learn')}",)
    assert np.array_equal(load_model(tmp_path / "model").predict(frame), tree.predict(frame))
    with pytest.raises(InvalidArgument, match="unsafe format .*allow_pickle_from_verified=True"):
        load_model(tmp_path / "model", allow_pickle_from_verified=False)


def test_unknown_serialization_and_options_are_refused(tmp_path: Path, tree: Any) -> None:
    with pytest.raises(InvalidArgument, match="serialization must be one of skops, pickle; got 'joblib'"):
        save_model(tree, tmp_path / "a", serialization="joblib")
    with pytest.raises(InvalidArgument, match="sklearn options: unknown colour"):
        save_model(tree, tmp_path / "b", options={"colour": "red"})
    with pytest.raises(InvalidArgument, match="only python_function models take artifacts"):
        save_model(tree, tmp_path / "c", artifacts={"x": str(tmp_path)})
    assert not any(tmp_path.iterdir())


def test_model_fitted_without_names_predicts_from_frames(tmp_path: Path, frame: pd.DataFrame) -> None:
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame.to_numpy(), [0.0, 1, 2, 3, 4, 5, 6, 7])
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.signature is None
    assert np.allclose(loaded.predict(frame), model.predict(frame.to_numpy()))
    assert np.allclose(loaded.predict([[1.0, 0.0]]), model.predict(np.array([[1.0, 0.0]])))


def test_skops_refuses_a_type_not_trusted_at_save(
    tmp_path: Path, user_module: Callable[[str], tuple[Path, ModuleType]]
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    _, module = user_module("def double(x):\n    return x * 2\n")
    transformer = FunctionTransformer(module.double)
    spec = save_model(transformer, tmp_path / "model", flavor="sklearn")
    assert spec.flavor_config["trusted_types"] == [f"{module.__name__}.double"]
    spec_file = tmp_path / "model" / "cairn-model.json"
    data = json.loads(spec_file.read_text())
    data["flavor_config"]["trusted_types"] = []
    spec_file.write_text(json.dumps(data))
    with pytest.raises(InvalidArgument, match=f"types that were not trusted.*{module.__name__}.double"):
        load_model(tmp_path / "model")
