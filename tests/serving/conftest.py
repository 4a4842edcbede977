"""Model packages the serving tests score with: a scikit-learn classifier and two Python models."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import scoring_models

from cairn.models import ColumnSpec, LoadedModel, ModelSignature, ParamSpec, load_model, save_model
from cairn.models.datatypes import DataType


@pytest.fixture(scope="session")
def features() -> pd.DataFrame:
    """Two numeric columns the classifier was trained on."""
    return pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.5, 1.5, 0.0, 2.0, 1.0]})


@pytest.fixture(scope="session")
def sklearn_package(tmp_path_factory: pytest.TempPathFactory, features: pd.DataFrame) -> Path:
    """A saved logistic regression with a signature inferred from its input example."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(features, [0, 0, 0, 1, 1, 1])
    path = tmp_path_factory.mktemp("packages") / "classifier"
    save_model(model, path, input_example=features.head(2))
    return path


@pytest.fixture(scope="session")
def sklearn_model(sklearn_package: Path) -> LoadedModel:
    return load_model(sklearn_package)


def _python_model(root: Path, model: object, signature: ModelSignature | None) -> LoadedModel:
    path = root / type(model).__name__
    save_model(model, path, signature=signature, code_paths=[scoring_models.__file__])
    return load_model(path)


@pytest.fixture(scope="session")
def scaled_sum_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A Python model returning a DataFrame, with a `scale` param."""
    signature = ModelSignature(
        inputs=(ColumnSpec("x", DataType.DOUBLE), ColumnSpec("y", DataType.DOUBLE)),
        params=(ParamSpec("scale", DataType.DOUBLE, 1.0),),
    )
    return _python_model(tmp_path_factory.mktemp("packages"), scoring_models.ScaledSum(), signature)


@pytest.fixture(scope="session")
def broken_model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """A Python model whose predict always raises."""
    return _python_model(tmp_path_factory.mktemp("packages"), scoring_models.Broken(), None)
