"""Cairn end to end: nested runs, scikit-learn autologging, manual logging, search and read-back.

Run with `make demo` (or `python examples/demo.py`). Runs land in the folder named by CAIRN_TRACKING_URI,
or in ./cairn-store when it is unset.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import cairn
import cairn.data
import cairn.pyfunc
import cairn.sklearn

SEED = 7
DATASET = {"n_samples": 1500, "n_features": 20, "n_informative": 8, "n_redundant": 4, "random_state": SEED}
REGISTERED_NAME = "demo-classifier"
RANK_METRIC = "holdout_accuracy"


@dataclass(frozen=True)
class Candidate:
    """A model to train, and how to walk its training stage by stage (the demo's "epochs")."""

    name: str
    family: str
    build: Callable[[], Any]
    curve: Callable[[Any, np.ndarray, np.ndarray], Iterator[float]]


def boosting_curve(model: Any, X: np.ndarray, y: np.ndarray) -> Iterator[float]:
    """Validation accuracy after each boosting stage."""
    for predicted in model.staged_predict(X):
        yield float(accuracy_score(y, predicted))


def forest_curve(model: Any, X: np.ndarray, y: np.ndarray) -> Iterator[float]:
    """Validation accuracy of the forest's first k trees, k = 1..n_estimators."""
    total = np.zeros((len(X), len(model.classes_)))
    for count, tree in enumerate(model.estimators_, start=1):
        total += tree.predict_proba(X)
        yield float(accuracy_score(y, model.classes_[np.argmax(total / count, axis=1)]))


def network_curve(model: Any, X: np.ndarray, y: np.ndarray) -> Iterator[float]:
    """The network's per-epoch validation accuracy (on its own early-stopping split)."""
    yield from (float(score) for score in model[-1].validation_scores_)


CANDIDATES = [
    Candidate(
        "gradient-boosting",
        "boosting",
        lambda: GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=SEED),
        boosting_curve,
    ),
    Candidate(
        "random-forest",
        "bagging",
        lambda: RandomForestClassifier(n_estimators=60, max_depth=8, random_state=SEED, n_jobs=1),
        forest_curve,
    ),
    Candidate(
        "neural-network",
        "neural",
        lambda: Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "mlp",
                    MLPClassifier(
                        hidden_layer_sizes=(32,),
                        max_iter=40,
                        early_stopping=True,
                        n_iter_no_change=40,
                        random_state=SEED,
                    ),
                ),
            ]
        ),
        network_curve,
    ),
]


def say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def log_curve(name: str, values: list[float]) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3))
    axes.plot(range(len(values)), values, marker=".")
    axes.set(title=f"{name}: validation accuracy", xlabel="step", ylabel="accuracy")
    figure.tight_layout()
    cairn.log_figure(figure, "plots/val_accuracy.png")
    plt.close(figure)


