"""Registry entities in the JSON shapes of MLflow's RegisteredModel, ModelVersion and LoggedModel messages.

Protobuf JSON as MLflow emits it: snake_case names, enums by name, int64 as numbers, version numbers as
strings, and unset optional fields (no description, no run) left out so the client reads them as None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cairn.entities import ArtifactInfo, LoggedModel, ModelVersion, RegisteredModel
from cairn.server.mlflow.proto_json import JsonObject, key_values_json


def model_version_json(version: ModelVersion) -> JsonObject:
    """A `ModelVersion` message."""
    shape: JsonObject = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.creation_time,
        "last_updated_timestamp": version.last_updated_time,
        "user_id": version.user_id,
        "current_stage": version.stage.value,
        "source": version.source,
        "status": version.status.value,
        "tags": key_values_json(version.tags),
        "run_link": version.run_link,
        "aliases": list(version.aliases),
    }
    _put_if(shape, "description", version.description)
    _put_if(shape, "run_id", version.run_id)
    _put_if(shape, "model_id", version.model_id)
    _put_if(shape, "status_message", version.status_message)
    return shape


def registered_model_json(model: RegisteredModel) -> JsonObject:
    """A `RegisteredModel` message, with its latest version per stage and its aliases."""
    shape: JsonObject = {
        "name": model.name,
        "creation_timestamp": model.creation_time,
        "last_updated_timestamp": model.last_updated_time,
        "user_id": model.user_id,
        "latest_versions": [model_version_json(version) for version in model.latest_versions],
        "tags": key_values_json(model.tags),
        "aliases": [
            {"alias": alias, "version": str(version)} for alias, version in sorted(model.aliases.items())
        ],
    }
    _put_if(shape, "description", model.description)
    return shape


def logged_model_json(model: LoggedModel) -> JsonObject:
    """A `LoggedModel` message: `info` (identity, status, tags, registrations) and `data` (params)."""
    info: JsonObject = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": model.creation_time,
        "last_updated_timestamp_ms": model.last_updated_time,
        "artifact_uri": model.artifact_uri,
        "status": model.status.value,
        "model_type": model.model_type,
        "tags": key_values_json(model.tags),
        "registrations": [{"name": name, "version": str(version)} for name, version in model.registrations],
    }
    _put_if(info, "source_run_id", model.source_run_id)
    _put_if(info, "status_message", model.status_message)
    return {"info": info, "data": {"params": key_values_json(model.params), "metrics": []}}


def file_infos_json(infos: Sequence[ArtifactInfo], strip: int) -> list[JsonObject]:
    """`FileInfo` messages for listed entries, each path without its first `strip` characters."""
    files: list[JsonObject] = []
    for info in infos:
        entry: JsonObject = {"path": info.path[strip:], "is_dir": info.is_dir}
        if not info.is_dir and info.file_size is not None:
            entry["file_size"] = info.file_size
        files.append(entry)
    return files


def _put_if(shape: JsonObject, key: str, value: Any) -> None:
    if value:
        shape[key] = value
