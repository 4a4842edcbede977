"""The small protocols a registry back end implements: models, versions, aliases, audit, logged models.

`LineageStore` adds the run -> versions read that lineage queries need.

Every mutating method takes `actor`, the user the change is recorded for in the audit trail.
`record_registry_event` adds rows for what happens around the registry without changing it (a model server
swapping versions, a traffic decision); its actions are limited to `REGISTRY_EVENT_ACTIONS`, so a client
can never write a row that looks like a registry edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from cairn.entities import PagedList
from cairn.entities.registry import (
    LoggedModel,
    LoggedModelStatus,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryChange,
)

REGISTRY_EVENT_ACTIONS = ("serve_swap", "traffic_start", "traffic_rollback")
"""The audit-trail actions `record_registry_event` accepts: events that are not registry edits."""


class RegisteredModelStore(Protocol):
    """Create, find, change and search registered models."""

    def create_registered_model(
        self, name: str, actor: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Create a model; `AlreadyExists` if the name is taken."""
        ...

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return the model; `NotFound` naming it if absent."""
        ...

    def rename_registered_model(self, name: str, new_name: str, actor: str) -> RegisteredModel:
        """Give the model an unused new name; its versions follow."""
        ...

    def update_registered_model(self, name: str, description: str, actor: str) -> RegisteredModel:
        """Replace the model's description."""
        ...

    def delete_registered_model(self, name: str, actor: str) -> None:
        """Delete the model with its versions, tags and aliases (the audit trail keeps the history)."""
        ...

    def set_registered_model_tag(self, name: str, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the model."""
        ...

    def delete_registered_model_tag(self, name: str, key: str, actor: str) -> None:
        """Remove a tag from the model; `NotFound` if it has no such tag."""
        ...

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching MLflow's registered-model filter grammar."""
        ...


class ModelVersionStore(Protocol):
    """Create, find, change and search model versions."""

    def create_model_version(
        self,
        name: str,
        source: str,
        actor: str,
        run_id: str | None = None,
        model_id: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        run_link: str = "",
        status: ModelVersionStatus = ModelVersionStatus.READY,
    ) -> ModelVersion:
        """Add the next version of an existing model; `NotFound` if the model does not exist."""
        ...

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return the version; `NotFound` naming model and version if absent."""
        ...

    def update_model_version(
        self,
        name: str,
        version: int,
        actor: str,
        description: str | None = None,
        status: ModelVersionStatus | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        """Change the fields given (not None) and return the new version."""
        ...

    def transition_model_version_stage(
        self, name: str, version: int, stage: ModelStage, archive_existing: bool, actor: str
    ) -> ModelVersion:
        """Move a version to a legacy stage, optionally archiving the others in that stage."""
        ...

    def delete_model_version(self, name: str, version: int, actor: str) -> None:
        """Delete the version and the aliases pointing at it; its number is never reused."""
        ...

    def set_model_version_tag(self, name: str, version: int, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the version."""
        ...

    def delete_model_version_tag(self, name: str, version: int, key: str, actor: str) -> None:
        """Remove a tag from the version; `NotFound` if it has no such tag."""
        ...

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions matching MLflow's model-version filter grammar."""
        ...

    def get_latest_versions(self, name: str, stages: Sequence[ModelStage] = ()) -> list[ModelVersion]:
        """The newest version in each of the stages (every stage when empty)."""
        ...


class ModelAliasStore(Protocol):
    """Named pointers to versions, and the audit trail of every registry change."""

    def set_registered_model_alias(self, name: str, alias: str, version: int, actor: str) -> None:
        """Point the alias at the version (moving it if set); reserved names are refused."""
        ...

    def delete_registered_model_alias(self, name: str, alias: str, actor: str) -> None:
        """Remove the alias; `NotFound` if the model has no such alias."""
        ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version the alias points at; `NotFound` naming model and alias otherwise."""
        ...

    def get_registry_changes(
        self, name: str | None = None, max_results: int = 1000, page_token: str | None = None
    ) -> PagedList[RegistryChange]:
        """The audit trail, oldest first, for one model (by its name at the time) or for all."""
        ...

    def record_registry_event(
        self,
        model_name: str,
        action: str,
        *,
        version: int | None,
        field: str,
        old: str | None,
        new: str | None,
        actor: str,
    ) -> None:
        """Add an event that is not a registry edit to the audit trail (`action` in REGISTRY_EVENT_ACTIONS).

        `NotFound` if the model (or the version given) does not exist; `InvalidArgument` for another action.
        """
        ...


class LoggedModelStore(Protocol):
    """MLflow 3's logged models: model files recorded against an experiment and a source run."""

    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        source_run_id: str | None = None,
        model_type: str = "",
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model with a fresh `m-<hex>` id and its artifact location."""
        ...

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Return the logged model; `NotFound` naming it if absent or deleted."""
        ...

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the upload status (READY or UPLOAD_FAILED)."""
        ...

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete the logged model."""
        ...

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
        """Set or replace tags on the logged model."""
        ...

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag; `NotFound` if there is no such tag."""
        ...

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Record parameters on the logged model (a key, once set, keeps its value)."""
        ...

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int = 50,
        order_by: Sequence[tuple[str, bool]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of logged models; `order_by` holds (field, ascending) pairs."""
        ...

    def log_run_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record (model_id, step) pairs as outputs of the run."""
        ...

    def get_run_outputs(self, run_id: str) -> list[tuple[str, int]]:
        """The (model_id, step) outputs recorded for the run."""
        ...


class LineageStore(Protocol):
    """Reads that follow lineage from a run to the model versions made from it."""

    def find_versions_for_run(self, run_id: str) -> list[ModelVersion]:
        """Versions recorded with this run, or made from a logged model it produced; [] when none."""
        ...


class RegistryStore(
    RegisteredModelStore, ModelVersionStore, ModelAliasStore, LoggedModelStore, LineageStore, Protocol
):
    """Everything a registry client needs from a metadata back end."""
