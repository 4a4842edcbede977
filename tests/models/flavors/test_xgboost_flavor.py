"""The XGBoost flavor: native UBJSON/JSON round trips, wrappers rebuilt as themselves, pickle on request."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, get_flavor
from cairn.models.flavors.xgboost import FLAVOR


class TunedClassifier(xgb.XGBClassifier):
    """A user subclass: the native format cannot rebuild it."""


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    features = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    labels = (features["a"] + features["b"] > 0).astype(int).to_numpy()
    return features, labels


def _round_trip(model: object, tmp_path: Path, **save_args: object) -> tuple[object, dict[str, object]]:
    saved = FLAVOR.save(model, tmp_path, **save_args)  # type: ignore[arg-type]
    return FLAVOR.load(tmp_path, saved.config), dict(saved.config)


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_booster_round_trips_in_native_formats(
    fmt: str, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = data
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(features, label=labels), num_boost_round=3)
    predictor, config = _round_trip(booster, tmp_path, serialization=fmt)
    assert config["serialization"] == fmt and config["model_type"] == "Booster"
    assert [p.name for p in tmp_path.iterdir()] == [f"model.{fmt}"]
    assert predictor.input_kind is InputKind.DATAFRAME  # type: ignore[attr-defined]
    assert isinstance(predictor.unwrap(), xgb.Booster)  # type: ignore[attr-defined]
    expected = booster.predict(xgb.DMatrix(features))
    assert np.allclose(predictor.predict(features), expected)  # type: ignore[attr-defined]


def test_default_is_ubj_and_safe(data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    features, labels = data
    saved = FLAVOR.save(xgb.XGBRegressor(n_estimators=2).fit(features, labels), tmp_path)
    assert saved.config["serialization"] == "ubj"
    assert saved.unsafe_format is False
    assert not list(tmp_path.glob("*.pkl"))


def test_packages_name_the_installed_distribution(
    data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = data
    booster_dir, wrapper_dir = tmp_path / "booster", tmp_path / "wrapper"
    booster_dir.mkdir()
    wrapper_dir.mkdir()
    model = xgb.XGBRegressor(n_estimators=2).fit(features, labels)
    (distribution,) = FLAVOR.save(model.get_booster(), booster_dir).packages
    assert distribution in importlib.metadata.packages_distributions()["xgboost"]
    assert importlib.metadata.version(distribution) == xgb.__version__
    assert FLAVOR.save(model, wrapper_dir).packages == (distribution, "scikit-learn")


def test_classifier_comes_back_as_a_classifier_predicting_labels(
    data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = data
    model = xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(features, labels)
    predictor, config = _round_trip(model, tmp_path)
    restored = predictor.unwrap()  # type: ignore[attr-defined]
    assert type(restored) is xgb.XGBClassifier
    assert config["model_type"] == "XGBClassifier"
    assert restored.get_params()["n_estimators"] == 4 and restored.get_params()["max_depth"] == 2
    assert np.array_equal(predictor.predict(features), model.predict(features))  # type: ignore[attr-defined]
    assert np.allclose(restored.predict_proba(features), model.predict_proba(features))


def test_multiclass_labels_survive(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    features = pd.DataFrame(rng.normal(size=(90, 2)), columns=["x", "y"])
    labels = (features["x"] > 0).astype(int) + (features["y"] > 0).astype(int)
    model = xgb.XGBClassifier(n_estimators=3).fit(features, labels)
    predictor, _ = _round_trip(model, tmp_path)
    predicted = predictor.predict(features)  # type: ignore[attr-defined]
    assert set(np.unique(predicted)) <= {0, 1, 2}
    assert np.array_equal(predicted, model.predict(features))


def test_regressor_round_trips(data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    features, _ = data
    target = features["a"] * 3 - features["c"]
    model = xgb.XGBRegressor(n_estimators=5).fit(features, target)
    predictor, _ = _round_trip(model, tmp_path, serialization="json")
    assert type(predictor.unwrap()) is xgb.XGBRegressor  # type: ignore[attr-defined]
    assert np.allclose(predictor.predict(features), model.predict(features))  # type: ignore[attr-defined]


def test_params_that_json_cannot_hold_are_left_out_and_named(
    data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = data
    model = xgb.XGBRegressor(n_estimators=2, eval_metric=mean_absolute_error, gamma=np.float32(0.5))
    model.fit(features, labels)
    predictor, config = _round_trip(model, tmp_path)
    assert config["params_left_out"] == ["eval_metric", "missing"]  # a callable, and NaN (the default)
    assert config["params"]["gamma"] == 0.5  # type: ignore[index]
    assert np.allclose(predictor.predict(features), model.predict(features))  # type: ignore[attr-defined]


def test_pickle_only_when_asked(data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    features, labels = data
    model = xgb.XGBClassifier(n_estimators=2).fit(features, labels)
    saved = FLAVOR.save(model, tmp_path, serialization="pickle")
    assert saved.unsafe_format is True
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]
    predictor = FLAVOR.load(tmp_path, saved.config)
    assert type(predictor.unwrap()) is xgb.XGBClassifier
    assert np.array_equal(predictor.predict(features), model.predict(features))


def test_subclass_needs_pickle(data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    features, labels = data
    model = TunedClassifier(n_estimators=2).fit(features, labels)
    with pytest.raises(InvalidArgument, match="TunedClassifier.*serialization='pickle'"):
        FLAVOR.save(model, tmp_path)
    predictor, _ = _round_trip(model, tmp_path, serialization="pickle")
    assert type(predictor.unwrap()) is TunedClassifier  # type: ignore[attr-defined]


def test_predict_params_reach_the_library(data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path) -> None:
    features, labels = data
    model = xgb.XGBClassifier(n_estimators=3).fit(features, labels)
    predictor, _ = _round_trip(model, tmp_path)
    margins = predictor.predict(features, {"output_margin": True})  # type: ignore[attr-defined]
    assert np.allclose(margins, model.predict(features, output_margin=True))
    with pytest.raises(InvalidArgument, match="temperature"):
        predictor.predict(features, {"temperature": 2})  # type: ignore[attr-defined]


def test_unfitted_wrapper_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not fitted"):
        FLAVOR.save(xgb.XGBRegressor(), tmp_path)


def test_bad_serialization_and_options_are_named(
    data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path
) -> None:
    features, labels = data
    model = xgb.XGBRegressor(n_estimators=1).fit(features, labels)
    with pytest.raises(InvalidArgument, match="'deprecated_binary'"):
        FLAVOR.save(model, tmp_path, serialization="deprecated_binary")
    with pytest.raises(InvalidArgument, match="compress"):
        FLAVOR.save(model, tmp_path, options={"compress": True})
    with pytest.raises(InvalidArgument, match="LinearRegression"):
        FLAVOR.save(LinearRegression(), tmp_path)
    assert not list(tmp_path.iterdir())


def test_can_save_by_type(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    features, labels = data
    booster = xgb.train({}, xgb.DMatrix(features, label=labels), num_boost_round=1)
    assert FLAVOR.can_save(booster)
    assert FLAVOR.can_save(xgb.XGBRanker())
    assert not FLAVOR.can_save(LinearRegression())
    assert not FLAVOR.can_save({"booster": booster})
    assert get_flavor("xgboost") is FLAVOR
