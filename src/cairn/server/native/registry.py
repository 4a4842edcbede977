"""The native registry API (`/api/v1`): models, versions, tags, aliases, the audit trail, logged models.

Mutations name who they are made for in `actor` (in the body, or the query string for DELETE); the server
records that user until it authenticates users itself. Errors: 404 for a missing model, version, alias or
tag, 409 for a name taken, 400 for bad input. `cairn.store.rest.RestStore` is its client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import Field

from cairn.entities import ModelStage
from cairn.server.native import logged_models
from cairn.server.native.models import error_responses
from cairn.server.native.registry_models import (
    Acting,
    CreateModelVersion,
    CreateRegisteredModel,
    Describe,
    ModelVersionList,
    ModelVersionModel,
    ModelVersionPage,
    RegisteredModelModel,
    RegisteredModelPage,
    RegistryChangeModel,
    RegistryChangePage,
    RegistryTagValue,
    RenameRegisteredModel,
    SearchRegistry,
    SetAlias,
    TransitionStage,
    UpdateModelVersion,
)
from cairn.server.registry_access import RegistryDep, parse_version, request_actor

router = APIRouter(tags=["registry"], responses=error_responses(400, 404, 409))
ActorQuery = Annotated[str | None, Query(description="The user the change is recorded for.")]
_MODEL = "/registered-models/{name}"
_VERSION = _MODEL + "/versions/{version}"


class RegistryEvent(Acting):
    """An event that is not a registry edit (a model server swap, a traffic decision) for the audit trail."""

    action: str = Field(description="One of serve_swap, traffic_start, traffic_rollback.")
    version: int | None = Field(None, description="The version the event is about, if one.")
    field: str = Field("", description="What the event is about, e.g. alias:champion.")
    old: str | None = Field(None, description="The value before, if any.")
    new: str | None = Field(None, description="The value after, or the reason for a decision.")


@router.post("/registered-models", status_code=status.HTTP_201_CREATED)
def create_registered_model(
    request: Request, body: CreateRegisteredModel, registry: RegistryDep
) -> RegisteredModelModel:
    """Create a registered model; 409 if the name is taken."""
    actor = request_actor(request, body.actor)
    return RegisteredModelModel.of(
        registry.create_registered_model(body.name, actor, body.description, body.tags)
    )


@router.get("/registered-models")
def list_registered_models(
    registry: RegistryDep,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> RegisteredModelPage:
    """One page of registered models, with the search options as query parameters."""
    query = SearchRegistry(
        filter_string=filter_string, max_results=max_results, order_by=order_by or [], page_token=page_token
    )
    return search_registered_models(query, registry)


@router.post("/registered-models/search")
def search_registered_models(body: SearchRegistry, registry: RegistryDep) -> RegisteredModelPage:
    """One page of registered models matching a filter, in the requested order."""
    page = registry.search_registered_models(
        body.filter_string, body.max_results or 100, body.order_by or None, body.page_token
    )
    return RegisteredModelPage(
        registered_models=[RegisteredModelModel.of(m) for m in page], next_page_token=page.token
    )


@router.get(_MODEL)
def get_registered_model(name: str, registry: RegistryDep) -> RegisteredModelModel:
    """A registered model with its tags, aliases and latest version per stage."""
    return RegisteredModelModel.of(registry.get_registered_model(name))


@router.post(_MODEL + "/rename")
def rename_registered_model(
    name: str, request: Request, body: RenameRegisteredModel, registry: RegistryDep
) -> RegisteredModelModel:
    """Give the model an unused new name; 409 if it is taken."""
    model = registry.rename_registered_model(name, body.new_name, request_actor(request, body.actor))
    return RegisteredModelModel.of(model)


@router.patch(_MODEL)
def update_registered_model(
    name: str, request: Request, body: Describe, registry: RegistryDep
) -> RegisteredModelModel:
    """Replace the model's description."""
    model = registry.update_registered_model(name, body.description, request_actor(request, body.actor))
    return RegisteredModelModel.of(model)


@router.delete(_MODEL, status_code=status.HTTP_204_NO_CONTENT)
def delete_registered_model(
    name: str, request: Request, registry: RegistryDep, actor: ActorQuery = None
) -> None:
    """Delete the model with its versions, tags and aliases (the audit trail keeps its history)."""
    registry.delete_registered_model(name, request_actor(request, actor))


@router.put(_MODEL + "/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def set_registered_model_tag(
    name: str, key: str, request: Request, body: RegistryTagValue, registry: RegistryDep
) -> None:
    """Set or replace a tag on the model."""
    registry.set_registered_model_tag(name, key, body.value, request_actor(request, body.actor))


@router.delete(_MODEL + "/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_registered_model_tag(
    name: str, key: str, request: Request, registry: RegistryDep, actor: ActorQuery = None
) -> None:
    """Remove a tag from the model; 404 if it has no such tag."""
    registry.delete_registered_model_tag(name, key, request_actor(request, actor))


@router.post(_MODEL + "/versions", status_code=status.HTTP_201_CREATED)
def create_model_version(
    name: str, request: Request, body: CreateModelVersion, registry: RegistryDep
) -> ModelVersionModel:
    """Register the next version of the model; a source outside the store's artifacts is refused."""
    version = registry.create_model_version(
        name,
        body.source,
        request_actor(request, body.actor),
        run_id=body.run_id,
        model_id=body.model_id,
        description=body.description,
        tags=body.tags,
        run_link=body.run_link,
        status=body.status,
    )
    return ModelVersionModel.of(version)


