"""MLflow-compatible experiment routes: get, get-by-name, create, search, rename, delete, restore and tags."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn.entities import ViewType
from cairn.errors import InvalidArgument, NotFound
from cairn.server.mlflow.proto_json import experiment_json, json_response
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

VIEW_TYPES = tuple(view.value for view in ViewType)
DEFAULT_SEARCH_MAX_RESULTS = 1000
_TAG = (string("key", required=True), string("value"))


@runtime_checkable
class ExperimentTagDeleter(Protocol):
    """A store that can remove experiment tags (the SQL store can)."""

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove tag `key` from the experiment."""
        ...


_EXPERIMENT_ID = string("experiment_id", required=True)


@router.get("/experiments/get-by-name")
def get_experiment_by_name(
    args: Annotated[Args, Depends(parsed(string("experiment_name", required=True)))], services: ServicesDep
) -> Response:
    """The experiment with a name; 404 RESOURCE_DOES_NOT_EXIST (which the client reads as None) if absent."""
    name = args["experiment_name"]
    experiment = services.store.find_experiment_by_name(name)
    if experiment is None:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return json_response({"experiment": experiment_json(experiment)})


_CREATE = parsed(string("name", required=True), string("artifact_location"), messages("tags", *_TAG))


@router.post("/experiments/create")
def create_experiment(args: Annotated[Args, Depends(_CREATE)], services: ServicesDep) -> Response:
    """Create an experiment; its artifact location is always chosen by the server."""
    if args.get("artifact_location"):
        raise InvalidArgument(
            "Invalid value for parameter 'artifact_location': this server chooses where artifacts are "
            "stored, so a client-supplied artifact_location is not accepted"
        )
    tags = {tag["key"]: tag.get("value", "") for tag in args.get("tags", [])}
    experiment_id = services.store.create_experiment(args["name"], None, tags)
    return json_response({"experiment_id": experiment_id})


_SEARCH = parsed(
    integer("max_results"),
    string("page_token"),
    string("filter"),
    strings("order_by"),
    enum("view_type", VIEW_TYPES),
)


@router.get("/experiments/search")
@router.post("/experiments/search")
def search_experiments(args: Annotated[Args, Depends(_SEARCH)], services: ServicesDep) -> Response:
    """One page of experiments matching a filter, in the requested order."""
    page = services.store.search_experiments(
        view_type=ViewType.parse(args.get("view_type", ViewType.ACTIVE_ONLY)),
        max_results=args.get("max_results", DEFAULT_SEARCH_MAX_RESULTS),
        filter_string=args.get("filter") or None,
        order_by=args.get("order_by") or None,
        page_token=args.get("page_token") or None,
    )
    payload: dict[str, object] = {"experiments": [experiment_json(e) for e in page]}
    if page.token:
        payload["next_page_token"] = page.token
    return json_response(payload)


@router.get("/experiments/get")
def get_experiment(args: Annotated[Args, Depends(parsed(_EXPERIMENT_ID))], services: ServicesDep) -> Response:
    """The experiment with an id, active or deleted."""
    experiment_id = args["experiment_id"]
    try:
        experiment = services.store.get_experiment(experiment_id)
    except NotFound:
        raise NotFound(f"No Experiment with id={experiment_id} exists") from None
    return json_response({"experiment": experiment_json(experiment)})


@router.post("/experiments/delete")
def delete_experiment(
    args: Annotated[Args, Depends(parsed(_EXPERIMENT_ID))], services: ServicesDep
) -> Response:
    """Soft-delete an experiment and its runs."""
    services.store.delete_experiment(args["experiment_id"])
    return json_response({})


@router.post("/experiments/restore")
def restore_experiment(
    args: Annotated[Args, Depends(parsed(_EXPERIMENT_ID))], services: ServicesDep
) -> Response:
    """Restore a soft-deleted experiment and its runs."""
    services.store.restore_experiment(args["experiment_id"])
    return json_response({})


_UPDATE = parsed(_EXPERIMENT_ID, string("new_name", required=True))


@router.post("/experiments/update")
def update_experiment(args: Annotated[Args, Depends(_UPDATE)], services: ServicesDep) -> Response:
    """Rename an experiment."""
    services.store.rename_experiment(args["experiment_id"], args["new_name"])
    return json_response({})


_SET_TAG = parsed(_EXPERIMENT_ID, string("key", required=True), string("value"))


@router.post("/experiments/set-experiment-tag")
def set_experiment_tag(args: Annotated[Args, Depends(_SET_TAG)], services: ServicesDep) -> Response:
    """Set or replace a tag on an experiment."""
    services.store.set_experiment_tag(args["experiment_id"], args["key"], args.get("value", ""))
    return json_response({})


_DELETE_TAG = parsed(_EXPERIMENT_ID, string("key", required=True))


@router.post("/experiments/delete-experiment-tag")
def delete_experiment_tag(args: Annotated[Args, Depends(_DELETE_TAG)], services: ServicesDep) -> Response:
    """Remove a tag from an experiment; 404 if it has no such tag."""
    store = services.store
    if not isinstance(store, ExperimentTagDeleter):
        raise InvalidArgument("this server's store cannot delete experiment tags")
    store.delete_experiment_tag(args["experiment_id"], args["key"])
    return json_response({})
