"""Model-version operations of the SQL store; each change commits with its audit row.

Version numbers come from the model's `next_version` counter, read under the model row's lock
(`SELECT ... FOR UPDATE` on PostgreSQL, the database write lock on SQLite), so concurrent
writers get distinct numbers and a deleted number is never handed out again.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, Connection, delete, select, update

from cairn._internal.clock import now_ms
from cairn._internal.registry_validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_RUN_LINK_LENGTH,
    MAX_STATUS_MESSAGE_LENGTH,
    validate_actor,
    validate_logged_model_id,
    validate_model_name,
    validate_registry_tag,
    validate_text,
    validate_version,
)
from cairn._internal.validation import validate_run_id
from cairn._internal.version_sources import SourceKind, VersionSource, parse_version_source
from cairn.entities.registry import ModelStage, ModelVersion, ModelVersionStatus
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.registry_audit import record_change, touch
from cairn.store.sql.registry_loading import load_version, require_model, require_version
from cairn.store.sql.registry_tables import (
    logged_models,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_models,
)
from cairn.store.sql.tables import runs
from cairn.store.sql.upsert import insert_for

_TAG_FIELD = "model version tag"


def parse_version_status(status: object) -> ModelVersionStatus:
    """The version status named by `status`; `InvalidArgument` naming the field otherwise."""
    try:
        return ModelVersionStatus(str(status).upper())
    except ValueError:
        allowed = ", ".join(s.value for s in ModelVersionStatus)
        raise InvalidArgument(f"status must be one of {allowed}; got {status!r}") from None


def _source_lineage(
    parsed: VersionSource, run_id: str | None, model_id: str | None
) -> tuple[str | None, str | None]:
    """Fill run_id / model_id from the source; refuse ids that contradict it."""
    if parsed.kind is SourceKind.RUN:
        if run_id is not None and run_id != parsed.run_id:
            raise InvalidArgument(f"run_id {run_id!r} does not match source {parsed.uri!r}")
        run_id = parsed.run_id
    if parsed.kind is SourceKind.LOGGED_MODEL:
        if model_id is not None and model_id != parsed.model_id:
            raise InvalidArgument(f"model_id {model_id!r} does not match source {parsed.uri!r}")
        model_id = parsed.model_id
    return run_id, model_id


def _resolve_lineage(
    conn: Connection, parsed: VersionSource, run_id: str | None, model_id: str | None
) -> tuple[str | None, str | None]:
    """Check that the run, logged model or version the new version comes from exists; inherit its lineage."""
    if parsed.model_name is not None and parsed.version is not None:  # a models:/<name>/<version> source
        origin = require_version(conn, parsed.model_name, parsed.version)
        run_id = run_id or origin.run_id
        model_id = model_id or origin.model_id
    if model_id is not None:
        source_run = conn.execute(
            select(logged_models.c.source_run_id).where(logged_models.c.model_id == model_id)
        ).first()
        if source_run is None:
            raise NotFound(f"logged model {model_id!r} does not exist")
        run_id = run_id or source_run[0]
    if (
        run_id is not None
        and conn.execute(select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first() is None
    ):
        raise NotFound(f"run {run_id} does not exist")
    return run_id, model_id


def _insert_version(
    conn: Connection,
    row: dict[str, str],
    number: int,
    lineage: tuple[str | None, str | None],
    tags: Mapping[str, str],
) -> None:
    """Insert version `number` (read from the locked model row) with its tags and audit rows."""
    name, actor = row["name"], row["user_id"]
    now = now_ms()
    conn.execute(
        update(registered_models)
        .where(registered_models.c.name == name)
        .values(next_version=number + 1, last_updated_time=now)
    )
    conn.execute(
        model_versions.insert().values(
            **row,
            run_id=lineage[0],
            model_id=lineage[1],
            version=number,
            creation_time=now,
            last_updated_time=now,
        )
    )
    record_change(conn, actor, "create_version", name, version=number, field="source", new=row["source"])
    for key, value in tags.items():
        conn.execute(model_version_tags.insert().values(name=name, version=number, key=key, value=value))
        record_change(conn, actor, "set_tag", name, version=number, field=f"tag:{key}", new=value)


class SqlModelVersions(SqlBase):
    """Create, read, update, stage, tag and delete model versions."""

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
        """Add the next version of an existing model.

        The source must be one of the store's own locations (see `parse_version_source`); the run and
        logged model it names must exist, and are recorded as the version's lineage.

        Raises:
            NotFound: the model, or the run / logged model / version the source names, does not exist.
            InvalidArgument: the source points elsewhere, or a field is malformed.
        """
        name = validate_model_name(name)
        actor = validate_actor(actor)
        parsed = parse_version_source(source, [self._artifact_root])
        run_id, model_id = _source_lineage(
            parsed,
            validate_run_id(run_id) if run_id else None,
            validate_logged_model_id(model_id) if model_id else None,
        )
        row = {
            "name": name,
            "user_id": actor,
            "source": parsed.uri,
            "description": validate_text("description", description, MAX_DESCRIPTION_LENGTH),
            "run_link": validate_text("run_link", run_link, MAX_RUN_LINK_LENGTH),
            "status": parse_version_status(status).value,
            "status_message": "",
            "stage": ModelStage.NONE.value,
        }
        checked = dict(validate_registry_tag(_TAG_FIELD, k, v) for k, v in (tags or {}).items())

        def work(conn: Connection) -> ModelVersion:
            number = int(require_model(conn, name, lock=True).next_version)
            lineage = _resolve_lineage(conn, parsed, run_id, model_id)
            _insert_version(conn, row, number, lineage, checked)
            return load_version(conn, name, number)

        return self._write(work)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """Return the version; `NotFound` naming model and version if absent."""
        name = validate_model_name(name)
        number = validate_version(version)
        return self._read(lambda conn: load_version(conn, name, number))

    def update_model_version(
        self,
        name: str,
        version: int,
        actor: str,
        description: str | None = None,
        status: ModelVersionStatus | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        """Change the fields given (not None), recording each changed one, and return the new version."""
        name = validate_model_name(name)
        number = validate_version(version)
        actor = validate_actor(actor)
        wanted: dict[str, str] = {}
        if description is not None:
            wanted["description"] = validate_text("description", description, MAX_DESCRIPTION_LENGTH)
        if status is not None:
            wanted["status"] = parse_version_status(status).value
        if status_message is not None:
            wanted["status_message"] = validate_text(
                "status_message", status_message, MAX_STATUS_MESSAGE_LENGTH
            )

        def work(conn: Connection) -> ModelVersion:
            require_model(conn, name, lock=True)
            row = require_version(conn, name, number)
            changed = {field: value for field, value in wanted.items() if getattr(row, field) != value}
            if changed:
                conn.execute(
                    update(model_versions)
                    .where(model_versions.c.name == name, model_versions.c.version == number)
                    .values(**changed)
                )
                touch(conn, name, number)
            for field, value in changed.items():
                old = getattr(row, field)
                record_change(
                    conn, actor, "update_version", name, version=number, field=field, old=old, new=value
                )
            return load_version(conn, name, number)

        return self._write(work)

    def transition_model_version_stage(
        self, name: str, version: int, stage: ModelStage, archive_existing: bool, actor: str
    ) -> ModelVersion:
        """Move a version to a legacy stage; `archive_existing` archives the others in Staging/Production."""
        name = validate_model_name(name)
        number = validate_version(version)
        actor = validate_actor(actor)
        target = stage if isinstance(stage, ModelStage) else ModelStage.parse(stage)

        def work(conn: Connection) -> ModelVersion:
            require_model(conn, name, lock=True)
            moves = [(number, require_version(conn, name, number).stage, target)]
            if archive_existing and target in (ModelStage.STAGING, ModelStage.PRODUCTION):
                others = conn.execute(
                    select(model_versions.c.version).where(
                        model_versions.c.name == name,
                        model_versions.c.stage == target.value,
                        model_versions.c.version != number,
                    )
                ).scalars()
                moves += [(other, target.value, ModelStage.ARCHIVED) for other in others]
            for moved, old, new in moves:
                if old == new.value:
                    continue
                conn.execute(
                    update(model_versions)
                    .where(model_versions.c.name == name, model_versions.c.version == moved)
                    .values(stage=new.value)
                )
                touch(conn, name, moved)
                record_change(
                    conn,
                    actor,
                    "transition_stage",
                    name,
                    version=moved,
                    field="stage",
                    old=old,
                    new=new.value,
                )
            return load_version(conn, name, number)

        return self._write(work)

    def delete_model_version(self, name: str, version: int, actor: str) -> None:
        """Delete the version, its tags and the aliases pointing at it; its number is never reused."""
        name = validate_model_name(name)
        number = validate_version(version)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            row = require_version(conn, name, number)
            pointing = (
                conn.execute(
                    select(registered_model_aliases.c.alias)
                    .where(
                        registered_model_aliases.c.name == name, registered_model_aliases.c.version == number
                    )
                    .order_by(registered_model_aliases.c.alias)
                )
                .scalars()
                .all()
            )
            for alias in pointing:
                record_change(
                    conn, actor, "delete_alias", name, version=number, field=f"alias:{alias}", old=str(number)
                )
            conn.execute(
                delete(model_versions).where(
                    model_versions.c.name == name, model_versions.c.version == number
                )
            )
            touch(conn, name)
            record_change(conn, actor, "delete_version", name, version=number, field="source", old=row.source)

        self._write(work)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the version."""
        name = validate_model_name(name)
        number = validate_version(version)
        actor = validate_actor(actor)
        key, value = validate_registry_tag(_TAG_FIELD, key, value)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            require_version(conn, name, number)
            old = conn.execute(
                select(model_version_tags.c.value).where(*_tag_key(name, number, key))
            ).scalar_one_or_none()
            stmt = insert_for(conn, model_version_tags).values(
                name=name, version=number, key=key, value=value
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "version", "key"], set_={"value": stmt.excluded.value}
                )
            )
            touch(conn, name, number)
            record_change(
                conn, actor, "set_tag", name, version=number, field=f"tag:{key}", old=old, new=value
            )

        self._write(work)

    def delete_model_version_tag(self, name: str, version: int, key: str, actor: str) -> None:
        """Remove a tag from the version; `NotFound` if it has no such tag."""
        name = validate_model_name(name)
        number = validate_version(version)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            require_version(conn, name, number)
            where = _tag_key(name, number, key)
            old = conn.execute(select(model_version_tags.c.value).where(*where)).scalar_one_or_none()
            if old is None:
                raise NotFound(f"version {number} of registered model {name!r} has no tag {key!r}")
            conn.execute(delete(model_version_tags).where(*where))
            touch(conn, name, number)
            record_change(conn, actor, "delete_tag", name, version=number, field=f"tag:{key}", old=old)

        self._write(work)


def _tag_key(name: str, version: int, key: str) -> tuple[ColumnElement[bool], ...]:
    return (
        model_version_tags.c.name == name,
        model_version_tags.c.version == version,
        model_version_tags.c.key == key,
    )
