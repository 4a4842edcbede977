"""The LightGBM flavor: text-format round trips, wrappers rebuilt with their original class labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from cairn.errors import InvalidArgument
from cairn.models.flavor import InputKind, get_flavor
from cairn.models.flavors.lightgbm import FLAVOR

SMALL: dict[str, Any] = {"n_estimators": 4, "min_child_samples": 5, "verbose": -1}


class TunedRegressor(lgb.LGBMRegressor):
    """A user subclass: the text format cannot rebuild it."""


def _squared_error(y_true: np.ndarray | None, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    assert y_true is not None
    return y_pred - y_true, np.ones_like(y_true)


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])


def _round_trip(model: object, tmp_path: Path, **save_args: Any) -> tuple[Any, dict[str, Any]]:
    saved = FLAVOR.save(model, tmp_path, **save_args)
    return FLAVOR.load(tmp_path, saved.config), dict(saved.config)


def test_booster_round_trips_as_text(features: pd.DataFrame, tmp_path: Path) -> None:
    target = features["a"] - features["b"]
    booster = lgb.train({"verbose": -1, "min_data_in_leaf": 5}, lgb.Dataset(features, target), 5)
    predictor, config = _round_trip(booster, tmp_path)
    assert config["serialization"] == "text" and config["model_type"] == "Booster"
    assert [p.name for p in tmp_path.iterdir()] == ["model.txt"]
    assert predictor.input_kind is InputKind.DATAFRAME
    assert isinstance(predictor.unwrap(), lgb.Booster)
    assert np.allclose(predictor.predict(features), booster.predict(features))


def test_binary_classifier_maps_back_to_string_labels(features: pd.DataFrame, tmp_path: Path) -> None:
    labels = np.where(features["a"] > 0, "yes", "no")
    model = lgb.LGBMClassifier(**SMALL).fit(features, labels)
    predictor, config = _round_trip(model, tmp_path)
    restored = predictor.unwrap()
    assert type(restored) is lgb.LGBMClassifier
    assert config["classes"] == ["no", "yes"]
    assert list(restored.classes_) == ["no", "yes"]
    assert np.array_equal(predictor.predict(features), model.predict(features))
    assert np.allclose(restored.predict_proba(features), model.predict_proba(features))
    assert restored.get_params()["n_estimators"] == 4


def test_multiclass_integer_labels_keep_their_dtype(features: pd.DataFrame, tmp_path: Path) -> None:
    labels = np.array([10, 20, 30])[(features["a"] > 0).astype(int) + (features["b"] > 0).astype(int)]
    model = lgb.LGBMClassifier(**SMALL).fit(features, labels)
    predictor, config = _round_trip(model, tmp_path)
    predicted = predictor.predict(features)
    assert config["classes"] == [10, 20, 30]
    assert predicted.dtype == np.asarray(model.predict(features)).dtype
    assert np.array_equal(predicted, model.predict(features))


def test_classifier_trained_on_numpy_predicts_numpy(features: pd.DataFrame, tmp_path: Path) -> None:
    array = features.to_numpy()
    labels = np.where(array[:, 0] > 0, "up", "down")
    model = lgb.LGBMClassifier(**SMALL).fit(array, labels)
    predictor, config = _round_trip(model, tmp_path)
    assert config["fitted_with_feature_names"] is False
    assert np.array_equal(predictor.predict(array), model.predict(array))


def test_regressor_round_trips(features: pd.DataFrame, tmp_path: Path) -> None:
    model = lgb.LGBMRegressor(**SMALL).fit(features, features["a"] * 2)
    predictor, config = _round_trip(model, tmp_path)
    assert type(predictor.unwrap()) is lgb.LGBMRegressor
    assert config["objective"] == "regression"
    assert np.allclose(predictor.predict(features), model.predict(features))
    raw = predictor.predict(features, {"pred_leaf": True})
    assert np.array_equal(raw, model.predict(features, pred_leaf=True))


def test_wrapper_packages_include_scikit_learn(features: pd.DataFrame, tmp_path: Path) -> None:
    model = lgb.LGBMRegressor(**SMALL).fit(features, features["a"])
    wrapper_dir, booster_dir = tmp_path / "wrapper", tmp_path / "booster"
    wrapper_dir.mkdir()
    booster_dir.mkdir()
    assert FLAVOR.save(model, wrapper_dir).packages == ("lightgbm", "scikit-learn")
    assert FLAVOR.save(model.booster_, booster_dir).packages == ("lightgbm",)


def test_pickle_only_when_asked(features: pd.DataFrame, tmp_path: Path) -> None:
    model = lgb.LGBMClassifier(**SMALL).fit(features, features["a"] > 0)
    saved = FLAVOR.save(model, tmp_path, serialization="pickle")
    assert saved.unsafe_format is True
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]
    predictor = FLAVOR.load(tmp_path, saved.config)
    assert np.array_equal(predictor.predict(features), model.predict(features))


def test_default_is_safe(features: pd.DataFrame, tmp_path: Path) -> None:
    saved = FLAVOR.save(lgb.LGBMRegressor(**SMALL).fit(features, features["b"]), tmp_path)
    assert saved.unsafe_format is False
    assert not list(tmp_path.glob("*.pkl"))


def test_what_text_cannot_hold_asks_for_pickle(features: pd.DataFrame, tmp_path: Path) -> None:
    custom = lgb.LGBMRegressor(objective=_squared_error, **SMALL).fit(features, features["a"])
    with pytest.raises(InvalidArgument, match="custom objective.*serialization='pickle'"):
        FLAVOR.save(custom, tmp_path)
    subclass = TunedRegressor(**SMALL).fit(features, features["a"])
    with pytest.raises(InvalidArgument, match="TunedRegressor.*serialization='pickle'"):
        FLAVOR.save(subclass, tmp_path)
    with pytest.raises(InvalidArgument, match="not fitted"):
        FLAVOR.save(lgb.LGBMClassifier(), tmp_path)
    assert not list(tmp_path.iterdir())


def test_bad_serialization_and_options_are_named(features: pd.DataFrame, tmp_path: Path) -> None:
    model = lgb.LGBMRegressor(**SMALL).fit(features, features["a"])
    with pytest.raises(InvalidArgument, match="'json'"):
        FLAVOR.save(model, tmp_path, serialization="json")
    with pytest.raises(InvalidArgument, match="num_iteration"):
        FLAVOR.save(model, tmp_path, options={"num_iteration": 2})
    with pytest.raises(InvalidArgument, match="LinearRegression"):
        FLAVOR.save(LinearRegression(), tmp_path)


def test_can_save_by_type(features: pd.DataFrame) -> None:
    model = lgb.LGBMRegressor(**SMALL).fit(features, features["a"])
    assert FLAVOR.can_save(model)
    assert FLAVOR.can_save(model.booster_)
    assert FLAVOR.can_save(lgb.LGBMRanker())
    assert not FLAVOR.can_save(LinearRegression())
    assert not FLAVOR.can_save("model.txt")
    assert get_flavor("lightgbm") is FLAVOR
