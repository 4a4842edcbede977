"""Cairn: experiment tracking, data, models, deployment and monitoring in one framework.

Importing `cairn` is light: the store, SQLAlchemy, pandas and friends load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ActiveRun": "cairn.tracking.active_run",
    "RegistryClient": "cairn.registry.client",
    "TrackingClient": "cairn.tracking.client",
    "active_run": "cairn.tracking.fluent",
    "autolog": "cairn.tracking.autolog",
    "delete_tag": "cairn.tracking.fluent",
    "download_artifacts": "cairn.tracking.fluent",
    "end_run": "cairn.tracking.fluent",
    "flush": "cairn.tracking.fluent",
    "get_metric_history": "cairn.tracking.fluent",
    "get_run": "cairn.tracking.fluent",
    "get_tracking_uri": "cairn.tracking.fluent",
    "list_artifacts": "cairn.tracking.fluent",
    "log_artifact": "cairn.tracking.fluent",
    "log_artifacts": "cairn.tracking.fluent",
    "log_dict": "cairn.tracking.fluent",
    "log_figure": "cairn.tracking.fluent",
    "log_image": "cairn.tracking.fluent",
    "log_metric": "cairn.tracking.fluent",
    "log_metrics": "cairn.tracking.fluent",
    "log_param": "cairn.tracking.fluent",
    "log_params": "cairn.tracking.fluent",
    "log_table": "cairn.tracking.fluent",
    "log_text": "cairn.tracking.fluent",
    "search_experiments": "cairn.tracking.fluent",
    "search_runs": "cairn.tracking.fluent",
    "set_experiment": "cairn.tracking.fluent",
    "set_tag": "cairn.tracking.fluent",
    "set_tags": "cairn.tracking.fluent",
    "set_tracking_uri": "cairn.tracking.fluent",
    "start_run": "cairn.tracking.fluent",
}

__all__ = [
    "ActiveRun",
    "RegistryClient",
    "TrackingClient",
    "__version__",
    "active_run",
    "autolog",
    "delete_tag",
    "download_artifacts",
    "end_run",
    "flush",
    "get_metric_history",
    "get_run",
    "get_tracking_uri",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]

if TYPE_CHECKING:
    from cairn.registry.client import RegistryClient
    from cairn.tracking.active_run import ActiveRun
    from cairn.tracking.autolog import autolog
    from cairn.tracking.client import TrackingClient
    from cairn.tracking.fluent import (
        active_run,
        delete_tag,
        download_artifacts,
        end_run,
        flush,
        get_metric_history,
        get_run,
        get_tracking_uri,
        list_artifacts,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_table,
        log_text,
        search_experiments,
        search_runs,
        set_experiment,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )


_SUBMODULES = frozenset({"lightgbm", "models", "onnx", "pyfunc", "pytorch", "registry", "sklearn", "xgboost"})
"""Packages reachable as attributes after a bare `import cairn` (e.g. `cairn.sklearn.log_model`)."""


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"cairn.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cairn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
