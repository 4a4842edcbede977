import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import cairn
from cairn.entities import Run
from cairn.errors import InvalidArgument

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_precision_score",
    "training_recall_score",
    "training_f1_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}
REGRESSOR_METRICS = {
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
    "training_score",
}


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CAIRN_CAPTURE_CODE", "false")
    monkeypatch.setenv("CAIRN_CAPTURE_ENVIRONMENT", "false")
    cairn.set_tracking_uri(str(tmp_path / "s"))
    try:
        yield
    finally:
        cairn.autolog(disable=True)
        while cairn.active_run() is not None:
            cairn.end_run()
        cairn.set_tracking_uri(None)


@pytest.fixture
def classification() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=120) > 0).astype(int)
    return X, y


@pytest.fixture
def regression() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = X @ np.array([1.5, -2.0, 0.5]) + rng.normal(scale=0.3, size=80)
    return X, y


def all_runs() -> list[Run]:
    runs = cairn.search_runs(output_format="list", order_by=["start_time ASC"])
    assert isinstance(runs, list)
    return runs


def only_run() -> Run:
    runs = all_runs()
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def load_logged_model(run_id: str, tmp_path: Path) -> tuple[object, dict[str, object]]:
    folder = Path(cairn.download_artifacts("model", run_id=run_id, dst_path=tmp_path / "download"))
    model_file = folder / "model.skops"
    info = json.loads((folder / "model_info.json").read_text())
    untrusted = sio.get_untrusted_types(file=model_file)
    assert info["untrusted_types"] == untrusted
    return sio.load(model_file, trusted=untrusted), info


def test_classifier_fit_starts_and_ends_a_run_with_params_metrics_and_model(classification, tmp_path):
    X, y = classification
    cairn.autolog()
    model = LogisticRegression(C=0.5, max_iter=200).fit(X, y)

    run = only_run()
    assert run.info.status.value == "FINISHED"
    assert cairn.active_run() is None
    assert run.data.params["C"] == "0.5"
    assert run.data.params["max_iter"] == "200"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(model.score(X, y))

    loaded, info = load_logged_model(run.info.run_id, tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert info["estimator_class"] == run.data.tags["estimator_class"]
    assert info["sklearn_version"] and info["python_version"]


def test_regressor_metrics_respect_sample_weight(regression, tmp_path):
    X, y = regression
    weights = np.linspace(0.1, 3.0, len(y))
    cairn.autolog()
    model = Ridge(alpha=5.0).fit(X, y, sample_weight=weights)

    metrics = only_run().data.metrics
    assert set(metrics) == REGRESSOR_METRICS
    weighted = mean_squared_error(y, model.predict(X), sample_weight=weights)
    assert metrics["training_mean_squared_error"] == pytest.approx(weighted)
    assert metrics["training_mean_squared_error"] != pytest.approx(mean_squared_error(y, model.predict(X)))
    assert metrics["training_root_mean_squared_error"] == pytest.approx(math.sqrt(weighted))
    assert metrics["training_r2_score"] == pytest.approx(model.score(X, y, sample_weight=weights))


def test_pipeline_is_one_run_with_the_params_of_its_steps(classification):
    X, y = classification
    cairn.autolog()
    Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(C=2.0))]).fit(X, y)

    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "2.0"
    assert run.data.params["scaler__with_mean"] == "True"
    assert "training_roc_auc" in run.data.metrics


def test_fit_inside_an_active_run_logs_into_it(classification):
    X, y = classification
    cairn.autolog()
    with cairn.start_run(run_name="mine") as active:
        cairn.log_param("dataset", "synthetic")
        LogisticRegression().fit(X, y)
        assert cairn.active_run() is active
        assert cairn.get_run(active.run_id).info.status.value == "RUNNING"

    run = only_run()
    assert run.info.run_name == "mine"
    assert run.info.status.value == "FINISHED"
    assert run.data.params["dataset"] == "synthetic"
    assert "training_accuracy_score" in run.data.metrics


def test_failing_fit_marks_the_run_failed_and_raises(classification):
    X, y = classification
    broken = X.copy()
    broken[0, 0] = np.nan
    cairn.autolog()
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(broken, y)

    run = only_run()
    assert run.info.status.value == "FAILED"
    assert run.data.params["C"] == "1.0"
    assert cairn.active_run() is None


