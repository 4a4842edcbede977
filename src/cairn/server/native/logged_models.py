"""Native logged-model resources (`/api/v1/logged-models`) and what runs produced (outputs, versions)."""

from __future__ import annotations

from fastapi import APIRouter, status

from cairn.server.native.models import error_responses
from cairn.server.native.registry_models import (
    CreateLoggedModel,
    FinalizeLoggedModel,
    LoggedModelModel,
    LoggedModelPage,
    LoggedModelParams,
    LoggedModelTags,
    ModelVersionList,
    ModelVersionModel,
    RunOutput,
    RunOutputs,
    SearchLoggedModels,
)
from cairn.server.registry_access import RegistryDep

router = APIRouter(tags=["logged models"], responses=error_responses(400, 404, 409))
_MODEL = "/logged-models/{model_id}"


@router.post("/logged-models", status_code=status.HTTP_201_CREATED)
def create_logged_model(body: CreateLoggedModel, registry: RegistryDep) -> LoggedModelModel:
    """Create a PENDING logged model with a fresh `m-...` id and the artifact URI its files go to."""
    model = registry.create_logged_model(
        body.experiment_id,
        body.name,
        source_run_id=body.source_run_id,
        model_type=body.model_type,
        params=body.params,
        tags=body.tags,
    )
    return LoggedModelModel.of(model)


@router.post("/logged-models/search")
def search_logged_models(body: SearchLoggedModels, registry: RegistryDep) -> LoggedModelPage:
    """One page of the logged models of some experiments matching a filter, in the requested order."""
    page = registry.search_logged_models(
        body.experiment_ids,
        body.filter_string,
        body.max_results,
        [(item.field_name, item.ascending) for item in body.order_by] or None,
        body.page_token,
    )
    return LoggedModelPage(models=[LoggedModelModel.of(m) for m in page], next_page_token=page.token)


@router.get(_MODEL)
def get_logged_model(model_id: str, registry: RegistryDep) -> LoggedModelModel:
    """The logged model; 404 if it does not exist or was deleted."""
    return LoggedModelModel.of(registry.get_logged_model(model_id))


@router.patch(_MODEL)
def finalize_logged_model(
    model_id: str, body: FinalizeLoggedModel, registry: RegistryDep
) -> LoggedModelModel:
    """Set the upload status (READY or UPLOAD_FAILED)."""
    return LoggedModelModel.of(registry.finalize_logged_model(model_id, body.status))


@router.delete(_MODEL, status_code=status.HTTP_204_NO_CONTENT)
def delete_logged_model(model_id: str, registry: RegistryDep) -> None:
    """Soft-delete the logged model."""
    registry.delete_logged_model(model_id)


@router.patch(_MODEL + "/tags")
def set_logged_model_tags(model_id: str, body: LoggedModelTags, registry: RegistryDep) -> LoggedModelModel:
    """Set or replace tags on the logged model."""
    return LoggedModelModel.of(registry.set_logged_model_tags(model_id, body.tags))


@router.delete(_MODEL + "/tags/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_logged_model_tag(model_id: str, key: str, registry: RegistryDep) -> None:
    """Remove a tag; 404 if there is no such tag."""
    registry.delete_logged_model_tag(model_id, key)


@router.post(_MODEL + "/params", status_code=status.HTTP_204_NO_CONTENT)
def log_logged_model_params(model_id: str, body: LoggedModelParams, registry: RegistryDep) -> None:
    """Record parameters on the logged model."""
    registry.log_logged_model_params(model_id, body.params)


@router.post("/runs/{run_id}/outputs", status_code=status.HTTP_204_NO_CONTENT)
def log_run_outputs(run_id: str, body: RunOutputs, registry: RegistryDep) -> None:
    """Record logged models as outputs of the run, each at a step."""
    registry.log_run_outputs(run_id, [(item.model_id, item.step) for item in body.outputs])


@router.get("/runs/{run_id}/model-versions")
def find_versions_for_run(run_id: str, registry: RegistryDep) -> ModelVersionList:
    """The versions recorded with the run, or made from a logged model it produced."""
    return ModelVersionList(
        model_versions=[ModelVersionModel.of(v) for v in registry.find_versions_for_run(run_id)]
    )


@router.get("/runs/{run_id}/outputs")
def get_run_outputs(run_id: str, registry: RegistryDep) -> RunOutputs:
    """The logged models recorded as outputs of the run."""
    outputs = registry.get_run_outputs(run_id)
    return RunOutputs(outputs=[RunOutput(model_id=model_id, step=step) for model_id, step in outputs])
