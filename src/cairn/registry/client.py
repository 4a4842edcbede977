"""RegistryClient: registered models, versions, aliases, the audit trail and model URI resolution."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Mapping, Sequence
from typing import cast

from cairn.entities import PagedList
from cairn.entities.registry import (
    LoggedModel,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryChange,
)
from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.registry.model_uris import (
    LoggedModelUri,
    RegisteredModelUri,
    RunModelUri,
    parse_model_uri,
)
from cairn.registry.resolution import artifact_location, version_for
from cairn.settings import Settings
from cairn.store.registry_protocols import RegistryStore
from cairn.tracking.client import TrackingClient


def current_actor() -> str:
    """The user recorded in the audit trail for changes made from this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class RegistryClient:
    """Explicit access to the model registry of a tracking store (local or a Cairn server).

    Args:
        tracking_uri: The store; defaults to `cairn.get_tracking_uri()`.
        settings: Configuration; defaults to the `CAIRN_*` environment variables.
        tracking: A TrackingClient to share (its store is used).
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        tracking: TrackingClient | None = None,
    ) -> None:
        self.tracking = tracking or TrackingClient(tracking_uri, settings=settings)
        store = self.tracking.store
        if not hasattr(store, "create_registered_model"):
            raise InvalidArgument(f"the store at {self.tracking.tracking_uri!r} has no model registry")
        self.store = cast(RegistryStore, store)
        self.actor = current_actor()

    # Registered models

    def create_registered_model(
        self, name: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Create a registered model; `AlreadyExists` if the name is taken."""
        return self.store.create_registered_model(name, self.actor, description, tags)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The registered model; `NotFound` naming it if absent."""
        return self.store.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, tags and aliases follow."""
        return self.store.rename_registered_model(name, new_name, self.actor)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        """Replace a model's description."""
        return self.store.update_registered_model(name, description, self.actor)

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with its versions and aliases (the audit trail keeps the history)."""
        self.store.delete_registered_model(name, self.actor)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set or replace a tag on a model."""
        self.store.set_registered_model_tag(name, key, value, self.actor)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from a model."""
        self.store.delete_registered_model_tag(name, key, self.actor)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching the filter (e.g. `name LIKE 'fraud%' AND tags.team = 'risk'`)."""
        return self.store.search_registered_models(filter_string, max_results, order_by, page_token)

    # Versions

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> ModelVersion:
        """Register the model at `source` (`runs:/...`, `models:/...` or a store artifact URI) as a version.

        The source run and logged model are derived from the URI when not given.
        """
        model_id: str | None = None
        if source.startswith(("runs:/", "models:/")):
            target = parse_model_uri(source)
            if isinstance(target, RunModelUri):
                run_id = run_id or target.run_id
            elif isinstance(target, LoggedModelUri):
                logged = self.store.get_logged_model(target.model_id)
                model_id, run_id = logged.model_id, run_id or logged.source_run_id
            else:
                source = self.model_version_for(target).source
        return self.store.create_model_version(
            name,
            source,
            self.actor,
            run_id=run_id,
            model_id=model_id,
            description=description,
            tags=tags,
            status=ModelVersionStatus.READY,
        )

    def register_model(self, model_uri: str, name: str) -> ModelVersion:
        """Register the model at `model_uri` as the next version of `name`, creating `name` if needed."""
        with contextlib.suppress(AlreadyExists):
            self.create_registered_model(name)
        return self.create_model_version(name, model_uri)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version; `NotFound` naming model and version if absent."""
        return self.store.get_model_version(name, _version_number(version))

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        """Replace a version's description."""
        return self.store.update_model_version(
            name, _version_number(version), self.actor, description=description
        )

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version and the aliases pointing at it; its number is never reused."""
        self.store.delete_model_version(name, _version_number(version), self.actor)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        """Set or replace a tag on a version."""
        self.store.set_model_version_tag(name, _version_number(version), key, value, self.actor)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        """Remove a tag from a version."""
        self.store.delete_model_version_tag(name, _version_number(version), key, self.actor)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions matching the filter (e.g. `name = 'fraud' AND run_id = '...'`)."""
        return self.store.search_model_versions(filter_string, max_results, order_by, page_token)

    def latest_version(self, name: str) -> ModelVersion:
        """The newest version of a model; `NotFound` if it has none."""
        found = self.store.search_model_versions(
            f"name = '{_quoted(name)}'", max_results=1, order_by=["version_number DESC"]
        )
        if not found:
            raise NotFound(f"registered model {name!r} has no versions")
        return found[0]

    def versions_for_run(self, run_id: str) -> list[ModelVersion]:
        """Every version registered from a run, oldest first."""
        return self.store.find_versions_for_run(run_id)

    # Aliases and the audit trail

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point an alias (`champion`, ...) at a version, moving it if it is set elsewhere."""
        self.store.set_registered_model_alias(name, alias, _version_number(version), self.actor)

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove an alias; `NotFound` if the model has no such alias."""
        self.store.delete_registered_model_alias(name, alias, self.actor)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; `NotFound` naming model and alias otherwise."""
        return self.store.get_model_version_by_alias(name, alias)

    def changes(self, name: str | None = None, max_results: int = 1000) -> list[RegistryChange]:
        """The audit trail (every page), oldest first, for one model or for the whole registry."""
        found: list[RegistryChange] = []
        token: str | None = None
        while True:
            page = self.store.get_registry_changes(name, max_results, token)
            found.extend(page)
            token = page.token
            if not token:
                return found

    def record_event(
        self,
        name: str,
        action: str,
        *,
        version: int | str | None = None,
        field: str = "",
        old: str | None = None,
        new: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Record an event that is not a registry edit in the audit trail: a server swap, a traffic decision.

        Args:
            name: The registered model the event is about.
            action: One of `REGISTRY_EVENT_ACTIONS` (`serve_swap`, `traffic_start`, `traffic_rollback`).
            version: The version the event is about, if one.
            field: What the event is about (`alias:champion`, `traffic`, ...).
            old: The value before, if any.
            new: The value after, or the reason for a decision.
            actor: Who the event is recorded for (default: this process's user).

        Raises:
            NotFound: The model, or the version given, does not exist.
            InvalidArgument: The action is not one of those, or a field is malformed.
        """
        number = None if version is None else _version_number(version)
        self.store.record_registry_event(
            name,
            action,
            version=number,
            field=field,
            old=old,
            new=new,
            actor=self.actor if actor is None else actor,
        )

    # Logged models and URIs

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """A logged model (`m-...`); `NotFound` naming it if absent."""
        return self.store.get_logged_model(model_id)

    def model_version_for(self, target: RegisteredModelUri) -> ModelVersion:
        """The version a `models:/<name>...` URI points at."""
        return version_for(self.store, target)

    def artifact_location(self, model_uri: str) -> str:
        """The artifact URI holding the files of a `runs:/` or `models:/` URI's model."""
        parse_model_uri(model_uri)  # only model URIs here; refuses anything else by name
        return artifact_location(self.store, self.tracking.get_run, model_uri)


def _version_number(version: int | str) -> int:
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidArgument(f"version must be a positive whole number; got {version!r}")
    return int(text)


def _quoted(value: str) -> str:
    return value.replace("'", "''")


__all__ = ["RegistryClient", "current_actor"]