def as_frame(X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Features and label as one table, the form datasets are versioned in."""
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = y
    return frame


DATA_RULES = """
rules:
  - row_count: {min: 100}
  - not_null: {column: f0}
  - in_set: {column: label, values: [0, 1]}
"""


def version_data(data: dict[str, np.ndarray]) -> None:
    """Version the training and test sets (content-addressed) and check them against rules."""
    train = cairn.data.log_dataset(as_frame(data["X_train"], data["y_train"]), "demo-train", "training")
    test = cairn.data.log_dataset(as_frame(data["X_test"], data["y_test"]), "demo-test", "test")
    for version in (train, test):
        rows, digest = version.row_count, version.digest[:12]
        say(f"  dataset {version.name} v{version.version}: {rows} rows, digest {digest}")
    report = cairn.data.validate("demo-train", DATA_RULES)
    verdict = "passed" if report.passed else "FAILED"
    say(f"  validation of demo-train: {verdict} ({len(report.results)} rules)")


def train_child(candidate: Candidate, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """One nested run: autologged fit, then manual params, a step metric, a figure, a table and a dict."""
    with cairn.start_run(run_name=candidate.name, nested=True) as run:
        # Unchanged content maps to the same version: this only links it to the child run.
        cairn.data.log_dataset(as_frame(data["X_train"], data["y_train"]), "demo-train", "training")
        cairn.log_params({"model_family": candidate.family, "train_rows": len(data["y_train"])})
        model = candidate.build().fit(data["X_train"], data["y_train"])  # autolog records this fit

        values = list(candidate.curve(model, data["X_test"], data["y_test"]))
        for step, value in enumerate(values):
            cairn.log_metric("val_accuracy", value, step=step)
        predicted = model.predict(data["X_test"])
        accuracy = float(accuracy_score(data["y_test"], predicted))
        cairn.log_metric(RANK_METRIC, accuracy)

        log_curve(candidate.name, values)
        report = classification_report(data["y_test"], predicted, output_dict=True)
        rows = [{"label": label, **scores} for label, scores in report.items() if isinstance(scores, dict)]
        cairn.log_table(pd.DataFrame(rows), "tables/classification_report.parquet")
        matrix = confusion_matrix(data["y_test"], predicted)
        cairn.log_dict({"labels": [0, 1], "matrix": matrix.tolist()}, "confusion_matrix.json")
        info = cairn.sklearn.log_model(model, "model", input_example=data["X_test"][:3])
        say(f"  {candidate.name:<18} {len(values):>3} steps  {RANK_METRIC} {accuracy:.3f}  run {run.run_id}")
        return {
            "model_uri": info.model_uri,
            "model": candidate.name,
            "family": candidate.family,
            RANK_METRIC: accuracy,
            "steps": len(values),
        }


def log_comparison(summary: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    cairn.log_table(summary, "comparison.parquet")
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.barh(summary["model"], summary[RANK_METRIC], color="#4c72b0")
    axes.set(xlim=(0.5, 1.0), xlabel=RANK_METRIC, title="Models compared")
    figure.tight_layout()
    cairn.log_figure(figure, "comparison.png")
    plt.close(figure)
    cairn.log_metric(f"best_{RANK_METRIC}", float(summary[RANK_METRIC].max()))


def print_ranking(parent_id: str) -> str:
    """Search the parent's children with a filter and an order; print them ranked; return the best run id."""
    filter_string = f"tags.`mlflow.parentRunId` = '{parent_id}' AND metrics.{RANK_METRIC} > 0.5"
    say(f"search_runs(filter_string={filter_string!r}, order_by=['metrics.{RANK_METRIC} DESC'])")
    found = cairn.search_runs(filter_string=filter_string, order_by=[f"metrics.{RANK_METRIC} DESC"])
    assert isinstance(found, pd.DataFrame)
    if found.empty:
        raise SystemExit("no child run matched the search")
    print(f"  {'rank':<5}{'run':<20}{'family':<10}{RANK_METRIC:>18}{'training_accuracy':>19}")
    for rank, (_, row) in enumerate(found.iterrows(), start=1):
        print(
            f"  {rank:<5}{row['run_name']:<20}{row['params.model_family']:<10}"
            f"{row[f'metrics.{RANK_METRIC}']:>18.3f}{row['metrics.training_accuracy_score']:>19.3f}"
        )
    return str(found.iloc[0]["run_id"])


def artifact_paths(run_id: str, path: str | None = None) -> list[str]:
    paths: list[str] = []
    for info in cairn.list_artifacts(path, run_id=run_id):
        paths.extend(artifact_paths(run_id, info.path) if info.is_dir else [info.path])
    return paths


def promote_and_serve(model_uri: str, rows: np.ndarray) -> None:
    """Register the best model, point the `champion` alias at it, load it by alias and follow its lineage."""
    from cairn.registry.lineage import lineage_of

    registry = cairn.RegistryClient()
    version = registry.register_model(model_uri, REGISTERED_NAME)
    registry.set_alias(REGISTERED_NAME, "champion", version.version)
    say(f"registered {model_uri} as {REGISTERED_NAME} version {version.version}, alias champion")
    champion = cairn.pyfunc.load_model(f"models:/{REGISTERED_NAME}@champion")
    say(f"  models:/{REGISTERED_NAME}@champion predicts {champion.predict(rows).tolist()} for 5 test rows")
    chain = lineage_of(registry, f"models:/{REGISTERED_NAME}@champion")
    run_name = chain.run.info.run_name if chain.run else "?"
    say(f"  lineage: version {version.version} <- logged model {model_uri} <- run {run_name}")
    for used in chain.datasets:
        say(f"           <- dataset {used.dataset.name} ({used.context}, digest {used.dataset.digest[:12]})")


def main() -> int:
    started = time.perf_counter()
    matplotlib.use("Agg")
    logging.basicConfig(level=logging.WARNING, format="[cairn] %(message)s")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    say(f"tracking store: {cairn.get_tracking_uri()}")
    experiment = cairn.set_experiment("demo")
    say(f"experiment 'demo' (id {experiment.experiment_id})")
    cairn.autolog()
    say("autolog enabled for scikit-learn")

    X, y = make_classification(**DATASET)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=SEED, stratify=y)
    data = {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}
    with cairn.start_run(
        run_name="model-comparison", description="Three model families on one dataset"
    ) as parent:
        say(f"parent run {parent.run_id}: training {len(CANDIDATES)} models in nested runs")
        cairn.log_params({f"dataset_{key}": value for key, value in DATASET.items()} | {"test_size": 0.3})
        cairn.log_dict({"generator": "sklearn.datasets.make_classification", **DATASET}, "dataset.yaml")
        version_data(data)
        summary = pd.DataFrame([train_child(candidate, data) for candidate in CANDIDATES])
        log_comparison(summary)

    best_id = print_ranking(parent.run_id)
    best = cairn.get_run(best_id)
    history = cairn.get_metric_history(best_id, "val_accuracy")
    say(f"best run: {best.info.run_name} ({best_id})")
    last = history[-1]
    say(f"  val_accuracy history: {len(history)} points, last {last.value:.3f} at step {last.step}")
    say(f"  params: {len(best.data.params)} (autologged and manual), metrics: {sorted(best.data.metrics)}")
    say("  artifacts:")
    for path in artifact_paths(best_id):
        print(f"    {path}")
    model_uri = str(summary.set_index("model").loc[best.info.run_name, "model_uri"])
    promote_and_serve(model_uri, data["X_test"][:5])
    cairn.autolog(disable=True)
    say(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
