"""scikit-learn autologging: patching estimator fit methods and recording what each top-level fit did."""

from __future__ import annotations

import functools
import inspect
import json
import math
import platform
import tempfile
import threading
import types
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn._internal.clock import now_ms
from cairn._internal.skops_import import import_skops
from cairn._internal.validation import MAX_PARAM_VALUE_LENGTH, validate_key
from cairn.entities import Metric, Param, RunStatus
from cairn.errors import InvalidArgument, MissingExtra
from cairn.tracking import fluent
from cairn.tracking.active_run import ActiveRun, end_run_object
from cairn.tracking.autolog import LOGGER, AutologConfig
from cairn.tracking.client import TrackingClient

PATCHED_METHODS = ("fit", "fit_transform", "fit_predict")
AUTOLOG_TAG = "mlflow.autologging"
MODEL_DIR = "model"
CV_RESULTS_ARTIFACT = "cv_results.parquet"
INPUT_EXAMPLE_ROWS = 5
_MARK = "__cairn_autolog__"

_lock = threading.Lock()
_depth = threading.local()
_config: AutologConfig | None = None


@dataclass(frozen=True)
class _Patch:
    owner: type
    name: str
    original: Any
    own: bool


_patches: list[_Patch] = []


def enable(config: AutologConfig) -> None:
    """Patch every scikit-learn estimator (once) and use `config` from now on."""
    global _config
    with _lock:
        _config = config
        if _patches:
            return
        plan: list[tuple[_Patch, Any]] = []
        for owner in estimator_classes():
            for name in PATCHED_METHODS:
                original = _find_attribute(owner, name)
                replacement = None if original is None else _replacement(original)
                if replacement is not None:
                    plan.append((_Patch(owner, name, original, name in vars(owner)), replacement))
        for patch, replacement in plan:
            setattr(patch.owner, patch.name, replacement)
            _patches.append(patch)


def disable() -> None:
    """Put back exactly the methods `enable` replaced and stop autologging."""
    global _config
    with _lock:
        _config = None
        while _patches:
            patch = _patches.pop()
            if patch.own:
                setattr(patch.owner, patch.name, patch.original)
            else:
                delattr(patch.owner, patch.name)


def estimator_classes() -> list[type]:
    """The classes autologging patches: all public estimators plus Pipeline and the search classes."""
    try:
        from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
        from sklearn.pipeline import Pipeline
        from sklearn.utils import all_estimators
    except ImportError:
        raise MissingExtra("scikit-learn", "sklearn") from None
    classes: dict[type, None] = dict.fromkeys(cls for _, cls in all_estimators())
    classes.update(dict.fromkeys([Pipeline, GridSearchCV, RandomizedSearchCV]))
    return list(classes)


def _find_attribute(owner: type, name: str) -> Any:
    for klass in owner.__mro__:
        if name in vars(klass):
            found = vars(klass)[name]
            return None if getattr(found, _MARK, False) else found
    return None


def _replacement(original: Any) -> Any:
    if isinstance(original, types.FunctionType):
        function = original

        @functools.wraps(function)
        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _dispatch(self, functools.partial(function, self), args, kwargs)

        setattr(patched, _MARK, True)
        return patched
    if isinstance(original, staticmethod | classmethod | property) or not hasattr(type(original), "__get__"):
        return None
    return _PatchedDescriptor(original)


class _PatchedDescriptor:
    """Wraps a method descriptor (such as sklearn's `available_if`) so `hasattr` keeps its meaning."""

    def __init__(self, original: Any) -> None:
        self.original = original
        setattr(self, _MARK, True)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        bound = self.original.__get__(instance, owner)
        if instance is None:
            return bound

        @functools.wraps(bound)
        def call(*args: Any, **kwargs: Any) -> Any:
            return _dispatch(instance, bound, args, kwargs)

        return call


