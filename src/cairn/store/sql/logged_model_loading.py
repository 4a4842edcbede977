"""Reading logged-model rows into entities (with tags, params and registrations), and their lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from cairn.entities import LifecycleStage
from cairn.entities.registry import LoggedModel, LoggedModelStatus
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.registry_tables import (
    logged_model_params,
    logged_model_tags,
    logged_models,
    model_versions,
)

_CHUNK = 400
_SHORT_STATUS = {
    "PENDING": LoggedModelStatus.PENDING,
    "READY": LoggedModelStatus.READY,
    "UPLOAD_FAILED": LoggedModelStatus.UPLOAD_FAILED,
    "FAILED": LoggedModelStatus.UPLOAD_FAILED,
}


def parse_logged_model_status(status: object) -> LoggedModelStatus:
    """The status named by `status`: a stored name (`LOGGED_MODEL_READY`) or MLflow's short one (`READY`)."""
    if isinstance(status, LoggedModelStatus):
        return status
    text = str(status).upper()
    found = _SHORT_STATUS.get(text) or next((s for s in LoggedModelStatus if s.value == text), None)
    if found is None:
        allowed = ", ".join(s.value for s in LoggedModelStatus)
        raise InvalidArgument(f"status must be one of {allowed}; got {status!r}")
    return found


def require_logged_model(conn: Connection, model_id: str, *, lock: bool = False) -> Row[Any]:
    """The row of an active (not deleted) logged model; `NotFound` naming it otherwise."""
    stmt = select(logged_models).where(
        logged_models.c.model_id == model_id, logged_models.c.lifecycle_stage == LifecycleStage.ACTIVE.value
    )
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(f"logged model {model_id!r} does not exist")
    return row


def load_logged_models(conn: Connection, model_ids: Sequence[str]) -> list[LoggedModel]:
    """Logged models in the order of `model_ids`, with tags, params and the versions registered from them."""
    rows: dict[str, Row[Any]] = {}
    tags: dict[str, dict[str, str]] = {}
    params: dict[str, dict[str, str]] = {}
    registrations: dict[str, list[tuple[str, int]]] = {}
    ids = list(model_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in conn.execute(select(logged_models).where(logged_models.c.model_id.in_(chunk))):
            rows[row.model_id] = row
        for tag in conn.execute(select(logged_model_tags).where(logged_model_tags.c.model_id.in_(chunk))):
            tags.setdefault(tag.model_id, {})[tag.key] = tag.value
        for param in conn.execute(
            select(logged_model_params).where(logged_model_params.c.model_id.in_(chunk))
        ):
            params.setdefault(param.model_id, {})[param.key] = param.value
        versions = conn.execute(
            select(model_versions.c.model_id, model_versions.c.name, model_versions.c.version)
            .where(model_versions.c.model_id.in_(chunk))
            .order_by(model_versions.c.name, model_versions.c.version)
        )
        for model_id, name, version in versions:
            registrations.setdefault(model_id, []).append((name, int(version)))
    return [_entity(rows[i], tags, params, registrations) for i in ids if i in rows]


def _entity(
    row: Row[Any],
    tags: dict[str, dict[str, str]],
    params: dict[str, dict[str, str]],
    registrations: dict[str, list[tuple[str, int]]],
) -> LoggedModel:
    model_id = row.model_id
    return LoggedModel(
        model_id=model_id,
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_uri=row.artifact_uri,
        creation_time=row.creation_time,
        last_updated_time=row.last_updated_time,
        status=LoggedModelStatus(row.status),
        status_message=row.status_message,
        model_type=row.model_type,
        source_run_id=row.source_run_id,
        tags=tags.get(model_id, {}),
        params=params.get(model_id, {}),
        registrations=tuple(registrations.get(model_id, [])),
    )


def load_logged_model(conn: Connection, model_id: str) -> LoggedModel:
    """One active logged model; `NotFound` naming it if absent or deleted."""
    require_logged_model(conn, model_id)
    return load_logged_models(conn, [model_id])[0]
