"""MLflow-compatible registered-model routes: create, rename, update, delete, get, search, tags, aliases."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from cairn.entities import ModelStage
from cairn.errors import NotFound
from cairn.server.mlflow.proto_json import json_response
from cairn.server.mlflow.proto_json_registry import model_version_json, registered_model_json
from cairn.server.mlflow.requests import Args, integer, messages, parsed, string, strings
from cairn.server.registry_access import RegistryDep, parse_version, request_actor

router = APIRouter()

PROMPT_TAG = "mlflow.prompt.is_prompt"
_PROMPT_EXCLUSION = re.compile(
    r"^\s*(?:(?P<rest>.+?)\s+and\s+)?tags?\.`mlflow\.prompt\.is_prompt`\s*!=\s*'true'\s*$",
    re.IGNORECASE | re.DOTALL,
)

NAME = string("name", required=True)
TAGS = messages("tags", string("key", required=True), string("value"))
_KEY = string("key", required=True)
_ALIAS = string("alias", required=True)
_CREATE = parsed(NAME, TAGS, string("description"), string("deployment_job_id"))


@router.post("/registered-models/create")
def create_registered_model(
    request: Request, args: Annotated[Args, Depends(_CREATE)], registry: RegistryDep
) -> Response:
    """Create a registered model; 400 RESOURCE_ALREADY_EXISTS if the name is taken."""
    tags = {tag["key"]: tag.get("value", "") for tag in args.get("tags", [])}
    model = registry.create_registered_model(
        args["name"], request_actor(request), args.get("description", ""), tags
    )
    return json_response({"registered_model": registered_model_json(model)})


@router.post("/registered-models/rename")
def rename_registered_model(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, string("new_name", required=True)))],
    registry: RegistryDep,
) -> Response:
    """Give a registered model an unused new name; its versions and aliases follow."""
    model = registry.rename_registered_model(args["name"], args["new_name"], request_actor(request))
    return json_response({"registered_model": registered_model_json(model)})


@router.patch("/registered-models/update")
def update_registered_model(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, string("description"), string("deployment_job_id")))],
    registry: RegistryDep,
) -> Response:
    """Replace a registered model's description (absent means empty)."""
    model = registry.update_registered_model(
        args["name"], args.get("description", ""), request_actor(request)
    )
    return json_response({"registered_model": registered_model_json(model)})


@router.delete("/registered-models/delete")
def delete_registered_model(
    request: Request, args: Annotated[Args, Depends(parsed(NAME))], registry: RegistryDep
) -> Response:
    """Delete a registered model with its versions, tags and aliases."""
    registry.delete_registered_model(args["name"], request_actor(request))
    return json_response({})


@router.get("/registered-models/get")
def get_registered_model(args: Annotated[Args, Depends(parsed(NAME))], registry: RegistryDep) -> Response:
    """A registered model with its tags, aliases and latest version per stage."""
    name = args["name"]
    try:
        model = registry.get_registered_model(name)
    except NotFound:
        raise NotFound(f"Registered Model with name={name} not found") from None
    return json_response({"registered_model": registered_model_json(model)})


_SEARCH = parsed(string("filter"), integer("max_results"), strings("order_by"), string("page_token"))


@router.get("/registered-models/search")
def search_registered_models(args: Annotated[Args, Depends(_SEARCH)], registry: RegistryDep) -> Response:
    """One page of registered models matching a filter, in the requested order.

    The MLflow client appends "tag.`mlflow.prompt.is_prompt` != 'true'" to hide its prompts; models
    without that tag must still match, so the clause is taken off the filter and applied to the page.
    """
    filter_string, hide_prompts = without_prompt_exclusion(args.get("filter") or None)
    page = registry.search_registered_models(
        filter_string=filter_string,
        max_results=args.get("max_results", 100),
        order_by=args.get("order_by") or None,
        page_token=args.get("page_token") or None,
    )
    models = [model for model in page if not (hide_prompts and is_prompt(model.tags))]
    payload: dict[str, object] = {"registered_models": [registered_model_json(model) for model in models]}
    if page.token:
        payload["next_page_token"] = page.token
    return json_response(payload)


def without_prompt_exclusion(filter_string: str | None) -> tuple[str | None, bool]:
    """The filter without the prompt-hiding clause the MLflow client appends, and whether it was there."""
    if filter_string is None:
        return None, False
    found = _PROMPT_EXCLUSION.match(filter_string)
    if found is None:
        return filter_string, False
    return found.group("rest") or None, True


def is_prompt(tags: Mapping[str, str]) -> bool:
    """True for a model or version the MLflow client counts as a prompt."""
    return tags.get(PROMPT_TAG, "").lower() == "true"


_LATEST = parsed(NAME, strings("stages"))


@router.post("/registered-models/get-latest-versions")
@router.get("/registered-models/get-latest-versions")
def get_latest_versions(args: Annotated[Args, Depends(_LATEST)], registry: RegistryDep) -> Response:
    """The newest version in each of the stages asked for (in every stage when none are)."""
    stages = [ModelStage.parse(stage) for stage in args.get("stages", [])]
    versions = registry.get_latest_versions(args["name"], stages)
    return json_response({"model_versions": [model_version_json(version) for version in versions]})


@router.post("/registered-models/set-tag")
def set_registered_model_tag(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, _KEY, string("value")))],
    registry: RegistryDep,
) -> Response:
    """Set or replace a tag on a registered model."""
    registry.set_registered_model_tag(
        args["name"], args["key"], args.get("value", ""), request_actor(request)
    )
    return json_response({})


@router.delete("/registered-models/delete-tag")
def delete_registered_model_tag(
    request: Request, args: Annotated[Args, Depends(parsed(NAME, _KEY))], registry: RegistryDep
) -> Response:
    """Remove a tag from a registered model; 404 if it has no such tag."""
    registry.delete_registered_model_tag(args["name"], args["key"], request_actor(request))
    return json_response({})


@router.post("/registered-models/alias")
def set_registered_model_alias(
    request: Request,
    args: Annotated[Args, Depends(parsed(NAME, _ALIAS, string("version", required=True)))],
    registry: RegistryDep,
) -> Response:
    """Point an alias at a version, moving it if it is set; reserved alias names are refused."""
    version = parse_version(args["version"])
    registry.set_registered_model_alias(args["name"], args["alias"], version, request_actor(request))
    return json_response({})


@router.delete("/registered-models/alias")
def delete_registered_model_alias(
    request: Request, args: Annotated[Args, Depends(parsed(NAME, _ALIAS))], registry: RegistryDep
) -> Response:
    """Remove an alias; 404 if the model has no such alias."""
    registry.delete_registered_model_alias(args["name"], args["alias"], request_actor(request))
    return json_response({})


@router.get("/registered-models/alias")
def get_model_version_by_alias(
    args: Annotated[Args, Depends(parsed(NAME, _ALIAS))], registry: RegistryDep
) -> Response:
    """The version an alias points at."""
    version = registry.get_model_version_by_alias(args["name"], args["alias"])
    return json_response({"model_version": model_version_json(version)})
