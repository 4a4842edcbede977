"""MLflow-compatible metric history routes: one metric's history, and down-sampled histories of many runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn.errors import InvalidArgument
from cairn.server.mlflow.proto_json import json_response, metric_json
from cairn.server.mlflow.requests import Args, ServicesDep, integer, parsed, string, strings

router = APIRouter()

MAX_HISTORY_PAGE = 25_000
MAX_RUNS_PER_BULK_REQUEST = 100
MAX_POINTS_PER_RUN = 2500

_HISTORY = parsed(
    string("run_id", required=True, alias="run_uuid"),
    string("metric_key", required=True),
    string("page_token"),
    integer("max_results"),
)


@router.get("/metrics/get-history")
def get_metric_history(args: Annotated[Args, Depends(_HISTORY)], services: ServicesDep) -> Response:
    """A metric's history in logging order: all of it, or pages of `max_results` (at most 25,000) points."""
    max_results = args.get("max_results")
    if max_results is not None and max_results < 1:
        raise InvalidArgument(
            f"Invalid value {max_results} for parameter 'max_results' supplied: must be >= 1"
        )
    offset = decode_page_token(args.get("page_token") or None)
    history = services.store.get_metric_history(args["run_id"], args["metric_key"])
    end = len(history) if max_results is None else offset + min(max_results, MAX_HISTORY_PAGE)
    payload: dict[str, object] = {"metrics": [metric_json(point) for point in history[offset:end]]}
    if end < len(history):
        payload["next_page_token"] = encode_page_token(end)
    return json_response(payload)


_BULK_INTERVAL = parsed(
    strings("run_ids", required=True),
    string("metric_key", required=True),
    integer("start_step"),
    integer("end_step"),
    integer("max_results"),
)


@router.get("/metrics/get-history-bulk-interval")
def get_metric_history_bulk_interval(
    args: Annotated[Args, Depends(_BULK_INTERVAL)], services: ServicesDep
) -> Response:
    """Each run's history of one metric, down-sampled to `max_results` points keeping ends and extremes."""
    run_ids = list(dict.fromkeys(args["run_ids"]))
    if len(run_ids) > MAX_RUNS_PER_BULK_REQUEST:
        raise InvalidArgument(
            f"Invalid value for parameter 'run_ids': at most {MAX_RUNS_PER_BULK_REQUEST} run ids are "
            f"allowed; got {len(run_ids)}"
        )
    max_results = args.get("max_results", MAX_POINTS_PER_RUN)
    if not 1 <= max_results <= MAX_POINTS_PER_RUN:
        raise InvalidArgument(
            f"Invalid value {max_results} for parameter 'max_results' supplied: "
            f"must be between 1 and {MAX_POINTS_PER_RUN}"
        )
    start_step, end_step = _step_range(args.get("start_step"), args.get("end_step"))
    points: list[dict[str, object]] = []
    for run_id in run_ids:
        history = services.store.get_metric_history(run_id, args["metric_key"])
        from cairn.server.mlflow.metric_sampling import sample_history  # numpy: load on first use

        sampled = sample_history(history, max_results, start_step, end_step)
        points.extend(metric_json(point, run_id) for point in sampled)
    return json_response({"metrics": points})


def _step_range(start_step: int | None, end_step: int | None) -> tuple[int | None, int | None]:
    if (start_step is None) != (end_step is None):
        raise InvalidArgument("start_step and end_step must be given together, or neither")
    if start_step is not None and end_step is not None and start_step > end_step:
        raise InvalidArgument(f"start_step ({start_step}) must not be greater than end_step ({end_step})")
    return start_step, end_step
