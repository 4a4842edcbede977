"""Pydantic request and response models of the native registry API (they are its OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cairn.entities import (
    LoggedModel,
    LoggedModelStatus,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryChange,
)
from cairn.server.native.models import MAX_BATCH_ITEMS, MAX_IDS, Request

ACTOR_DESCRIPTION = "The user the change is recorded for in the audit trail; 'unknown' when not given."


class ModelVersionModel(BaseModel):
    """One numbered version of a registered model."""

    name: str
    version: int
    creation_time: int
    last_updated_time: int
    source: str
    user_id: str
    description: str
    run_id: str | None
    model_id: str | None
    status: ModelVersionStatus
    status_message: str
    run_link: str
    stage: ModelStage
    tags: dict[str, str]
    aliases: list[str]

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionModel:
        """The model of a ModelVersion entity."""
        return cls(
            name=version.name,
            version=version.version,
            creation_time=version.creation_time,
            last_updated_time=version.last_updated_time,
            source=version.source,
            user_id=version.user_id,
            description=version.description,
            run_id=version.run_id,
            model_id=version.model_id,
            status=version.status,
            status_message=version.status_message,
            run_link=version.run_link,
            stage=version.stage,
            tags=dict(version.tags),
            aliases=list(version.aliases),
        )


class RegisteredModelModel(BaseModel):
    """A registered model with its tags, aliases (name -> version) and latest version per stage."""

    name: str
    creation_time: int
    last_updated_time: int
    user_id: str
    description: str
    tags: dict[str, str]
    aliases: dict[str, int]
    latest_versions: list[ModelVersionModel]

    @classmethod
    def of(cls, model: RegisteredModel) -> RegisteredModelModel:
        """The model of a RegisteredModel entity."""
        return cls(
            name=model.name,
            creation_time=model.creation_time,
            last_updated_time=model.last_updated_time,
            user_id=model.user_id,
            description=model.description,
            tags=dict(model.tags),
            aliases=dict(model.aliases),
            latest_versions=[ModelVersionModel.of(v) for v in model.latest_versions],
        )


class Registration(BaseModel):
    """A registered model version made from a logged model."""

    name: str
    version: int


class LoggedModelModel(BaseModel):
    """A model logged to an experiment (MLflow 3's LoggedModel)."""

    model_config = ConfigDict(protected_namespaces=())

    model_id: str
    experiment_id: str
    name: str
    artifact_uri: str
    creation_time: int
    last_updated_time: int
    status: LoggedModelStatus
    status_message: str
    model_type: str
    source_run_id: str | None
    tags: dict[str, str]
    params: dict[str, str]
    registrations: list[Registration]

    @classmethod
    def of(cls, model: LoggedModel) -> LoggedModelModel:
        """The model of a LoggedModel entity."""
        return cls(
            model_id=model.model_id,
            experiment_id=model.experiment_id,
            name=model.name,
            artifact_uri=model.artifact_uri,
            creation_time=model.creation_time,
            last_updated_time=model.last_updated_time,
            status=model.status,
            status_message=model.status_message,
            model_type=model.model_type,
            source_run_id=model.source_run_id,
            tags=dict(model.tags),
            params=dict(model.params),
            registrations=[Registration(name=n, version=v) for n, v in model.registrations],
        )


class RegistryChangeModel(BaseModel):
    """One row of the registry's audit trail."""

    change_id: int
    time: int
    actor: str
    action: str
    model_name: str
    version: int | None
    field_name: str
    old_value: str | None
    new_value: str | None

    @classmethod
    def of(cls, change: RegistryChange) -> RegistryChangeModel:
        """The model of a RegistryChange entity."""
        return cls(
            change_id=change.change_id,
            time=change.time,
            actor=change.actor,
            action=change.action,
            model_name=change.model_name,
            version=change.version,
            field_name=change.field_name,
            old_value=change.old_value,
            new_value=change.new_value,
        )


class Acting(Request):
    """Base of mutating requests: who the change is recorded for."""

    actor: str | None = Field(None, description=ACTOR_DESCRIPTION)


class CreateRegisteredModel(Acting):
    """Create a registered model."""

    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_BATCH_ITEMS)