def test_grid_search_logs_best_params_cv_results_and_child_runs(classification, tmp_path):
    X, y = classification
    cairn.autolog(max_tuning_runs=2)
    search = GridSearchCV(LogisticRegression(), {"C": [0.001, 0.1, 1.0, 10.0]}, cv=3).fit(X, y)

    runs = all_runs()
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    parent = parents[0]
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.params["estimator__C"] == "1.0"
    assert parent.data.metrics["best_score"] == pytest.approx(search.best_score_)
    assert parent.data.tags["estimator_name"] == "GridSearchCV"

    table = pd.read_parquet(
        cairn.download_artifacts("cv_results.parquet", parent.info.run_id, tmp_path / "cv")
    )
    assert len(table) == 4
    assert list(table["rank_test_score"]) == list(search.cv_results_["rank_test_score"])

    ranked = np.argsort(search.cv_results_["rank_test_score"], kind="stable")[:2]
    expected = {
        str(search.cv_results_["params"][i]["C"]): search.cv_results_["mean_test_score"][i] for i in ranked
    }
    got = {c.data.params["C"]: c.data.metrics["mean_test_score"] for c in children}
    assert got.keys() == expected.keys()
    for key, score in expected.items():
        assert got[key] == pytest.approx(score)
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status.value == "FINISHED"

    loaded, _ = load_logged_model(parent.info.run_id, tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))


def test_disable_restores_the_original_methods_exactly(classification):
    X, y = classification
    originals = {
        (LogisticRegression, "fit"): LogisticRegression.fit,
        (KMeans, "fit_predict"): KMeans.fit_predict,
        (GridSearchCV, "fit"): GridSearchCV.fit,
    }
    pipeline_dict = {name: Pipeline.__dict__.get(name) for name in ("fit", "fit_transform", "fit_predict")}
    inherited = ("fit_transform" in StandardScaler.__dict__, "fit" in GridSearchCV.__dict__)
    cairn.autolog()
    cairn.autolog(silent=True)
    assert LogisticRegression.fit is not originals[(LogisticRegression, "fit")]
    assert LogisticRegression.fit.__wrapped__ is originals[(LogisticRegression, "fit")]  # wrapped once only
    assert "fit" in GridSearchCV.__dict__  # the inherited method is patched on the class itself
    cairn.autolog(disable=True)

    for (cls, name), original in originals.items():
        assert getattr(cls, name) is original
    assert {name: Pipeline.__dict__.get(name) for name in pipeline_dict} == pipeline_dict
    assert ("fit_transform" in StandardScaler.__dict__, "fit" in GridSearchCV.__dict__) == inherited
    LogisticRegression().fit(X, y)
    assert all_runs() == []


def test_conditional_methods_keep_their_availability(classification):
    X, y = classification
    cairn.autolog()
    pipe = Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression())])
    assert not hasattr(pipe, "fit_transform")
    transform_only = Pipeline([("scaler", StandardScaler()), ("pca", PCA(n_components=2))])
    assert transform_only.fit_transform(X, y).shape == (len(X), 2)

    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["pca__n_components"] == "2"


def test_fit_transform_and_fit_predict_are_logged_once(classification):
    X, _ = classification
    cairn.autolog(log_models=False)
    StandardScaler().fit_transform(X)
    KMeans(n_clusters=2, n_init=2, random_state=0).fit_predict(X)

    runs = all_runs()
    assert [r.data.tags["estimator_name"] for r in runs] == ["StandardScaler", "KMeans"]
    assert "training_score" in runs[1].data.metrics
    assert all(cairn.list_artifacts(run_id=r.info.run_id) == [] for r in runs)


def test_input_example_is_stored_beside_the_model(classification, tmp_path):
    X, y = classification
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    cairn.autolog(log_input_examples=True)
    LogisticRegression().fit(frame, y)

    folder = Path(cairn.download_artifacts("model", only_run().info.run_id, tmp_path / "m"))
    example = json.loads((folder / "input_example.json").read_text())
    assert example["columns"] == ["a", "b", "c", "d"]
    assert example["data"] == X[:5].tolist()


def test_logging_failure_warns_but_fit_succeeds(classification, caplog):
    X, y = classification
    cairn.autolog()
    with cairn.start_run() as active, caplog.at_level(logging.WARNING, logger="cairn.autolog"):
        cairn.log_param("C", "chosen-elsewhere")
        model = LogisticRegression(C=3.0).fit(X, y)
    assert model.coef_.shape == (1, 4)
    assert any("could not log params" in message for message in caplog.messages)
    run = cairn.get_run(active.run_id)
    assert run.data.params["C"] == "chosen-elsewhere"
    assert "training_accuracy_score" in run.data.metrics

    caplog.clear()
    cairn.autolog(silent=True)
    with cairn.start_run(), caplog.at_level(logging.WARNING, logger="cairn.autolog"):
        cairn.log_param("C", "chosen-elsewhere")
        LogisticRegression(C=3.0).fit(X, y)
    assert caplog.messages == []


def test_long_nested_estimator_reprs_are_left_out():
    from cairn.tracking.autolog.sklearn import params_to_log

    long_steps = [(f"step{i}", StandardScaler()) for i in range(300)]
    logged = params_to_log({"steps": long_steps, "note": "x" * 7000, "alpha": 0.1})
    assert "steps" not in logged
    assert logged["note"] == "x" * 6000
    assert logged["alpha"] == "0.1"


def test_max_tuning_runs_must_be_non_negative():
    with pytest.raises(InvalidArgument, match="max_tuning_runs"):
        cairn.autolog(max_tuning_runs=-1)
