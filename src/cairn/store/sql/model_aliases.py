"""Aliases of registered models (named, movable pointers to versions); the audit trail's reads and events."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.registry_validation import (
    MAX_RESULTS_REGISTRY_CHANGES,
    validate_actor,
    validate_alias,
    validate_model_name,
    validate_version,
)
from cairn._internal.validation import validate_max_results
from cairn.entities import PagedList
from cairn.entities.registry import ModelVersion, RegistryChange
from cairn.errors import NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.registry_audit import load_changes, record_change, touch, validate_event
from cairn.store.sql.registry_loading import load_version, require_model, require_version
from cairn.store.sql.registry_tables import registered_model_aliases
from cairn.store.sql.upsert import insert_for


def alias_field(alias: str) -> str:
    """The audit trail's field name for an alias."""
    return f"alias:{alias}"


def _current_version(conn: Connection, name: str, alias: str) -> int | None:
    found = conn.execute(
        select(registered_model_aliases.c.version).where(
            registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


class SqlModelAliases(SqlBase):
    """Set, move, delete and resolve aliases; read the registry's audit trail and add events to it."""

    def set_registered_model_alias(self, name: str, alias: str, version: int, actor: str) -> None:
        """Point the alias at the version, moving it if set; the audit row keeps both version numbers.

        Raises:
            InvalidArgument: the alias is malformed or reserved (`latest`, `v<digits>`).
            NotFound: the model or the version does not exist.
        """
        name = validate_model_name(name)
        alias = validate_alias(alias)
        number = validate_version(version)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            require_version(conn, name, number)
            previous = _current_version(conn, name, alias)
            if previous == number:
                return
            stmt = insert_for(conn, registered_model_aliases).values(name=name, alias=alias, version=number)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "alias"], set_={"version": stmt.excluded.version}
                )
            )
            touch(conn, name)
            old = None if previous is None else str(previous)
            record_change(
                conn,
                actor,
                "set_alias",
                name,
                version=number,
                field=alias_field(alias),
                old=old,
                new=str(number),
            )

        self._write(work)

    def delete_registered_model_alias(self, name: str, alias: str, actor: str) -> None:
        """Remove the alias; `NotFound` naming model and alias if the model has no such alias."""
        name = validate_model_name(name)
        alias = validate_alias(alias)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            previous = _current_version(conn, name, alias)
            if previous is None:
                raise NotFound(f"registered model {name!r} has no alias {alias!r}")
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            )
            touch(conn, name)
            record_change(
                conn,
                actor,
                "delete_alias",
                name,
                version=previous,
                field=alias_field(alias),
                old=str(previous),
            )

        self._write(work)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version the alias points at.

        Raises:
            NotFound: naming the model, or the model and the alias.
        """
        name = validate_model_name(name)
        alias = validate_alias(alias)

        def work(conn: Connection) -> ModelVersion:
            require_model(conn, name)
            number = _current_version(conn, name, alias)
            if number is None:
                raise NotFound(f"registered model {name!r} has no alias {alias!r}")
            return load_version(conn, name, number)

        return self._read(work)

    def get_registry_changes(
        self, name: str | None = None, max_results: int = 1000, page_token: str | None = None
    ) -> PagedList[RegistryChange]:
        """The audit trail, oldest first: every change, or those of one model (by its name at the time).

        For a name, the rename that gave a model that name is included too.
        """
        if name is not None:
            name = validate_model_name(name)
        max_results = validate_max_results(max_results, MAX_RESULTS_REGISTRY_CHANGES)
        offset = decode_page_token(page_token)
        rows = self._read(lambda conn: load_changes(conn, name, offset, max_results + 1))
        more = len(rows) > max_results
        return PagedList(rows[:max_results], encode_page_token(offset + max_results) if more else None)

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
        """Add an event that is not a registry edit (a server's swap, a traffic decision) to the audit trail.

        Nothing else changes: the model's `last_updated_time` stays as it is.

        Raises:
            InvalidArgument: the action is not one of `REGISTRY_EVENT_ACTIONS`, or a field is malformed.
            NotFound: the model, or the version given, does not exist.
        """
        name = validate_model_name(model_name, "model_name")
        action, field = validate_event(action, field, old, new)
        number = None if version is None else validate_version(version)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name)
            if number is not None:
                require_version(conn, name, number)
            record_change(conn, actor, action, name, version=number, field=field, old=old, new=new)

        self._write(work)