class RenameRegisteredModel(Acting):
    """A new, unused name for a registered model."""

    new_name: str


class Describe(Acting):
    """A new description."""

    description: str


class RegistryTagValue(Acting):
    """The value of a tag set by key."""

    value: str


class CreateModelVersion(Acting):
    """Register the next version of a model from a source URI."""

    model_config = ConfigDict(protected_namespaces=())

    source: str
    run_id: str | None = None
    model_id: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_BATCH_ITEMS)
    run_link: str = ""
    status: ModelVersionStatus = ModelVersionStatus.READY


class UpdateModelVersion(Acting):
    """Change the fields given (null fields are left as they are)."""

    description: str | None = None
    status: ModelVersionStatus | None = None
    status_message: str | None = None


class TransitionStage(Acting):
    """Move a version to a legacy stage."""

    stage: ModelStage
    archive_existing: bool = False


class SetAlias(Acting):
    """Point an alias at a version."""

    version: int = Field(ge=1)


class SearchRegistry(Request):
    """One page of a registered-model or model-version search."""

    filter_string: str | None = None
    max_results: int | None = Field(None, ge=1)
    order_by: list[str] = Field(default_factory=list, max_length=100)
    page_token: str | None = None


class RegisteredModelPage(BaseModel):
    """A page of registered models and the token of the next page (null on the last)."""

    registered_models: list[RegisteredModelModel]
    next_page_token: str | None = None


class ModelVersionPage(BaseModel):
    """A page of model versions and the token of the next page (null on the last)."""

    model_versions: list[ModelVersionModel]
    next_page_token: str | None = None


class ModelVersionList(BaseModel):
    """Model versions, unpaged."""

    model_versions: list[ModelVersionModel]


class RegistryChangePage(BaseModel):
    """A page of audit rows, oldest first, and the token of the next page (null on the last)."""

    changes: list[RegistryChangeModel]
    next_page_token: str | None = None


class CreateLoggedModel(Request):
    """Create a PENDING logged model in an experiment."""

    experiment_id: str
    name: str
    source_run_id: str | None = None
    model_type: str = ""
    params: dict[str, str] = Field(default_factory=dict, max_length=MAX_BATCH_ITEMS)
    tags: dict[str, str] = Field(default_factory=dict, max_length=MAX_BATCH_ITEMS)


class FinalizeLoggedModel(Request):
    """The outcome of a logged model's upload."""

    status: LoggedModelStatus


class LoggedModelTags(Request):
    """Tags to set on a logged model."""

    tags: dict[str, str] = Field(max_length=MAX_BATCH_ITEMS)


class LoggedModelParams(Request):
    """Parameters to record on a logged model."""

    params: dict[str, str] = Field(max_length=MAX_BATCH_ITEMS)


class OrderField(BaseModel):
    """One ordering key of a logged-model search."""

    model_config = ConfigDict(extra="forbid")

    field_name: str
    ascending: bool = True


class SearchLoggedModels(Request):
    """One page of a logged-model search over some experiments."""

    experiment_ids: list[str] = Field(max_length=MAX_IDS)
    filter_string: str | None = None
    max_results: int = Field(50, ge=1)
    order_by: list[OrderField] = Field(default_factory=list, max_length=100)
    page_token: str | None = None


class LoggedModelPage(BaseModel):
    """A page of logged models and the token of the next page (null on the last)."""

    models: list[LoggedModelModel]
    next_page_token: str | None = None


class RunOutput(BaseModel):
    """A logged model a run produced, at a step."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model_id: str
    step: int = 0


class RunOutputs(BaseModel):
    """The logged models a run produced."""

    model_config = ConfigDict(extra="forbid")

    outputs: list[RunOutput] = Field(max_length=MAX_BATCH_ITEMS)
