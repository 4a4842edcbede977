"""MLflow 3's logged-model routes (`/logged-models...`) and the run outputs that link runs to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from cairn._internal.names import generate_run_name
from cairn.entities import LoggedModel, LoggedModelStatus
from cairn.errors import InvalidArgument
from cairn.server.artifact_transfer import url_key
from cairn.server.mlflow.proto_json import json_response
from cairn.server.mlflow.proto_json_registry import file_infos_json, logged_model_json
from cairn.server.mlflow.requests import (
    Args,
    ServicesDep,
    boolean,
    enum,
    integer,
    messages,
    parsed,
    string,
    strings,
)
from cairn.server.registry_access import RegistryDep

router = APIRouter()

DEFAULT_SEARCH_MAX_RESULTS = 50
LOGGED_MODEL_STATUSES = tuple(status.value for status in LoggedModelStatus)
"""In proto order: PENDING=1, READY=2, UPLOAD_FAILED=3."""
_KEY_VALUES = (string("key", required=True), string("value"))
_CREATE = parsed(
    string("experiment_id", required=True),
    string("name"),
    string("model_type"),
    string("source_run_id"),
    messages("params", *_KEY_VALUES),
    messages("tags", *_KEY_VALUES),
)


def _pairs(items: list[Args]) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items}


def _model_response(model: LoggedModel) -> Response:
    return json_response({"model": logged_model_json(model)})


@router.post("/logged-models")
def create_logged_model(args: Annotated[Args, Depends(_CREATE)], registry: RegistryDep) -> Response:
    """Create a PENDING logged model; its files go to the `artifact_uri` it is given."""
    model = registry.create_logged_model(
        args["experiment_id"],
        args.get("name") or generate_run_name(),
        source_run_id=args.get("source_run_id") or None,
        model_type=args.get("model_type", ""),
        params=_pairs(args.get("params", [])),
        tags=_pairs(args.get("tags", [])),
    )
    return _model_response(model)


_SEARCH = parsed(
    strings("experiment_ids"),
    string("filter"),
    messages("datasets", string("dataset_name", required=True), string("dataset_digest")),
    integer("max_results"),
    messages(
        "order_by",
        string("field_name", required=True),
        boolean("ascending"),
        string("dataset_name"),
        string("dataset_digest"),
    ),
    string("page_token"),
)


@router.post("/logged-models/search")
def search_logged_models(args: Annotated[Args, Depends(_SEARCH)], registry: RegistryDep) -> Response:
    """One page of the logged models of some experiments; `order_by` holds `{field_name, ascending}`."""
    if args.get("datasets"):
        raise InvalidArgument(
            "Invalid value for parameter 'datasets': logged models record no dataset metrics to filter on"
        )
    order_by = []
    for index, item in enumerate(args.get("order_by", [])):
        if item.get("dataset_name") or item.get("dataset_digest"):
            raise InvalidArgument(
                f"Invalid value for parameter 'order_by[{index}]': dataset metrics cannot order models"
            )
        order_by.append((item["field_name"], item.get("ascending", True)))
    page = registry.search_logged_models(
        args.get("experiment_ids", []),
        filter_string=args.get("filter") or None,
        max_results=args.get("max_results", DEFAULT_SEARCH_MAX_RESULTS),
        order_by=order_by or None,
        page_token=args.get("page_token") or None,
    )
    payload: dict[str, object] = {"models": [logged_model_json(model) for model in page]}
    if page.token:
        payload["next_page_token"] = page.token
    return json_response(payload)


@router.get("/logged-models/{model_id}")
def get_logged_model(model_id: str, registry: RegistryDep) -> Response:
    """A logged model with its tags, params and registrations; 404 once deleted."""
    return _model_response(registry.get_logged_model(model_id))


_FINALIZE = parsed(string("model_id"), enum("status", LOGGED_MODEL_STATUSES))


@router.patch("/logged-models/{model_id}")
def finalize_logged_model(
    model_id: str, args: Annotated[Args, Depends(_FINALIZE)], registry: RegistryDep
) -> Response:
    """Record the outcome of the upload: LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED."""
    _same_model(model_id, args)
    if "status" not in args:
        raise InvalidArgument("Missing value for required parameter 'status'")
    model = registry.finalize_logged_model(model_id, LoggedModelStatus(args["status"]))
    return _model_response(model)


@router.delete("/logged-models/{model_id}")
def delete_logged_model(model_id: str, registry: RegistryDep) -> Response:
    """Soft-delete a logged model (its files stay until garbage collection)."""
    registry.delete_logged_model(model_id)
    return json_response({})


_TAGS = parsed(string("model_id"), messages("tags", *_KEY_VALUES))


@router.patch("/logged-models/{model_id}/tags")
def set_logged_model_tags(
    model_id: str, args: Annotated[Args, Depends(_TAGS)], registry: RegistryDep
) -> Response:
    """Set or replace tags on a logged model."""
    _same_model(model_id, args)
    return _model_response(registry.set_logged_model_tags(model_id, _pairs(args.get("tags", []))))


@router.delete("/logged-models/{model_id}/tags/{tag_key:path}")
def delete_logged_model_tag(model_id: str, tag_key: str, registry: RegistryDep) -> Response:
    """Remove a tag from a logged model; 404 if it has no such tag."""
    registry.delete_logged_model_tag(model_id, tag_key)
    return json_response({})


_PARAMS = parsed(string("model_id"), messages("params", *_KEY_VALUES))


@router.post("/logged-models/{model_id}/params")
def log_logged_model_params(
    model_id: str, args: Annotated[Args, Depends(_PARAMS)], registry: RegistryDep
) -> Response:
    """Record parameters on a logged model."""
    _same_model(model_id, args)
    registry.log_logged_model_params(model_id, _pairs(args.get("params", [])))
    return json_response({})


_LIST = parsed(string("artifact_directory_path"), string("page_token"))


@router.get("/logged-models/{model_id}/artifacts/directories")
def list_logged_model_artifacts(
    model_id: str, args: Annotated[Args, Depends(_LIST)], registry: RegistryDep, services: ServicesDep
) -> Response:
    """List a folder of a logged model's files: `root_uri` is its artifact URI, paths are relative to it."""
    root_uri = registry.get_logged_model(model_id).artifact_uri
    prefix = services.proxy_prefix(root_uri)
    key = url_key(args.get("artifact_directory_path"), "artifact_directory_path")
    folder = f"{prefix}/{key}" if key else prefix
    files = file_infos_json(services.destination.list(folder), len(prefix) + 1)
    return json_response({"root_uri": root_uri, "files": files})


_OUTPUTS = parsed(
    string("run_id", required=True),
    messages("models", string("model_id", required=True), integer("step")),
)


@router.post("/runs/outputs")
def log_run_outputs(args: Annotated[Args, Depends(_OUTPUTS)], registry: RegistryDep) -> Response:
    """Record logged models as outputs of a run, each at a step."""
    outputs = [(item["model_id"], item.get("step", 0)) for item in args.get("models", [])]
    registry.log_run_outputs(args["run_id"], outputs)
    return json_response({})


def _same_model(model_id: str, args: Args) -> None:
    given = args.get("model_id")
    if given and given != model_id:
        raise InvalidArgument(
            f"Invalid value {given!r} for parameter 'model_id' supplied: the path names {model_id!r}"
        )
