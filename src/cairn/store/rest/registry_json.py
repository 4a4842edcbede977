"""Registry entities from the native API's JSON shapes (the client side; the server's are pydantic models)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cairn.entities import (
    LoggedModel,
    LoggedModelStatus,
    ModelStage,
    ModelVersion,
    ModelVersionStatus,
    PagedList,
    RegisteredModel,
    RegistryChange,
)
from cairn.errors import CairnError

T = TypeVar("T")


def model_version_from_json(body: dict[str, Any]) -> ModelVersion:
    """A ModelVersion from its JSON object."""
    try:
        return ModelVersion(
            name=body["name"],
            version=int(body["version"]),
            creation_time=int(body["creation_time"]),
            last_updated_time=int(body["last_updated_time"]),
            source=body["source"],
            user_id=body.get("user_id") or "",
            description=body.get("description") or "",
            run_id=body.get("run_id"),
            model_id=body.get("model_id"),
            status=ModelVersionStatus(body["status"]),
            status_message=body.get("status_message") or "",
            run_link=body.get("run_link") or "",
            stage=ModelStage(body["stage"]),
            tags=dict(body.get("tags") or {}),
            aliases=tuple(body.get("aliases") or ()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("model version", error) from None


def registered_model_from_json(body: dict[str, Any]) -> RegisteredModel:
    """A RegisteredModel from its JSON object."""
    try:
        return RegisteredModel(
            name=body["name"],
            creation_time=int(body["creation_time"]),
            last_updated_time=int(body["last_updated_time"]),
            user_id=body.get("user_id") or "",
            description=body.get("description") or "",
            tags=dict(body.get("tags") or {}),
            aliases={alias: int(version) for alias, version in (body.get("aliases") or {}).items()},
            latest_versions=tuple(model_version_from_json(v) for v in body.get("latest_versions") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _malformed("registered model", error) from None


def logged_model_from_json(body: dict[str, Any]) -> LoggedModel:
    """A LoggedModel from its JSON object."""
    try:
        return LoggedModel(
            model_id=body["model_id"],
            experiment_id=str(body["experiment_id"]),
            name=body["name"],
            artifact_uri=body["artifact_uri"],
            creation_time=int(body["creation_time"]),
            last_updated_time=int(body["last_updated_time"]),
            status=LoggedModelStatus(body["status"]),
            status_message=body.get("status_message") or "",
            model_type=body.get("model_type") or "",
            source_run_id=body.get("source_run_id"),
            tags=dict(body.get("tags") or {}),
            params=dict(body.get("params") or {}),
            registrations=tuple(
                (item["name"], int(item["version"])) for item in body.get("registrations") or ()
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("logged model", error) from None


def registry_change_from_json(body: dict[str, Any]) -> RegistryChange:
    """A RegistryChange (one audit row) from its JSON object."""
    try:
        version = body.get("version")
        return RegistryChange(
            change_id=int(body["change_id"]),
            time=int(body["time"]),
            actor=body["actor"],
            action=body["action"],
            model_name=body["model_name"],
            version=None if version is None else int(version),
            field_name=body.get("field_name") or "",
            old_value=body.get("old_value"),
            new_value=body.get("new_value"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise _malformed("registry change", error) from None


def page_from_json(body: dict[str, Any], key: str, parse: Callable[[dict[str, Any]], T]) -> PagedList[T]:
    """A page of entities listed under `key`, with the server's `next_page_token`."""
    items = body.get(key)
    if not isinstance(items, list):
        raise CairnError(f"the server sent a malformed page: no list under {key!r}")
    return PagedList([parse(item) for item in items], body.get("next_page_token"))


def _malformed(what: str, error: Exception) -> CairnError:
    return CairnError(f"the server sent a malformed {what}: {type(error).__name__} {error}")
