"""Entities to and from the native API's JSON shapes (the client side; the server's are pydantic models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cairn.entities import (
    ArtifactInfo,
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
)
from cairn.errors import CairnError
from cairn.store.wire_format import float_from_json, float_to_json


def experiment_from_json(body: dict[str, Any]) -> Experiment:
    """An Experiment from its JSON object."""
    try:
        return Experiment(
            experiment_id=str(body["experiment_id"]),
            name=body["name"],
            artifact_location=body["artifact_location"],
            lifecycle_stage=LifecycleStage(body["lifecycle_stage"]),
            creation_time=int(body["creation_time"]),
            last_update_time=int(body["last_update_time"]),
            tags=dict(body.get("tags") or {}),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("experiment", error) from None


def run_info_from_json(body: dict[str, Any]) -> RunInfo:
    """A RunInfo from its JSON object."""
    try:
        return RunInfo(
            run_id=body["run_id"],
            experiment_id=str(body["experiment_id"]),
            run_name=body["run_name"],
            user_id=body["user_id"],
            status=RunStatus(body["status"]),
            start_time=int(body["start_time"]),
            end_time=None if body.get("end_time") is None else int(body["end_time"]),
            artifact_uri=body["artifact_uri"],
            lifecycle_stage=LifecycleStage(body["lifecycle_stage"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("run info", error) from None


def run_from_json(body: dict[str, Any]) -> Run:
    """A Run (info, params, tags and latest metrics) from its JSON object."""
    try:
        data = body["data"]
        latest = {
            item["key"]: Metric(
                item["key"],
                float_from_json(item["value"], f"metric {item['key']!r} value"),
                int(item["timestamp"]),
                int(item["step"]),
            )
            for item in data.get("metrics") or []
        }
        run_data = RunData(
            metrics={key: metric.value for key, metric in latest.items()},
            params=dict(data.get("params") or {}),
            tags=dict(data.get("tags") or {}),
            latest_metrics=latest,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("run data", error) from None
    inputs = RunInputs(
        tuple(_dataset_input(item) for item in body.get("inputs", {}).get("dataset_inputs", []))
    )
    return Run(info=run_info_from_json(body["info"]), data=run_data, inputs=inputs)


def dataset_inputs_to_json(items: Sequence[DatasetInput]) -> list[dict[str, Any]]:
    """Dataset inputs as JSON objects."""
    return [
        {
            "dataset": {
                "name": item.dataset.name,
                "digest": item.dataset.digest,
                "source_type": item.dataset.source_type,
                "source": item.dataset.source,
                "schema": item.dataset.schema,
                "profile": item.dataset.profile,
            },
            "tags": [{"key": tag.key, "value": tag.value} for tag in item.tags],
        }
        for item in items
    ]


def _dataset_input(body: dict[str, Any]) -> DatasetInput:
    try:
        d = body["dataset"]
        dataset = Dataset(
            d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile")
        )
        return DatasetInput(dataset, tuple(InputTag(t["key"], t["value"]) for t in body.get("tags") or []))
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("dataset input", error) from None


def artifact_info_from_json(body: dict[str, Any]) -> ArtifactInfo:
    """An ArtifactInfo from its JSON object."""
    try:
        size = body.get("file_size")
        return ArtifactInfo(
            path=body["path"],
            is_dir=bool(body.get("is_dir", False)),
            file_size=None if size is None else int(size),
            sha256=body.get("sha256"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("artifact record", error) from None


def artifact_info_to_json(info: ArtifactInfo) -> dict[str, Any]:
    """The JSON object of an ArtifactInfo."""
    return {"path": info.path, "is_dir": info.is_dir, "file_size": info.file_size, "sha256": info.sha256}


def metrics_to_json(metrics: Sequence[Metric]) -> list[dict[str, Any]]:
    """Metric points as JSON objects; NaN and infinities as their JSON strings."""
    return [
        {"key": m.key, "value": _number(m.value), "timestamp": m.timestamp, "step": m.step} for m in metrics
    ]


def pairs_to_json(items: Sequence[Param] | Sequence[RunTag]) -> list[dict[str, Any]]:
    """Params or tags as `{"key", "value"}` objects, in order; a repeated key is left to the server."""
    return [{"key": item.key, "value": item.value} for item in items]


def _number(value: Any) -> Any:
    # Leave non-numbers as they are, so that the server refuses them with its own message.
    return float_to_json(value) if isinstance(value, float) else value


def _malformed(what: str, error: Exception) -> CairnError:
    return CairnError(f"the server sent a malformed {what}: {type(error).__name__} {error}")