def _dispatch(estimator: Any, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a fit; only the outermost patched call of a thread is recorded."""
    config = _config
    depth: int = getattr(_depth, "value", 0)
    if config is None or depth:
        return call(*args, **kwargs)
    _depth.value = 1
    try:
        return _fit_in_run(estimator, call, args, kwargs, config)
    finally:
        _depth.value = 0


def _fit_in_run(
    estimator: Any,
    call: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    config: AutologConfig,
) -> Any:
    session = _guarded(config, "start a run", estimator, _begin_run)
    if session is None:
        return call(*args, **kwargs)
    active, owned = session
    _guarded(config, "log params and tags", estimator, lambda: _log_params_and_tags(active, estimator))
    try:
        result = call(*args, **kwargs)
    except BaseException as error:
        if owned:
            status = RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
            _guarded(config, "end the run", estimator, lambda: end_run_object(active, status))
        raise
    inputs = _guarded(config, "read the fit inputs", estimator, lambda: _FitInputs.of(call, args, kwargs))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _log_after_fit(active, estimator, inputs or _FitInputs(None, None, None), config)
    if owned:
        _guarded(config, "end the run", estimator, lambda: end_run_object(active, RunStatus.FINISHED))
    return result


def _guarded(config: AutologConfig, what: str, estimator: Any, action: Callable[[], Any]) -> Any:
    """Run one logging step; a failure becomes a warning and never reaches the user's fit."""
    try:
        return action()
    except Exception as error:
        if not config.silent:
            LOGGER.warning("cairn autolog: could not %s for %s: %s", what, type(estimator).__name__, error)
        return None


def _begin_run() -> tuple[ActiveRun, bool]:
    current = fluent.active_run()
    if current is not None:
        return current, False
    return fluent.start_run(tags={AUTOLOG_TAG: "sklearn"}), True


@dataclass(frozen=True)
class _FitInputs:
    """The training data a fit call received."""

    X: Any
    y: Any
    sample_weight: Any

    @classmethod
    def of(cls, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> _FitInputs:
        try:
            signature = inspect.signature(call)
            arguments = signature.bind_partial(*args, **kwargs).arguments
        except (TypeError, ValueError):
            return cls(args[0] if args else None, args[1] if len(args) > 1 else kwargs.get("y"), None)
        names = list(signature.parameters)
        first = arguments.get(names[0]) if names else None
        return cls(first, arguments.get("y", arguments.get("Y")), arguments.get("sample_weight"))


def _log_params_and_tags(active: ActiveRun, estimator: Any) -> None:
    kind = type(estimator)
    active.client.set_tags(
        active.run_id,
        {"estimator_name": kind.__name__, "estimator_class": f"{kind.__module__}.{kind.__qualname__}"},
    )
    active.client.log_params(active.run_id, params_to_log(estimator.get_params(deep=True)))


def params_to_log(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Params as text within the value limit; long reprs of nested estimators are left out."""
    logged: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        try:
            validate_key("param key", name)
        except InvalidArgument:
            continue
        text = str(value)
        if len(text) > MAX_PARAM_VALUE_LENGTH:
            if _holds_estimator(value):
                continue
            text = text[:MAX_PARAM_VALUE_LENGTH]
        logged[name] = text
    return logged


def _holds_estimator(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_holds_estimator(item) for item in value)
    return hasattr(value, "get_params") and not isinstance(value, type)


def _log_after_fit(active: ActiveRun, estimator: Any, inputs: _FitInputs, config: AutologConfig) -> None:
    client, run_id = active.client, active.run_id

    def metrics() -> None:
        found = training_metrics(estimator, inputs)
        if found:
            client.log_metrics(run_id, found)

    _guarded(config, "log training metrics", estimator, metrics)
    if isinstance(getattr(estimator, "cv_results_", None), dict):
        _guarded(config, "log the search results", estimator, lambda: _log_search(active, estimator, config))
    if config.log_models:
        _guarded(
            config, "log the model", estimator, lambda: log_model(client, run_id, estimator, inputs, config)
        )


def training_metrics(estimator: Any, inputs: _FitInputs) -> dict[str, float]:
    """Metrics of the fitted estimator on its own training data, each skipped if it cannot be computed."""
    from sklearn.base import is_classifier, is_regressor

    found: dict[str, float] = {}
    X, y = inputs.X, inputs.y
    weight = {} if inputs.sample_weight is None else {"sample_weight": inputs.sample_weight}
    if y is not None and is_classifier(estimator):
        found.update(_classifier_metrics(estimator, X, y, weight))
    elif y is not None and is_regressor(estimator):
        found.update(_regressor_metrics(estimator, X, y, weight))
    if hasattr(estimator, "score"):
        score_args = (X,) if y is None else (X, y)
        _attempt(found, "training_score", lambda: estimator.score(*score_args, **weight))
    return found


def _attempt(found: dict[str, float], key: str, compute: Callable[[], Any]) -> Any:
    try:
        found[key] = float(compute())
    except Exception:  # a metric that does not apply to this estimator or data is skipped
        return None
    return found[key]


def _classifier_metrics(estimator: Any, X: Any, y: Any, weight: dict[str, Any]) -> dict[str, float]:
    from sklearn import metrics

    found: dict[str, float] = {}
    try:
        predicted = estimator.predict(X)
    except Exception:
        predicted = None
    if predicted is not None:
        averaged = {"average": "weighted", "zero_division": 0, **weight}
        _attempt(found, "training_accuracy_score", lambda: metrics.accuracy_score(y, predicted, **weight))
        _attempt(found, "training_precision_score", lambda: metrics.precision_score(y, predicted, **averaged))
        _attempt(found, "training_recall_score", lambda: metrics.recall_score(y, predicted, **averaged))
        _attempt(found, "training_f1_score", lambda: metrics.f1_score(y, predicted, **averaged))
    if not hasattr(estimator, "predict_proba"):
        return found
    try:
        proba = estimator.predict_proba(X)
        labels = estimator.classes_
    except Exception:
        return found
    _attempt(found, "training_log_loss", lambda: metrics.log_loss(y, proba, labels=labels, **weight))

    def roc_auc() -> float:
        if proba.ndim == 2 and proba.shape[1] == 2:
            return float(metrics.roc_auc_score(y, proba[:, 1], **weight))
        return float(
            metrics.roc_auc_score(y, proba, multi_class="ovr", average="weighted", labels=labels, **weight)
        )

    _attempt(found, "training_roc_auc", roc_auc)
    return found


def _regressor_metrics(estimator: Any, X: Any, y: Any, weight: dict[str, Any]) -> dict[str, float]:
    from sklearn import metrics

    found: dict[str, float] = {}
    try:
        predicted = estimator.predict(X)
    except Exception:
        return found
    mse = _attempt(
        found, "training_mean_squared_error", lambda: metrics.mean_squared_error(y, predicted, **weight)
    )
    if mse is not None:
        found["training_root_mean_squared_error"] = math.sqrt(mse)
    _attempt(
        found, "training_mean_absolute_error", lambda: metrics.mean_absolute_error(y, predicted, **weight)
    )
    _attempt(found, "training_r2_score", lambda: metrics.r2_score(y, predicted, **weight))
    return found


def log_model(
    client: TrackingClient, run_id: str, estimator: Any, inputs: _FitInputs, config: AutologConfig
) -> None:
    """Store the fitted estimator as `model/model.skops` with `model/model_info.json` beside it."""
    skops, sio = import_skops()
    import sklearn

    with tempfile.TemporaryDirectory(prefix="cairn-model-") as tmp:
        folder = Path(tmp)
        model_file = folder / "model.skops"
        sio.dump(estimator, model_file)
        kind = type(estimator)
        info = {
            "estimator_class": f"{kind.__module__}.{kind.__qualname__}",
            "serialization_format": "skops",
            "model_file": model_file.name,
            "sklearn_version": sklearn.__version__,
            "skops_version": skops.__version__,
            "python_version": platform.python_version(),
            "untrusted_types": sio.get_untrusted_types(file=model_file),
        }
        (folder / "model_info.json").write_text(json.dumps(info, indent=2))
        if config.log_input_examples and inputs.X is not None:
            example = input_example(inputs.X)
            (folder / "input_example.json").write_text(json.dumps(example, default=str))
        client.log_artifacts(run_id, folder, MODEL_DIR)


def input_example(X: Any) -> dict[str, Any]:
    """The first rows of a training input as `{"columns": [...] or None, "data": [[...], ...]}`."""
    import numpy as np

    if hasattr(X, "iloc"):
        head = X.iloc[:INPUT_EXAMPLE_ROWS]
        table = head.to_dict(orient="split", index=False)
        return {"columns": [str(c) for c in table["columns"]], "data": table["data"]}
    head = X[:INPUT_EXAMPLE_ROWS]
    rows = head.toarray() if hasattr(head, "toarray") else np.asarray(head)
    return {"columns": None, "data": rows.tolist()}


def _log_search(active: ActiveRun, search: Any, config: AutologConfig) -> None:
    client, run_id = active.client, active.run_id
    results: dict[str, Any] = search.cv_results_
    best_params = getattr(search, "best_params_", None)
    if best_params:
        client.log_params(run_id, params_to_log(best_params, prefix="best_"))
    best_score = getattr(search, "best_score_", None)
    if best_score is not None:
        client.log_metric(run_id, "best_score", float(best_score))
    client.log_table(run_id, cv_results_frame(results), CV_RESULTS_ARTIFACT)
    for index in top_candidates(results, getattr(search, "refit", True), config.max_tuning_runs):
        _log_candidate(client, active, results, index)


def cv_results_frame(results: Mapping[str, Any]) -> Any:
    """`cv_results_` as a DataFrame whose object columns (params, masked values) are text."""
    import pandas as pd

    frame = pd.DataFrame(dict(results))
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_cell_text)
    return frame


def _cell_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def top_candidates(results: Mapping[str, Any], refit: Any, limit: int) -> list[int]:
    """Indices of the `limit` best-ranked candidates of a search, best first."""
    rank_key = "rank_test_score" if "rank_test_score" in results else f"rank_test_{refit}"
    if rank_key not in results:
        rank_key = next((key for key in results if key.startswith("rank_test_")), "")
    if not rank_key or limit <= 0:
        return []
    ranks = [int(rank) for rank in results[rank_key]]
    return sorted(range(len(ranks)), key=lambda index: (ranks[index], index))[:limit]


def _log_candidate(client: TrackingClient, parent: ActiveRun, results: Mapping[str, Any], index: int) -> None:
    child = client.create_run(
        parent.info.experiment_id,
        run_name=f"{parent.info.run_name}-candidate-{index}",
        parent_run_id=parent.run_id,
        tags={AUTOLOG_TAG: "sklearn"},
    )
    child_id = child.info.run_id
    status = RunStatus.FAILED
    try:
        stamp = now_ms()
        metrics = [
            Metric(key, float(values[index]), stamp, 0)
            for key, values in results.items()
            if key.startswith(("mean_", "std_", "rank_")) and _is_number(values[index])
        ]
        params = [Param(k, v) for k, v in params_to_log(results["params"][index]).items()]
        client.log_batch(child_id, metrics=metrics, params=params)
        status = RunStatus.FINISHED
    finally:
        client.set_terminated(child_id, status)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
