"""Compiling registry and logged-model searches into SQLAlchemy clauses with bound parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, literal, select

from cairn.entities.registry import LoggedModelStatus
from cairn.errors import InvalidArgument
from cairn.store.search import LOGGED_MODEL_SEARCH, Comparison, Entity, OrderKey
from cairn.store.sql.registry_tables import (
    logged_model_params,
    logged_model_tags,
    logged_models,
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)
from cairn.store.sql.search_sql import compare

_MODEL_COLUMNS: dict[str, Any] = {
    "name": registered_models.c.name,
    "creation_timestamp": registered_models.c.creation_time,
    "last_updated_timestamp": registered_models.c.last_updated_time,
}
_VERSION_COLUMNS: dict[str, Any] = {
    "name": model_versions.c.name,
    "run_id": model_versions.c.run_id,
    "source_path": model_versions.c.source,
    "version_number": model_versions.c.version,
    "creation_timestamp": model_versions.c.creation_time,
    "last_updated_timestamp": model_versions.c.last_updated_time,
}
_LOGGED_MODEL_COLUMNS: dict[str, Any] = {
    "name": logged_models.c.name,
    "model_id": logged_models.c.model_id,
    "model_type": logged_models.c.model_type,
    "status": logged_models.c.status,
    "source_run_id": logged_models.c.source_run_id,
    "creation_timestamp": logged_models.c.creation_time,
    "last_updated_timestamp": logged_models.c.last_updated_time,
}
_STATUS_SHORT_NAMES = {
    status.value.removeprefix("LOGGED_MODEL_"): status.value for status in LoggedModelStatus
}


def _attribute(columns: dict[str, Any], comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    column = columns.get(comparison.key.name)
    if column is None:
        raise InvalidArgument(f"attribute {comparison.key.name!r} cannot be searched here")
    return compare(column, comparison.op, comparison.value, dialect)


def _ordered(column: Any, ascending: bool) -> Any:
    return column.asc() if ascending else column.desc()


def registered_model_where(comparisons: Sequence[Comparison], dialect: str) -> list[ColumnElement[bool]]:
    """WHERE clauses for a registered-model search: `name` and `tags.<key>` comparisons."""
    clauses: list[ColumnElement[bool]] = []
    for comparison in comparisons:
        if comparison.key.entity is Entity.TAG:
            matching = select(registered_model_tags.c.name).where(
                registered_model_tags.c.key == comparison.key.name,
                compare(registered_model_tags.c.value, comparison.op, comparison.value, dialect),
            )
            clauses.append(registered_models.c.name.in_(matching))
        else:
            clauses.append(_attribute(_MODEL_COLUMNS, comparison, dialect))
    return clauses


def registered_model_order(order_keys: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY for a registered-model search: as asked, then name ASC (the default on its own)."""
    clauses = [_ordered(_MODEL_COLUMNS[o.key.name], o.ascending) for o in order_keys]
    if not any(o.key.name == "name" for o in order_keys):
        clauses.append(registered_models.c.name.asc())
    return clauses


def model_version_where(comparisons: Sequence[Comparison], dialect: str) -> list[ColumnElement[bool]]:
    """WHERE clauses for a model-version search: attributes and `tags.<key>` comparisons."""
    clauses: list[ColumnElement[bool]] = []
    for comparison in comparisons:
        if comparison.key.entity is Entity.TAG:
            tagged = select(literal(1)).where(
                model_version_tags.c.name == model_versions.c.name,
                model_version_tags.c.version == model_versions.c.version,
                model_version_tags.c.key == comparison.key.name,
                compare(model_version_tags.c.value, comparison.op, comparison.value, dialect),
            )
            clauses.append(tagged.exists())
        else:
            clauses.append(_attribute(_VERSION_COLUMNS, comparison, dialect))
    return clauses


def model_version_order(order_keys: Sequence[OrderKey]) -> list[Any]:
    """ORDER BY for a model-version search: as asked, then name ASC and version_number DESC."""
    clauses = [_ordered(_VERSION_COLUMNS[o.key.name], o.ascending) for o in order_keys]
    named = {o.key.name for o in order_keys}
    if "name" not in named:
        clauses.append(model_versions.c.name.asc())
    if "version_number" not in named:
        clauses.append(model_versions.c.version.desc())
    return clauses


def _keyed_exists(table: Table, comparison: Comparison, dialect: str) -> ColumnElement[bool]:
    matching = select(literal(1)).where(
        table.c.model_id == logged_models.c.model_id,
        table.c.key == comparison.key.name,
        compare(table.c.value, comparison.op, comparison.value, dialect),
    )
    return matching.exists()


def _status_value(value: Any) -> Any:
    """Accept MLflow's short status names (`READY`) as well as the stored ones (`LOGGED_MODEL_READY`)."""
    if isinstance(value, tuple):
        return tuple(_STATUS_SHORT_NAMES.get(v.upper(), v) for v in value)
    return _STATUS_SHORT_NAMES.get(str(value).upper(), value)


def logged_model_where(comparisons: Sequence[Comparison], dialect: str) -> list[ColumnElement[bool]]:
    """WHERE clauses for a logged-model search: attributes, `params.<key>` and `tags.<key>`."""
    clauses: list[ColumnElement[bool]] = []
    for comparison in comparisons:
        entity = comparison.key.entity
        if entity is Entity.TAG:
            clauses.append(_keyed_exists(logged_model_tags, comparison, dialect))
        elif entity is Entity.PARAM:
            clauses.append(_keyed_exists(logged_model_params, comparison, dialect))
        elif comparison.key.name == "status" and comparison.op in ("=", "!=", "IN", "NOT IN"):
            value = _status_value(comparison.value)
            clauses.append(compare(logged_models.c.status, comparison.op, value, dialect))
        else:
            clauses.append(_attribute(_LOGGED_MODEL_COLUMNS, comparison, dialect))
    return clauses


def logged_model_order(order_by: Sequence[tuple[str, bool]] | None) -> list[Any]:
    """ORDER BY for a logged-model search from (field, ascending) pairs; newest first by default.

    Raises:
        InvalidArgument: naming a field that is not an orderable attribute.
    """
    rules = LOGGED_MODEL_SEARCH.entities[Entity.ATTRIBUTE]
    clauses: list[Any] = []
    named: set[str] = set()
    for pair in order_by or ():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidArgument(f"order_by entries must be (field, ascending) pairs, got {pair!r}")
        field, ascending = pair
        found = rules.lookup(field.removeprefix("attributes.")) if isinstance(field, str) else None
        if found is None:
            valid = ", ".join(rules.field_names(orderable_only=True))
            raise InvalidArgument(f"cannot order logged models by {field!r}; valid fields: {valid}")
        if not isinstance(ascending, bool):
            raise InvalidArgument(f"order_by {field!r}: ascending must be True or False, got {ascending!r}")
        named.add(found[0])
        clauses.append(_ordered(_LOGGED_MODEL_COLUMNS[found[0]], ascending))
    if not clauses:
        clauses.append(logged_models.c.creation_time.desc())
    if "model_id" not in named:
        clauses.append(logged_models.c.model_id.asc())
    return clauses
