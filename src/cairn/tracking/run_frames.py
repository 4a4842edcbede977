"""Turning runs into a pandas DataFrame the way MLflow users expect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cairn.entities import Run

if TYPE_CHECKING:
    import pandas as pd


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: info columns, then `metrics.*`, `params.*` and `tags.*` columns."""
    import pandas as pd

    info_columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time", "run_name"]
    rows: list[dict[str, Any]] = []
    metric_keys: set[str] = set()
    param_keys: set[str] = set()
    tag_keys: set[str] = set()
    for run in runs:
        info = run.info
        row: dict[str, Any] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "status": info.status.value,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else pd.NaT,
            "run_name": info.run_name,
        }
        for prefix, values, keys in (
            ("metrics", run.data.metrics, metric_keys),
            ("params", run.data.params, param_keys),
            ("tags", run.data.tags, tag_keys),
        ):
            for key, value in values.items():
                row[f"{prefix}.{key}"] = value
                keys.add(key)
        rows.append(row)
    columns = (
        info_columns
        + [f"metrics.{k}" for k in sorted(metric_keys)]
        + [f"params.{k}" for k in sorted(param_keys)]
        + [f"tags.{k}" for k in sorted(tag_keys)]
    )
    return pd.DataFrame(rows, columns=columns)
