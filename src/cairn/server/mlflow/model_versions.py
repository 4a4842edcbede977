"""MLflow-compatible model-version routes: create, update, stage, delete, get, search, download URI, tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cairn.entities import ModelStage, ModelVersion, Run
from cairn.errors import NotFound
from cairn.registry.resolution import artifact_location
from cairn.server.mlflow.proto_json import json_response
from cairn.server.mlflow.proto_json_registry import model_version_json
from cairn.server.mlflow.registered_models import NAME, TAGS
from cairn.server.mlflow.requests import Args, ServicesDep, boolean, integer, parsed, string, strings
from cairn.server.registry_access import RegistryDep, parse_version, request_actor
from cairn.store.registry_protocols import RegistryStore

router = APIRouter()

"""How many `models:/` sources are followed to find a version's files before giving up."""
_VERSION = string("version", required=True)
_KEY = string("key", required=True)
_CREATE = parsed(
    NAME,
    string("source", required=True),
    string("run_id"),
    TAGS,
    string("run_link"),
    string("description"),
    string("model_id"),
)


@router.post("/model-versions/create")
def create_model_version(
    request: Request, args: Annotated[Args, Depends(_CREATE)], registry: RegistryDep
) -> Response:
    """Register the next version of a model, READY at once; a source outside the store is a 400."""
    version = registry.create_model_version(
        args["name"],
        args["source"],
        request_actor(request),
        run_id=args.get("run_id") or None,
        model_id=args.get("model_id") or None,
        description=args.get("description", ""),
        tags={tag["key"]: tag.get("value", "") for tag in args.get("tags", [])},
        run_link=args.get("run_link", ""),
    )
    return json_response({"model_version": model_version_json(version)})


@router.patch("/model-versions/update")
def update_model_version(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, _VERSION, string("description")))],
    registry: RegistryDep,
) -> Response:
    """Change a version's description (left unchanged when absent)."""
    version = registry.update_model_version(
        args["name"],
        parse_version(args["version"]),
        request_actor(request),
        description=args.get("description"),
    )
    return json_response({"model_version": model_version_json(version)})


_TRANSITION = parsed(
    NAME, _VERSION, string("stage", required=True), boolean("archive_existing_versions", required=True)
)


@router.post("/model-versions/transition-stage")
def transition_model_version_stage(
    request: Request, args: Annotated[Args, Depends(_TRANSITION)], registry: RegistryDep
) -> Response:
    """Move a version to a legacy stage, optionally archiving the versions already in it."""
    version = registry.transition_model_version_stage(
        args["name"],
        parse_version(args["version"]),
        ModelStage.parse(args["stage"]),
        args["archive_existing_versions"],
        request_actor(request),
    )
    return json_response({"model_version": model_version_json(version)})


@router.delete("/model-versions/delete")
def delete_model_version(
    request: Request, args: Annotated[Args, Depends(parsed(NAME, _VERSION))], registry: RegistryDep
) -> Response:
    """Delete a version and the aliases pointing at it."""
    registry.delete_model_version(args["name"], parse_version(args["version"]), request_actor(request))
    return json_response({})


@router.get("/model-versions/get")
def get_model_version(
    args: Annotated[Args, Depends(parsed(NAME, _VERSION))], registry: RegistryDep
) -> Response:
    """One version of a registered model."""
    return json_response({"model_version": model_version_json(_version(registry, args))})


_SEARCH = parsed(string("filter"), integer("max_results"), strings("order_by"), string("page_token"))


@router.get("/model-versions/search")
def search_model_versions(args: Annotated[Args, Depends(_SEARCH)], registry: RegistryDep) -> Response:
    """One page of versions matching a filter, in the requested order."""
    page = registry.search_model_versions(
        filter_string=args.get("filter") or None,
        max_results=args.get("max_results", 10_000),
        order_by=args.get("order_by") or None,
        page_token=args.get("page_token") or None,
    )
    payload: dict[str, object] = {"model_versions": [model_version_json(version) for version in page]}
    if page.token:
        payload["next_page_token"] = page.token
    return json_response(payload)


@router.get("/model-versions/get-download-uri")
def get_model_version_download_uri(
    args: Annotated[Args, Depends(parsed(NAME, _VERSION))], registry: RegistryDep, services: ServicesDep
) -> Response:
    """Where the version's files are, as a URI the client can download (`mlflow-artifacts:/...`)."""
    version = _version(registry, args)
    return json_response({"artifact_uri": download_uri(version, registry, services.store.get_run)})


@router.post("/model-versions/set-tag")
def set_model_version_tag(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, _VERSION, _KEY, string("value")))],
    registry: RegistryDep,
) -> Response:
    """Set or replace a tag on a version."""
    number = parse_version(args["version"])
    registry.set_model_version_tag(
        args["name"], number, args["key"], args.get("value", ""), request_actor(request)
    )
    return json_response({})


@router.delete("/model-versions/delete-tag")
def delete_model_version_tag(
    request: Request, args: Annotated[Args, Depends(parsed(NAME, _VERSION, _KEY))], registry: RegistryDep
) -> Response:
    """Remove a tag from a version; 404 if it has no such tag."""
    number = parse_version(args["version"])
    registry.delete_model_version_tag(args["name"], number, args["key"], request_actor(request))
    return json_response({})


def _version(registry: RegistryStore, args: Args) -> ModelVersion:
    name, number = args["name"], parse_version(args["version"])
    try:
        return registry.get_model_version(name, number)
    except NotFound:
        raise NotFound(f"Model Version (name={name}, version={number}) not found") from None


def download_uri(version: ModelVersion, registry: RegistryStore, get_run: Callable[[str], Run]) -> str:
    """The artifact URI holding a version's files, following its `runs:/` and `models:/` source."""
    return artifact_location(registry, get_run, version.source)
