"""MLflow-compatible logging routes: metrics, params, tags, batches and model records, written at once."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn._internal.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH
from cairn.entities import Metric, Param, RunTag
from cairn.errors import InvalidArgument
from cairn.server.mlflow.proto_json import json_response
from cairn.server.mlflow.requests import Args, ServicesDep, integer, messages, number, parsed, string

router = APIRouter()

MAX_ENTITIES_PER_BATCH = 1000
LOGGED_MODELS_TAG = "mlflow.log-model.history"
MODEL_JSON_FIELDS = ("artifact_path", "flavors", "utc_time_created", "run_id")

_RUN_ID = string("run_id", required=True, alias="run_uuid")
_KEY = string("key", required=True)
_METRIC_FIELDS = (
    _KEY,
    number("value", required=True),
    integer("timestamp", required=True),
    integer("step"),
    string("model_id"),
    string("dataset_name"),
    string("dataset_digest"),
)


def _metric(fields: Args) -> Metric:
    return Metric(fields["key"], fields["value"], fields["timestamp"], fields.get("step", 0))


@router.post("/runs/log-metric")
def log_metric(
    args: Annotated[Args, Depends(parsed(_RUN_ID, *_METRIC_FIELDS))], services: ServicesDep
) -> Response:
    """Append one point to a metric's history."""
    services.store.log_batch(args["run_id"], metrics=[_metric(args)])
    return json_response({})


@router.post("/runs/log-parameter")
def log_param(
    args: Annotated[Args, Depends(parsed(_RUN_ID, _KEY, string("value")))], services: ServicesDep
) -> Response:
    """Log a param; logging another value for an existing key is a 400 INVALID_PARAMETER_VALUE."""
    services.store.log_batch(args["run_id"], params=[Param(args["key"], args.get("value", ""))])
    return json_response({})


@router.post("/runs/set-tag")
def set_tag(
    args: Annotated[Args, Depends(parsed(_RUN_ID, _KEY, string("value")))], services: ServicesDep
) -> Response:
    """Set or replace a tag on a run."""
    services.store.log_batch(args["run_id"], tags=[RunTag(args["key"], args.get("value", ""))])
    return json_response({})


@router.post("/runs/delete-tag")
def delete_tag(args: Annotated[Args, Depends(parsed(_RUN_ID, _KEY))], services: ServicesDep) -> Response:
    """Remove a tag from a run; 404 if it has no such tag."""
    services.store.delete_tag(args["run_id"], args["key"])
    return json_response({})


_BATCH = parsed(
    _RUN_ID,
    messages("metrics", *_METRIC_FIELDS),
    messages("params", _KEY, string("value")),
    messages("tags", _KEY, string("value")),
)


@router.post("/runs/log-batch")
def log_batch(args: Annotated[Args, Depends(_BATCH)], services: ServicesDep) -> Response:
    """Log metrics, params and tags in one transaction, within MLflow's per-request limits."""
    metrics = args.get("metrics", [])
    params = args.get("params", [])
    tags = args.get("tags", [])
    check_batch_limits(len(metrics), len(params), len(tags))
    services.store.log_batch(
        args["run_id"],
        metrics=[_metric(m) for m in metrics],
        params=[Param(p["key"], p.get("value", "")) for p in params],
        tags=[RunTag(t["key"], t.get("value", "")) for t in tags],
    )
    return json_response({})


def check_batch_limits(metrics: int, params: int, tags: int) -> None:
    """Refuse a batch over MLflow's limits: 1000 metrics, 100 params, 100 tags, 1000 entities in all."""
    for count, limit, what in (
        (metrics, MAX_METRICS_PER_BATCH, "metrics"),
        (params, MAX_PARAMS_TAGS_PER_BATCH, "params"),
        (tags, MAX_PARAMS_TAGS_PER_BATCH, "tags"),
        (metrics + params + tags, MAX_ENTITIES_PER_BATCH, "metrics, params and tags in total"),
    ):
        if count > limit:
            raise InvalidArgument(
                f"A batch logging request can contain at most {limit} {what}; got {count}. "
                "Split the data across several requests."
            )


_LOG_MODEL = parsed(_RUN_ID, string("model_json", required=True))


@router.post("/runs/log-model")
def log_model(args: Annotated[Args, Depends(_LOG_MODEL)], services: ServicesDep) -> Response:
    """Record a logged model's description by appending it to the run's mlflow.log-model.history tag."""
    entry = _model_description(args["model_json"])
    run = services.store.get_run(args["run_id"])
    history = _model_history(run.data.tags.get(LOGGED_MODELS_TAG))
    history.append(entry)
    value = json.dumps(history, separators=(",", ":"))
    services.store.log_batch(run.info.run_id, tags=[RunTag(LOGGED_MODELS_TAG, value)])
    return json_response({})


def _model_description(model_json: str) -> dict[str, Any]:
    try:
        model = json.loads(model_json)
    except (ValueError, RecursionError):
        raise InvalidArgument("Invalid value for parameter 'model_json': it is not valid JSON") from None
    if not isinstance(model, dict):
        raise InvalidArgument("Invalid value for parameter 'model_json': expected a JSON object")
    missing = [name for name in MODEL_JSON_FIELDS if name not in model]
    if missing:
        raise InvalidArgument(
            f"Invalid value for parameter 'model_json': missing fields {', '.join(missing)}"
        )
    return model


def _model_history(stored: str | None) -> list[Any]:
    if not stored:
        return []
    try:
        history = json.loads(stored)
    except ValueError:
        return []
    return history if isinstance(history, list) else []
