"""Logged-model operations of the SQL store (MLflow 3's LoggedModel): create, finalize, tag, delete."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from cairn._internal.clock import now_ms
from cairn._internal.registry_validation import (
    MAX_LOGGED_MODEL_PARAM_VALUE_LENGTH,
    MAX_MODEL_TYPE_LENGTH,
    validate_logged_model_id,
    validate_logged_model_name,
    validate_registry_tag,
    validate_text,
)
from cairn._internal.validation import validate_experiment_id, validate_key, validate_run_id
from cairn.entities import LifecycleStage
from cairn.entities.registry import LoggedModel, LoggedModelStatus
from cairn.errors import Conflict, InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.logged_model_loading import (
    load_logged_model,
    parse_logged_model_status,
    require_logged_model,
)
from cairn.store.sql.registry_tables import logged_model_params, logged_model_tags, logged_models
from cairn.store.sql.tables import experiments, runs
from cairn.store.sql.upsert import insert_for

_TAG_FIELD = "logged model tag"


def _checked_params(params: Mapping[str, str]) -> dict[str, str]:
    return {
        validate_key("logged model param key", k): validate_text(
            f"logged model param {k!r} value", v, MAX_LOGGED_MODEL_PARAM_VALUE_LENGTH
        )
        for k, v in params.items()
    }


def _checked_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return dict(validate_registry_tag(_TAG_FIELD, k, v) for k, v in tags.items())


def _experiment_location(conn: Connection, experiment_id: str) -> str:
    exp = conn.execute(
        select(experiments.c.artifact_location, experiments.c.lifecycle_stage).where(
            experiments.c.experiment_id == int(experiment_id)
        )
    ).first()
    if exp is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    if exp.lifecycle_stage != LifecycleStage.ACTIVE.value:
        raise InvalidArgument(f"experiment {experiment_id} is deleted; logged models cannot be created in it")
    return str(exp.artifact_location).rstrip("/")


def _insert_logged_model(
    conn: Connection, row: dict[str, Any], location: str, tags: Mapping[str, str], params: Mapping[str, str]
) -> None:
    now = now_ms()
    model_id = row["model_id"]
    artifact_uri = f"{location}/models/{model_id}/artifacts"
    conn.execute(
        logged_models.insert().values(
            **row, artifact_uri=artifact_uri, creation_time=now, last_updated_time=now
        )
    )
    for table, values in ((logged_model_tags, tags), (logged_model_params, params)):
        if values:
            conn.execute(
                table.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in values.items()]
            )


class SqlLoggedModels(SqlBase):
    """Create, read, finalize, tag, parametrise and delete logged models."""

    def create_logged_model(
        self,
        experiment_id: str,
        name: str,
        source_run_id: str | None = None,
        model_type: str = "",
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model with a fresh `m-<hex>` id.

        Its files go to `<experiment artifact location>/models/<model_id>/artifacts`.

        Raises:
            NotFound: the experiment or the source run does not exist.
            InvalidArgument: the experiment is deleted, or a field is malformed.
        """
        experiment_id = validate_experiment_id(experiment_id)
        name = validate_logged_model_name(name)
        source_run_id = validate_run_id(source_run_id) if source_run_id else None
        model_id = f"m-{uuid.uuid4().hex}"
        row: dict[str, Any] = {
            "model_id": model_id,
            "experiment_id": int(experiment_id),
            "name": name,
            "status": LoggedModelStatus.PENDING.value,
            "status_message": "",
            "model_type": validate_text("model_type", model_type, MAX_MODEL_TYPE_LENGTH),
            "source_run_id": source_run_id,
            "lifecycle_stage": LifecycleStage.ACTIVE.value,
        }
        checked_params = _checked_params(params or {})
        checked_tags = _checked_tags(tags or {})

        def work(conn: Connection) -> LoggedModel:
            location = _experiment_location(conn, experiment_id)
            if source_run_id is not None:
                _require_run(conn, source_run_id)
            _insert_logged_model(conn, row, location, checked_tags, checked_params)
            return load_logged_model(conn, model_id)

        return self._write(work)

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Return the logged model with its registrations; `NotFound` naming it if absent or deleted."""
        model_id = validate_logged_model_id(model_id)
        return self._read(lambda conn: load_logged_model(conn, model_id))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the upload status: READY or UPLOAD_FAILED (PENDING is refused)."""
        model_id = validate_logged_model_id(model_id)
        final = parse_logged_model_status(status)
        if final is LoggedModelStatus.PENDING:
            raise InvalidArgument(
                f"status {final.value} cannot finalize a logged model; use READY or UPLOAD_FAILED"
            )

        def work(conn: Connection) -> LoggedModel:
            require_logged_model(conn, model_id, lock=True)
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(status=final.value, last_updated_time=now_ms())
            )
            return load_logged_model(conn, model_id)

        return self._write(work)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete the logged model: it disappears from reads and searches; versions keep their record."""
        model_id = validate_logged_model_id(model_id)

        def work(conn: Connection) -> None:
            require_logged_model(conn, model_id, lock=True)
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == model_id)
                .values(lifecycle_stage=LifecycleStage.DELETED.value, last_updated_time=now_ms())
            )

        self._write(work)

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
        """Set or replace tags on the logged model and return it."""
        model_id = validate_logged_model_id(model_id)
        checked = _checked_tags(tags)

        def work(conn: Connection) -> LoggedModel:
            require_logged_model(conn, model_id, lock=True)
            if checked:
                stmt = insert_for(conn, logged_model_tags)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}
                )
                conn.execute(stmt, [{"model_id": model_id, "key": k, "value": v} for k, v in checked.items()])
                _touch(conn, model_id)
            return load_logged_model(conn, model_id)

        return self._write(work)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag; `NotFound` naming the model and key if there is no such tag."""
        model_id = validate_logged_model_id(model_id)

        def work(conn: Connection) -> None:
            require_logged_model(conn, model_id, lock=True)
            result = conn.execute(
                delete(logged_model_tags).where(
                    logged_model_tags.c.model_id == model_id, logged_model_tags.c.key == key
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"logged model {model_id!r} has no tag {key!r}")
            _touch(conn, model_id)

        self._write(work)

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Record parameters; a key logged again with the same value is a no-op, with another a `Conflict`."""
        model_id = validate_logged_model_id(model_id)
        checked = _checked_params(params)

        def work(conn: Connection) -> None:
            require_logged_model(conn, model_id, lock=True)
            existing = dict(
                conn.execute(
                    select(logged_model_params.c.key, logged_model_params.c.value).where(
                        logged_model_params.c.model_id == model_id,
                        logged_model_params.c.key.in_(list(checked)),
                    )
                ).all()
            )
            for key, value in checked.items():
                if key in existing and existing[key] != value:
                    raise Conflict(
                        f"logged model {model_id!r} param {key!r} is already {existing[key]!r}; "
                        f"it cannot change to {value!r}"
                    )
            new = [
                {"model_id": model_id, "key": k, "value": v} for k, v in checked.items() if k not in existing
            ]
            if new:
                conn.execute(logged_model_params.insert(), new)
                _touch(conn, model_id)

        self._write(work)


def _require_run(conn: Connection, run_id: str) -> None:
    if conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None:
        raise NotFound(f"run {run_id} does not exist")


def _touch(conn: Connection, model_id: str) -> None:
    conn.execute(
        update(logged_models).where(logged_models.c.model_id == model_id).values(last_updated_time=now_ms())
    )
