"""Writing and reading the registry's audit trail, and stamping models and versions as changed."""

from __future__ import annotations

from sqlalchemy import Connection, and_, or_, select, update

from cairn._internal.clock import now_ms
from cairn._internal.registry_validation import MAX_STATUS_MESSAGE_LENGTH, validate_text
from cairn.entities.registry import RegistryChange
from cairn.errors import InvalidArgument
from cairn.store.registry_protocols import REGISTRY_EVENT_ACTIONS
from cairn.store.sql.registry_tables import model_versions, registered_models, registry_changes

RENAME_ACTION = "rename_model"
MAX_FIELD_LENGTH = 300
"""Longest `field_name` an audit row holds (its column's size)."""
MAX_EVENT_VALUE_LENGTH = MAX_STATUS_MESSAGE_LENGTH
"""Longest old or new value of an event recorded with `record_registry_event`."""


def validate_event(action: object, field: object, old: object, new: object) -> tuple[str, str]:
    """Check an event that is not a registry edit: its action is one of `REGISTRY_EVENT_ACTIONS`.

    Returns:
        The action and the field name.

    Raises:
        InvalidArgument: naming the action, the field or the value that is wrong.
    """
    if not isinstance(action, str) or action not in REGISTRY_EVENT_ACTIONS:
        raise InvalidArgument(
            f"action must be one of {', '.join(REGISTRY_EVENT_ACTIONS)}; got {action!r} "
            "(registry edits are recorded by the edits themselves)"
        )
    field = validate_text("field", field, MAX_FIELD_LENGTH)
    for name, value in (("old", old), ("new", new)):
        if value is not None:
            validate_text(name, value, MAX_EVENT_VALUE_LENGTH)
    return action, field


def record_change(
    conn: Connection,
    actor: str,
    action: str,
    model_name: str,
    *,
    version: int | None = None,
    field: str = "",
    old: str | None = None,
    new: str | None = None,
) -> None:
    """Add one row to the audit trail, inside the caller's transaction (so it commits with the change)."""
    conn.execute(
        registry_changes.insert().values(
            time=now_ms(),
            actor=actor,
            action=action,
            model_name=model_name,
            version=version,
            field_name=field,
            old_value=old,
            new_value=new,
        )
    )


def touch(conn: Connection, name: str, version: int | None = None) -> int:
    """Set `last_updated_time` of the model (and of one of its versions) to now; returns the time."""
    now = now_ms()
    conn.execute(
        update(registered_models).where(registered_models.c.name == name).values(last_updated_time=now)
    )
    if version is not None:
        conn.execute(
            update(model_versions)
            .where(model_versions.c.name == name, model_versions.c.version == version)
            .values(last_updated_time=now)
        )
    return now


def load_changes(conn: Connection, name: str | None, offset: int, limit: int) -> list[RegistryChange]:
    """Audit rows oldest first; for a name, its own rows and the rename that gave a model that name."""
    stmt = select(registry_changes)
    if name is not None:
        renamed_to = and_(registry_changes.c.action == RENAME_ACTION, registry_changes.c.new_value == name)
        stmt = stmt.where(or_(registry_changes.c.model_name == name, renamed_to))
    stmt = stmt.order_by(registry_changes.c.change_id).offset(offset).limit(limit)
    return [
        RegistryChange(
            change_id=int(row.change_id),
            time=row.time,
            actor=row.actor,
            action=row.action,
            model_name=row.model_name,
            version=row.version,
            field_name=row.field_name,
            old_value=row.old_value,
            new_value=row.new_value,
        )
        for row in conn.execute(stmt)
    ]