@router.get(_MODEL + "/latest-versions")
def get_latest_versions(
    name: str, registry: RegistryDep, stages: Annotated[list[str] | None, Query()] = None
) -> ModelVersionList:
    """The newest version in each stage asked for (in every stage when none are)."""
    chosen = [ModelStage.parse(stage) for stage in stages or []]
    return ModelVersionList(
        model_versions=[ModelVersionModel.of(v) for v in registry.get_latest_versions(name, chosen)]
    )


@router.get(_VERSION)
def get_model_version(name: str, version: str, registry: RegistryDep) -> ModelVersionModel:
    """One version of the model."""
    return ModelVersionModel.of(registry.get_model_version(name, parse_version(version)))


@router.patch(_VERSION)
def update_model_version(
    name: str, version: str, request: Request, body: UpdateModelVersion, registry: RegistryDep
) -> ModelVersionModel:
    """Change the version's description, status or status message (null fields stay as they are)."""
    updated = registry.update_model_version(
        name,
        parse_version(version),
        request_actor(request, body.actor),
        description=body.description,
        status=body.status,
        status_message=body.status_message,
    )
    return ModelVersionModel.of(updated)


@router.post(_VERSION + "/stage")
def transition_model_version_stage(
    name: str, version: str, request: Request, body: TransitionStage, registry: RegistryDep
) -> ModelVersionModel:
    """Move the version to a legacy stage, optionally archiving the versions already in it."""
    moved = registry.transition_model_version_stage(
        name, parse_version(version), body.stage, body.archive_existing, request_actor(request, body.actor)
    )
    return ModelVersionModel.of(moved)


@router.delete(_VERSION, status_code=status.HTTP_204_NO_CONTENT)
def delete_model_version(
    name: str, version: str, request: Request, registry: RegistryDep, actor: ActorQuery = None
) -> None:
    """Delete the version and the aliases pointing at it; its number is never reused."""
    registry.delete_model_version(name, parse_version(version), request_actor(request, actor))


@router.put(_VERSION + "/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def set_model_version_tag(
    name: str, version: str, key: str, request: Request, body: RegistryTagValue, registry: RegistryDep
) -> None:
    """Set or replace a tag on the version."""
    registry.set_model_version_tag(
        name, parse_version(version), key, body.value, request_actor(request, body.actor)
    )


@router.delete(_VERSION + "/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model_version_tag(
    name: str, version: str, key: str, request: Request, registry: RegistryDep, actor: ActorQuery = None
) -> None:
    """Remove a tag from the version; 404 if it has no such tag."""
    registry.delete_model_version_tag(name, parse_version(version), key, request_actor(request, actor))


@router.post("/model-versions/search")
def search_model_versions(body: SearchRegistry, registry: RegistryDep) -> ModelVersionPage:
    """One page of versions matching a filter, in the requested order."""
    page = registry.search_model_versions(
        body.filter_string, body.max_results or 10_000, body.order_by or None, body.page_token
    )
    return ModelVersionPage(
        model_versions=[ModelVersionModel.of(v) for v in page], next_page_token=page.token
    )


@router.put(_MODEL + "/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def set_registered_model_alias(
    name: str, alias: str, request: Request, body: SetAlias, registry: RegistryDep
) -> None:
    """Point the alias at a version, moving it if it is set; reserved names are refused."""
    registry.set_registered_model_alias(name, alias, body.version, request_actor(request, body.actor))


@router.delete(_MODEL + "/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_registered_model_alias(
    name: str, alias: str, request: Request, registry: RegistryDep, actor: ActorQuery = None
) -> None:
    """Remove the alias; 404 if the model has no such alias."""
    registry.delete_registered_model_alias(name, alias, request_actor(request, actor))


@router.get(_MODEL + "/aliases/{alias}")
def get_model_version_by_alias(name: str, alias: str, registry: RegistryDep) -> ModelVersionModel:
    """The version the alias points at."""
    return ModelVersionModel.of(registry.get_model_version_by_alias(name, alias))


@router.get("/registry-changes")
def get_registry_changes(
    registry: RegistryDep,
    name: str | None = None,
    max_results: Annotated[int, Query(ge=1)] = 1000,
    page_token: str | None = None,
) -> RegistryChangePage:
    """The audit trail, oldest first: for one model (by its name at the time of each change) or for all."""
    page = registry.get_registry_changes(name, max_results, page_token)
    return RegistryChangePage(changes=[RegistryChangeModel.of(c) for c in page], next_page_token=page.token)


@router.post(_MODEL + "/events", status_code=status.HTTP_204_NO_CONTENT)
def record_registry_event(name: str, request: Request, body: RegistryEvent, registry: RegistryDep) -> None:
    """Add an event that is not a registry edit to the audit trail; other actions are refused (400)."""
    registry.record_registry_event(
        name,
        body.action,
        version=body.version,
        field=body.field,
        old=body.old,
        new=body.new,
        actor=request_actor(request, body.actor),
    )


router.include_router(logged_models.router)
