"""RestRegistry: the RegistryStore protocol over HTTP to a Cairn server's native `/api/v1` registry API.

Mutations send `actor` (in the body, or the query string for DELETE): the server records that user in
its audit trail until it authenticates users itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cairn.entities import (
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    PagedList,
    RegisteredModel,
    RegistryChange,
)
from cairn.errors import InvalidArgument
from cairn.store.rest.logged_models import RestLoggedModels
from cairn.store.rest.paths import API, run_path, segment
from cairn.store.rest.registry_json import (
    model_version_from_json,
    page_from_json,
    registered_model_from_json,
    registry_change_from_json,
)


def model_path(name: str, *rest: str) -> str:
    """`/api/v1/registered-models/{name}/...`, the name escaped as one path segment."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"registered model name must be a non-empty string; got {name!r}")
    return "/".join([API, "registered-models", segment(name), *rest])


def version_path(name: str, version: int, *rest: str) -> str:
    """`/api/v1/registered-models/{name}/versions/{version}/...`."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidArgument(f"version must be a whole number from 1; got {version!r}")
    return model_path(name, "versions", str(version), *rest)


class RestRegistry(RestLoggedModels):
    """Registered models, versions, aliases and the audit trail on a Cairn server."""

    def create_registered_model(
        self, name: str, actor: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Create a model; `AlreadyExists` if the name is taken."""
        body = {"name": name, "actor": actor, "description": description, "tags": dict(tags or {})}
        response = self._http.request("POST", f"{API}/registered-models", idempotent=False, json=body)
        return registered_model_from_json(response.json())

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return the model; `NotFound` naming it if absent."""
        return registered_model_from_json(self._get(model_path(name)))

    def rename_registered_model(self, name: str, new_name: str, actor: str) -> RegisteredModel:
        """Give the model an unused new name; its versions follow."""
        body = {"new_name": new_name, "actor": actor}
        response = self._http.request("POST", model_path(name, "rename"), idempotent=False, json=body)
        return registered_model_from_json(response.json())

    def update_registered_model(self, name: str, description: str, actor: str) -> RegisteredModel:
        """Replace the model's description."""
        body = {"description": description, "actor": actor}
        response = self._http.request("PATCH", model_path(name), idempotent=True, json=body)
        return registered_model_from_json(response.json())

    def delete_registered_model(self, name: str, actor: str) -> None:
        """Delete the model with its versions, tags and aliases (the audit trail keeps the history)."""
        self._http.request("DELETE", model_path(name), idempotent=False, params={"actor": actor})

    def set_registered_model_tag(self, name: str, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the model."""
        path = model_path(name, "tags", segment(key))
        self._http.request("PUT", path, idempotent=True, json={"value": value, "actor": actor})

    def delete_registered_model_tag(self, name: str, key: str, actor: str) -> None:
        """Remove a tag from the model; `NotFound` if it has no such tag."""
        path = model_path(name, "tags", segment(key))
        self._http.request("DELETE", path, idempotent=False, params={"actor": actor})

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching MLflow's registered-model filter grammar."""
        body = _search_body(filter_string, max_results, order_by, page_token)
        page = self._post(f"{API}/registered-models/search", body)
        return page_from_json(page, "registered_models", registered_model_from_json)

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
        body = {
            "source": source,
            "actor": actor,
            "run_id": run_id,
            "model_id": model_id,
            "description": description,
            "tags": dict(tags or {}),
            "run_link": run_link,
            "status": ModelVersionStatus(status).value,
        }
        response = self._http.request("POST", model_path(name, "versions"), idempotent=False, json=body)
        return model_version_from_json(response.json())

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return the version; `NotFound` naming model and version if absent."""
        return model_version_from_json(self._get(version_path(name, version)))

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
        body = {
            "actor": actor,
            "description": description,
            "status": None if status is None else ModelVersionStatus(status).value,
            "status_message": status_message,
        }
        response = self._http.request("PATCH", version_path(name, version), idempotent=True, json=body)
        return model_version_from_json(response.json())

    def transition_model_version_stage(
        self, name: str, version: int, stage: ModelStage, archive_existing: bool, actor: str
    ) -> ModelVersion:
        """Move a version to a legacy stage, optionally archiving the others in that stage."""
        body = {"stage": ModelStage.parse(stage).value, "archive_existing": archive_existing, "actor": actor}
        path = version_path(name, version, "stage")
        return model_version_from_json(self._http.request("POST", path, idempotent=False, json=body).json())

    def delete_model_version(self, name: str, version: int, actor: str) -> None:
        """Delete the version and the aliases pointing at it; its number is never reused."""
        self._http.request("DELETE", version_path(name, version), idempotent=False, params={"actor": actor})

    def set_model_version_tag(self, name: str, version: int, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the version."""
        path = version_path(name, version, "tags", segment(key))
        self._http.request("PUT", path, idempotent=True, json={"value": value, "actor": actor})

    def delete_model_version_tag(self, name: str, version: int, key: str, actor: str) -> None:
        """Remove a tag from the version; `NotFound` if it has no such tag."""
        path = version_path(name, version, "tags", segment(key))
        self._http.request("DELETE", path, idempotent=False, params={"actor": actor})

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions matching MLflow's model-version filter grammar."""
        body = _search_body(filter_string, max_results, order_by, page_token)
        page = self._post(f"{API}/model-versions/search", body)
        return page_from_json(page, "model_versions", model_version_from_json)

    def get_latest_versions(self, name: str, stages: Sequence[ModelStage] = ()) -> list[ModelVersion]:
        """The newest version in each of the stages (every stage when empty)."""
        params = {"stages": [ModelStage.parse(stage).value for stage in stages]}
        response = self._http.request(
            "GET", model_path(name, "latest-versions"), idempotent=True, params=params
        )
        return list(page_from_json(response.json(), "model_versions", model_version_from_json))

    def find_versions_for_run(self, run_id: str) -> list[ModelVersion]:
        """Versions recorded with this run, or made from a logged model it produced; [] when none."""
        response = self._http.request("GET", run_path(run_id, "model-versions"), idempotent=True)
        return list(page_from_json(response.json(), "model_versions", model_version_from_json))

    def set_registered_model_alias(self, name: str, alias: str, version: int, actor: str) -> None:
        """Point the alias at the version (moving it if set); reserved names are refused."""
        path = model_path(name, "aliases", segment(alias))
        self._http.request("PUT", path, idempotent=True, json={"version": version, "actor": actor})

    def delete_registered_model_alias(self, name: str, alias: str, actor: str) -> None:
        """Remove the alias; `NotFound` if the model has no such alias."""
        path = model_path(name, "aliases", segment(alias))
        self._http.request("DELETE", path, idempotent=False, params={"actor": actor})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version the alias points at; `NotFound` naming model and alias otherwise."""
        return model_version_from_json(self._get(model_path(name, "aliases", segment(alias))))

    def get_registry_changes(
        self, name: str | None = None, max_results: int = 1000, page_token: str | None = None
    ) -> PagedList[RegistryChange]:
        """The audit trail, oldest first, for one model (by its name at the time) or for all."""
        params: dict[str, Any] = {"max_results": max_results}
        if name is not None:
            params["name"] = name
        if page_token:
            params["page_token"] = page_token
        response = self._http.request("GET", f"{API}/registry-changes", idempotent=True, params=params)
        return page_from_json(response.json(), "changes", registry_change_from_json)

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
        body = {"action": action, "version": version, "field": field, "old": old, "new": new, "actor": actor}
        self._http.request("POST", model_path(model_name, "events"), idempotent=False, json=body)

    def _get(self, path: str) -> dict[str, Any]:
        body: dict[str, Any] = self._http.request("GET", path, idempotent=True).json()
        return body

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        page: dict[str, Any] = self._http.request("POST", path, idempotent=True, json=body).json()
        return page


def _search_body(
    filter_string: str | None, max_results: int, order_by: Sequence[str] | None, page_token: str | None
) -> dict[str, Any]:
    if isinstance(order_by, str):
        raise InvalidArgument("order_by must be a list of clauses, not a single string")
    return {
        "filter_string": filter_string,
        "max_results": max_results,
        "order_by": list(order_by or []),
        "page_token": page_token,
    }
