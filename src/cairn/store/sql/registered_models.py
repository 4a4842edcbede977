"""Registered-model operations of the SQL store; each change commits with its audit row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from cairn._internal.clock import now_ms
from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.registry_validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_RESULTS_SEARCH_REGISTERED_MODELS,
    validate_actor,
    validate_model_name,
    validate_registry_tag,
    validate_text,
)
from cairn._internal.validation import validate_max_results
from cairn.entities import PagedList
from cairn.entities.registry import RegisteredModel
from cairn.errors import AlreadyExists, NotFound
from cairn.store.search import REGISTERED_MODEL_SEARCH, parse_filter, parse_order_by
from cairn.store.sql.base import SqlBase
from cairn.store.sql.registry_audit import RENAME_ACTION, record_change, touch
from cairn.store.sql.registry_loading import load_registered_model, load_registered_models, require_model
from cairn.store.sql.registry_search_sql import registered_model_order, registered_model_where
from cairn.store.sql.registry_tables import registered_model_tags, registered_models
from cairn.store.sql.upsert import insert_for

_TAG_FIELD = "registered model tag"


def tag_field(key: str) -> str:
    """The audit trail's field name for a tag."""
    return f"tag:{key}"


class SqlRegisteredModels(SqlBase):
    """Create, read, rename, describe, tag, search and delete registered models."""

    def create_registered_model(
        self, name: str, actor: str, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Create a model; `AlreadyExists` if the name is taken."""
        name = validate_model_name(name)
        actor = validate_actor(actor)
        description = validate_text("description", description, MAX_DESCRIPTION_LENGTH)
        checked = dict(validate_registry_tag(_TAG_FIELD, k, v) for k, v in (tags or {}).items())

        def work(conn: Connection) -> RegisteredModel:
            now = now_ms()
            try:
                with conn.begin_nested():
                    conn.execute(
                        registered_models.insert().values(
                            name=name,
                            creation_time=now,
                            last_updated_time=now,
                            user_id=actor,
                            description=description,
                            next_version=1,
                        )
                    )
            except IntegrityError:
                raise AlreadyExists(f"registered model {name!r} already exists") from None
            record_change(conn, actor, "create_model", name, field="name", new=name)
            if description:
                record_change(conn, actor, "update_description", name, field="description", new=description)
            if checked:
                conn.execute(
                    registered_model_tags.insert(),
                    [{"name": name, "key": k, "value": v} for k, v in checked.items()],
                )
            for key, value in checked.items():
                record_change(conn, actor, "set_tag", name, field=tag_field(key), new=value)
            return load_registered_model(conn, name)

        return self._write(work)

    def get_registered_model(self, name: str) -> RegisteredModel:
        """Return the model; `NotFound` naming it if absent."""
        name = validate_model_name(name)
        return self._read(lambda conn: load_registered_model(conn, name))

    def rename_registered_model(self, name: str, new_name: str, actor: str) -> RegisteredModel:
        """Give the model an unused new name; its versions, tags and aliases follow (ON UPDATE CASCADE)."""
        name = validate_model_name(name)
        new_name = validate_model_name(new_name, "new_name")
        actor = validate_actor(actor)

        def work(conn: Connection) -> RegisteredModel:
            require_model(conn, name, lock=True)
            if new_name == name:
                return load_registered_model(conn, name)
            try:
                with conn.begin_nested():
                    conn.execute(
                        update(registered_models)
                        .where(registered_models.c.name == name)
                        .values(name=new_name, last_updated_time=now_ms())
                    )
            except IntegrityError:
                raise AlreadyExists(f"registered model {new_name!r} already exists") from None
            record_change(conn, actor, RENAME_ACTION, name, field="name", old=name, new=new_name)
            return load_registered_model(conn, new_name)

        return self._write(work)

    def update_registered_model(self, name: str, description: str, actor: str) -> RegisteredModel:
        """Replace the model's description (recorded in the audit trail when it changes)."""
        name = validate_model_name(name)
        actor = validate_actor(actor)
        description = validate_text("description", description, MAX_DESCRIPTION_LENGTH)

        def work(conn: Connection) -> RegisteredModel:
            row = require_model(conn, name, lock=True)
            if row.description != description:
                conn.execute(
                    update(registered_models)
                    .where(registered_models.c.name == name)
                    .values(description=description)
                )
                touch(conn, name)
                old = row.description
                record_change(
                    conn, actor, "update_description", name, field="description", old=old, new=description
                )
            return load_registered_model(conn, name)

        return self._write(work)

    def delete_registered_model(self, name: str, actor: str) -> None:
        """Delete the model with its versions, tags and aliases (the audit trail keeps the history)."""
        name = validate_model_name(name)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            conn.execute(delete(registered_models).where(registered_models.c.name == name))
            record_change(conn, actor, "delete_model", name, field="name", old=name)

        self._write(work)

    def set_registered_model_tag(self, name: str, key: str, value: str, actor: str) -> None:
        """Set or replace a tag on the model."""
        name = validate_model_name(name)
        actor = validate_actor(actor)
        key, value = validate_registry_tag(_TAG_FIELD, key, value)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            old = conn.execute(
                select(registered_model_tags.c.value).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            ).scalar_one_or_none()
            stmt = insert_for(conn, registered_model_tags).values(name=name, key=key, value=value)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "key"], set_={"value": stmt.excluded.value}
                )
            )
            touch(conn, name)
            record_change(conn, actor, "set_tag", name, field=tag_field(key), old=old, new=value)

        self._write(work)

    def delete_registered_model_tag(self, name: str, key: str, actor: str) -> None:
        """Remove a tag from the model; `NotFound` if it has no such tag."""
        name = validate_model_name(name)
        actor = validate_actor(actor)

        def work(conn: Connection) -> None:
            require_model(conn, name, lock=True)
            where = (registered_model_tags.c.name == name, registered_model_tags.c.key == key)
            old = conn.execute(select(registered_model_tags.c.value).where(*where)).scalar_one_or_none()
            if old is None:
                raise NotFound(f"registered model {name!r} has no tag {key!r}")
            conn.execute(delete(registered_model_tags).where(*where))
            touch(conn, name)
            record_change(conn, actor, "delete_tag", name, field=tag_field(key), old=old)

        self._write(work)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models matching MLflow's registered-model filter grammar (name ASC by default)."""
        max_results = validate_max_results(max_results, MAX_RESULTS_SEARCH_REGISTERED_MODELS)
        comparisons = parse_filter(filter_string, REGISTERED_MODEL_SEARCH)
        order_keys = parse_order_by(order_by, REGISTERED_MODEL_SEARCH)
        offset = decode_page_token(page_token)

        def work(conn: Connection) -> tuple[list[RegisteredModel], bool]:
            stmt = select(registered_models.c.name).where(*registered_model_where(comparisons, self.dialect))
            stmt = stmt.order_by(*registered_model_order(order_keys)).offset(offset).limit(max_results + 1)
            names = [row[0] for row in conn.execute(stmt)]
            return load_registered_models(conn, names[:max_results]), len(names) > max_results

        found, more = self._read(work)
        return PagedList(found, encode_page_token(offset + max_results) if more else None)
