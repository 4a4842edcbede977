"""Cairn entities in the JSON shapes of MLflow's protobuf messages (Experiment, Run, RunInfo, Metric).

The rules are protobuf JSON's as MLflow applies them: snake_case names, enums by name, int64 as numbers,
unset fields omitted, and doubles NaN/±Infinity as the strings "NaN", "Infinity" and "-Infinity".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi.responses import Response

from cairn.entities import Experiment, Metric, Run, RunInfo
from cairn.store.wire_format import float_to_json

JsonObject = dict[str, Any]


def key_values_json(items: Mapping[str, str]) -> list[JsonObject]:
    """Tags or params as a list of `{"key", "value"}` objects."""
    return [{"key": key, "value": value} for key, value in items.items()]


def experiment_json(experiment: Experiment) -> JsonObject:
    """An `Experiment` message."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": experiment.artifact_location,
        "lifecycle_stage": experiment.lifecycle_stage.value,
        "last_update_time": experiment.last_update_time,
        "creation_time": experiment.creation_time,
        "tags": key_values_json(experiment.tags),
    }


def run_info_json(info: RunInfo) -> JsonObject:
    """A `RunInfo` message, with the legacy `run_uuid` beside `run_id`; no `end_time` while unset."""
    shape: JsonObject = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status.value,
        "start_time": info.start_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage.value,
    }
    if info.end_time is not None:
        shape["end_time"] = info.end_time
    return shape


def metric_json(metric: Metric, run_id: str | None = None) -> JsonObject:
    """A `Metric` message; with `run_id`, a `MetricWithRunId`."""
    shape: JsonObject = {
        "key": metric.key,
        "value": float_to_json(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }
    if run_id is not None:
        shape["run_id"] = run_id
    return shape


def run_json(run: Run, inputs: Mapping[str, Any] | None = None) -> JsonObject:
    """A `Run` message: info, data (latest metrics, params, tags) and inputs (`{}` when none are given)."""
    latest = dict(run.data.latest_metrics)
    for key, value in run.data.metrics.items():
        latest.setdefault(key, Metric(key, value, 0, 0))
    return {
        "info": run_info_json(run.info),
        "data": {
            "metrics": [metric_json(metric) for metric in latest.values()],
            "params": key_values_json(run.data.params),
            "tags": key_values_json(run.data.tags),
        },
        "inputs": dict(inputs or {}),
    }


def json_response(payload: Mapping[str, Any]) -> Response:
    """A 200 response with `payload` as compact UTF-8 JSON (callers turn NaN and infinities into strings)."""
    return Response(content=orjson.dumps(payload), media_type="application/json")
