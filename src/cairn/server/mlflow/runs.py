"""MLflow-compatible run routes: create, update, delete, restore, get and search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn._internal.clock import now_ms
from cairn._internal.names import generate_run_name
from cairn.entities import Run, RunStatus, RunTag, ViewType
from cairn.errors import InvalidArgument, NotFound
from cairn.server.mlflow.inputs import run_inputs_json
from cairn.server.mlflow.proto_json import JsonObject, json_response, run_info_json, run_json
from cairn.server.mlflow.requests import (
    Args,
    ServicesDep,
    enum,
    integer,
    messages,
    parsed,
    string,
    strings,
)

router = APIRouter()

RUN_NAME_TAG = "mlflow.runName"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_USER_ID = "unknown"
DEFAULT_SEARCH_MAX_RESULTS = 1000
RUN_STATUSES = tuple(status.value for status in RunStatus)
VIEW_TYPES = tuple(view.value for view in ViewType)

_RUN_ID = string("run_id", required=True, alias="run_uuid")
_CREATE = parsed(
    string("experiment_id"),
    string("user_id"),
    string("run_name"),
    integer("start_time"),
    messages("tags", string("key", required=True), string("value")),
)


@router.post("/runs/create")
def create_run(args: Annotated[Args, Depends(_CREATE)], services: ServicesDep) -> Response:
    """Create a RUNNING run named by `run_name`, else by its mlflow.runName tag, else by a generated name."""
    tags = [RunTag(tag["key"], tag.get("value", "")) for tag in args.get("tags", [])]
    run = services.store.create_run(
        experiment_id=args.get("experiment_id") or DEFAULT_EXPERIMENT_ID,
        user_id=args.get("user_id") or DEFAULT_USER_ID,
        start_time=args["start_time"] if "start_time" in args else now_ms(),
        run_name=_run_name(args.get("run_name") or None, tags),
        tags=tags,
    )
    return json_response({"run": runs_json([run])[0]})


def runs_json(found: Sequence[Run]) -> list[JsonObject]:
    """Runs as `Run` messages; the one place where the routes shape runs (inputs are `{}` here)."""
    return [run_json(run, run_inputs_json(run.inputs)) for run in found]


def _run_name(requested: str | None, tags: list[RunTag]) -> str:
    tagged = next((tag.value for tag in reversed(tags) if tag.key == RUN_NAME_TAG), None)
    if requested and tagged and requested != tagged:
        raise InvalidArgument(
            f"Invalid value for parameter 'run_name': {requested!r} differs from the "
            f"{RUN_NAME_TAG} tag {tagged!r}; give one name"
        )
    return requested or tagged or generate_run_name()


_UPDATE = parsed(_RUN_ID, enum("status", RUN_STATUSES), integer("end_time"), string("run_name"))


@router.post("/runs/update")
def update_run(args: Annotated[Args, Depends(_UPDATE)], services: ServicesDep) -> Response:
    """Change the status, end time or name of a run; only the fields given are changed."""
    info = services.store.update_run(
        args["run_id"],
        status=RunStatus.parse(args["status"]) if "status" in args else None,
        end_time=args.get("end_time"),
        run_name=args.get("run_name") or None,
    )
    return json_response({"run_info": run_info_json(info)})


@router.post("/runs/delete")
def delete_run(args: Annotated[Args, Depends(parsed(_RUN_ID))], services: ServicesDep) -> Response:
    """Soft-delete a run."""
    services.store.delete_run(args["run_id"])
    return json_response({})


@router.post("/runs/restore")
def restore_run(args: Annotated[Args, Depends(parsed(_RUN_ID))], services: ServicesDep) -> Response:
    """Restore a soft-deleted run."""
    services.store.restore_run(args["run_id"])
    return json_response({})


@router.get("/runs/get")
def get_run(args: Annotated[Args, Depends(parsed(_RUN_ID))], services: ServicesDep) -> Response:
    """A run with its params, tags and the latest value of each metric."""
    run_id = args["run_id"]
    try:
        run = services.store.get_run(run_id)
    except NotFound:
        raise NotFound(f"Run with id={run_id} not found") from None
    return json_response({"run": runs_json([run])[0]})


_SEARCH = parsed(
    strings("experiment_ids"),
    string("filter"),
    enum("run_view_type", VIEW_TYPES),
    integer("max_results"),
    strings("order_by"),
    string("page_token"),
)


@router.post("/runs/search")
def search_runs(args: Annotated[Args, Depends(_SEARCH)], services: ServicesDep) -> Response:
    """One page of the runs of some experiments that match a filter, in the requested order."""
    page = services.store.search_runs(
        experiment_ids=args.get("experiment_ids", []),
        filter_string=args.get("filter") or None,
        view_type=ViewType.parse(args.get("run_view_type", ViewType.ACTIVE_ONLY)),
        max_results=args.get("max_results", DEFAULT_SEARCH_MAX_RESULTS),
        order_by=args.get("order_by") or None,
        page_token=args.get("page_token") or None,
    )
    payload: dict[str, object] = {"runs": runs_json(page)}
    if page.token:
        payload["next_page_token"] = page.token
    return json_response(payload)
