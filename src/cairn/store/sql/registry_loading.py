"""Reading registry rows into entities, and the existence checks every registry operation starts with."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select, tuple_

from cairn.entities.registry import ModelStage, ModelVersion, ModelVersionStatus, RegisteredModel
from cairn.errors import NotFound
from cairn.store.sql.registry_tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
)

_CHUNK = 400  # keys per IN list, well under SQLite's bound-parameter limit
_STAGE_ORDER = {stage.value: index for index, stage in enumerate(ModelStage)}
VersionKey = tuple[str, int]


def require_model(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    """The model's row; with `lock`, held until commit so that concurrent changes to it queue up.

    Raises:
        NotFound: naming the model.
    """
    stmt = select(registered_models).where(registered_models.c.name == name)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(f"registered model {name!r} does not exist")
    return row


def require_version(conn: Connection, name: str, version: int) -> Row[Any]:
    """The version's row.

    Raises:
        NotFound: naming the model and the version.
    """
    row = conn.execute(
        select(model_versions).where(model_versions.c.name == name, model_versions.c.version == version)
    ).first()
    if row is None:
        raise NotFound(f"registered model {name!r} has no version {version}")
    return row


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def versions_from_rows(conn: Connection, rows: Sequence[Row[Any]]) -> list[ModelVersion]:
    """Turn `model_versions` rows into entities with their tags and aliases, keeping the order."""
    keys: list[VersionKey] = list(dict.fromkeys((row.name, row.version) for row in rows))
    tags: dict[VersionKey, dict[str, str]] = {}
    aliases: dict[VersionKey, list[str]] = {}
    for chunk in _chunks(keys):
        tag_rows = conn.execute(
            select(model_version_tags).where(
                tuple_(model_version_tags.c.name, model_version_tags.c.version).in_(chunk)
            )
        )
        for tag in tag_rows:
            tags.setdefault((tag.name, tag.version), {})[tag.key] = tag.value
        alias_rows = conn.execute(
            select(registered_model_aliases).where(
                tuple_(registered_model_aliases.c.name, registered_model_aliases.c.version).in_(chunk)
            )
        )
        for alias in alias_rows:
            aliases.setdefault((alias.name, alias.version), []).append(alias.alias)
    return [
        ModelVersion(
            name=row.name,
            version=row.version,
            creation_time=row.creation_time,
            last_updated_time=row.last_updated_time,
            source=row.source,
            user_id=row.user_id,
            description=row.description,
            run_id=row.run_id,
            model_id=row.model_id,
            status=ModelVersionStatus(row.status),
            status_message=row.status_message,
            run_link=row.run_link,
            stage=ModelStage(row.stage),
            tags=tags.get((row.name, row.version), {}),
            aliases=tuple(sorted(aliases.get((row.name, row.version), []))),
        )
        for row in rows
    ]


def load_version(conn: Connection, name: str, version: int) -> ModelVersion:
    """One version with its tags and aliases; `NotFound` naming model and version."""
    return versions_from_rows(conn, [require_version(conn, name, version)])[0]


def latest_versions(conn: Connection, names: Sequence[str]) -> dict[str, list[ModelVersion]]:
    """The newest version in each stage, per model, in stage order (None, Staging, Production, Archived)."""
    found: dict[str, list[ModelVersion]] = {}
    for chunk in _chunks(list(names)):
        newest = (
            select(model_versions.c.name, func.max(model_versions.c.version).label("version"))
            .where(model_versions.c.name.in_(chunk))
            .group_by(model_versions.c.name, model_versions.c.stage)
            .subquery()
        )
        rows = conn.execute(
            select(model_versions).join(
                newest,
                and_(model_versions.c.name == newest.c.name, model_versions.c.version == newest.c.version),
            )
        ).all()
        for version in versions_from_rows(conn, rows):
            found.setdefault(version.name, []).append(version)
    for versions in found.values():
        versions.sort(key=lambda v: _STAGE_ORDER[v.stage.value])
    return found


def load_registered_models(conn: Connection, names: Sequence[str]) -> list[RegisteredModel]:
    """Models with tags, aliases and latest versions, in the order of `names` (unknown names skipped)."""
    rows: dict[str, Row[Any]] = {}
    tags: dict[str, dict[str, str]] = {}
    aliases: dict[str, dict[str, int]] = {}
    for chunk in _chunks(list(names)):
        for row in conn.execute(select(registered_models).where(registered_models.c.name.in_(chunk))):
            rows[row.name] = row
        for tag in conn.execute(select(registered_model_tags).where(registered_model_tags.c.name.in_(chunk))):
            tags.setdefault(tag.name, {})[tag.key] = tag.value
        alias_rows = conn.execute(
            select(registered_model_aliases).where(registered_model_aliases.c.name.in_(chunk))
        )
        for alias in alias_rows:
            aliases.setdefault(alias.name, {})[alias.alias] = alias.version
    latest = latest_versions(conn, list(rows))
    return [
        RegisteredModel(
            name=name,
            creation_time=rows[name].creation_time,
            last_updated_time=rows[name].last_updated_time,
            user_id=rows[name].user_id,
            description=rows[name].description,
            tags=tags.get(name, {}),
            aliases=dict(sorted(aliases.get(name, {}).items())),
            latest_versions=tuple(latest.get(name, [])),
        )
        for name in names
        if name in rows
    ]


def load_registered_model(conn: Connection, name: str) -> RegisteredModel:
    """One model; `NotFound` naming it."""
    found = load_registered_models(conn, [name])
    if not found:
        raise NotFound(f"registered model {name!r} does not exist")
    return found[0]
