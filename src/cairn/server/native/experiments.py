"""Native experiment resources: `/api/v1/experiments`."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import APIRouter, Query, status

from cairn.entities import ViewType
from cairn.errors import CairnError, InvalidArgument, NotFound
from cairn.server.native.dependencies import ServicesDep, purge_store
from cairn.server.native.models import (
    CreatedExperiment,
    CreateExperiment,
    ExperimentIds,
    ExperimentModel,
    ExperimentPage,
    RenameExperiment,
    SearchExperiments,
    TagValue,
    error_responses,
)

router = APIRouter(tags=["experiments"], responses=error_responses(400, 404, 409))


@runtime_checkable
class ExperimentTagRemover(Protocol):
    """A store that can remove experiment tags (the SQL store can)."""

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """Remove tag `key` from the experiment."""
        ...


@router.post("/experiments", status_code=status.HTTP_201_CREATED)
def create_experiment(body: CreateExperiment, services: ServicesDep) -> CreatedExperiment:
    """Create an experiment; 409 RESOURCE_ALREADY_EXISTS if the name is taken."""
    if body.artifact_location is not None:
        raise InvalidArgument(
            "artifact_location is not accepted: this server chooses where artifacts are stored"
        )
    return CreatedExperiment(experiment_id=services.store.create_experiment(body.name, None, body.tags))


@router.get("/experiments")
def list_experiments(
    services: ServicesDep,
    view_type: ViewType = ViewType.ACTIVE_ONLY,
    max_results: int = 1000,
    filter_string: str | None = None,
    order_by: Annotated[list[str] | None, Query()] = None,
    page_token: str | None = None,
) -> ExperimentPage:
    """One page of experiments, with the search options as query parameters."""
    query = SearchExperiments(
        view_type=view_type,
        max_results=max_results,
        filter_string=filter_string,
        order_by=order_by or [],
        page_token=page_token,
    )
    return search_experiments(query, services)


@router.post("/experiments/search")
def search_experiments(body: SearchExperiments, services: ServicesDep) -> ExperimentPage:
    """One page of experiments matching a filter, in the requested order."""
    page = services.store.search_experiments(
        body.view_type, body.max_results, body.filter_string, body.order_by or None, body.page_token
    )
    return ExperimentPage(experiments=[ExperimentModel.of(e) for e in page], next_page_token=page.token)


@router.get("/experiments/by-name")
def get_experiment_by_name(name: str, services: ServicesDep) -> ExperimentModel:
    """The experiment with this name, active or deleted; 404 if there is none."""
    experiment = services.store.find_experiment_by_name(name)
    if experiment is None:
        raise NotFound(f"experiment {name!r} does not exist")
    return ExperimentModel.of(experiment)


@router.post("/experiments/purge", status_code=status.HTTP_204_NO_CONTENT)
def purge_experiments(body: ExperimentIds, services: ServicesDep) -> None:
    """Delete soft-deleted experiments that have no runs left, for good."""
    purge_store(services).purge_experiments(body.experiment_ids)


@router.get("/experiments/{experiment_id}")
def get_experiment(experiment_id: str, services: ServicesDep) -> ExperimentModel:
    """The experiment with this id, active or deleted."""
    return ExperimentModel.of(services.store.get_experiment(experiment_id))


@router.patch("/experiments/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def rename_experiment(experiment_id: str, body: RenameExperiment, services: ServicesDep) -> None:
    """Rename the experiment; 409 if the new name is taken."""
    services.store.rename_experiment(experiment_id, body.name)


@router.delete("/experiments/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_experiment(experiment_id: str, services: ServicesDep) -> None:
    """Soft-delete the experiment and its runs."""
    services.store.delete_experiment(experiment_id)


@router.post("/experiments/{experiment_id}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_experiment(experiment_id: str, services: ServicesDep) -> None:
    """Undo a soft delete of the experiment and its runs."""
    services.store.restore_experiment(experiment_id)


@router.put("/experiments/{experiment_id}/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def set_experiment_tag(experiment_id: str, key: str, body: TagValue, services: ServicesDep) -> None:
    """Set or replace a tag on the experiment."""
    services.store.set_experiment_tag(experiment_id, key, body.value)


@router.delete("/experiments/{experiment_id}/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_experiment_tag(experiment_id: str, key: str, services: ServicesDep) -> None:
    """Remove a tag from the experiment; 404 if it has no such tag."""
    store = services.store
    if not isinstance(store, ExperimentTagRemover):
        raise CairnError("this server's store cannot remove experiment tags")
    store.delete_experiment_tag(experiment_id, key)
