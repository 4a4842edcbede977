"""Reading dataset rows into entities, and the existence checks every dataset operation starts with."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select, tuple_

from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionStatus,
)
from cairn.errors import NotFound
from cairn.store.sql.dataset_tables import (
    dataset_aliases,
    dataset_names,
    dataset_validations,
    dataset_versions,
)

_CHUNK = 400  # keys per IN list, well under SQLite's bound-parameter limit
VersionKey = tuple[str, int]


def require_dataset(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    """The dataset's row; with `lock`, held until commit so that concurrent changes to it queue up.

    Raises:
        NotFound: naming the dataset.
    """
    stmt = select(dataset_names).where(dataset_names.c.name == name)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise NotFound(f"dataset {name!r} does not exist")
    return row


def require_dataset_version(conn: Connection, name: str, version: int) -> Row[Any]:
    """The version's row.

    Raises:
        NotFound: naming the dataset and the version.
    """
    row = conn.execute(
        select(dataset_versions).where(dataset_versions.c.name == name, dataset_versions.c.version == version)
    ).first()
    if row is None:
        raise NotFound(f"dataset {name!r} has no version {version}")
    return row


def load_dataset_version(conn: Connection, name: str, version: int) -> DatasetVersion:
    """The version as an entity, with its aliases and validation reports."""
    return dataset_versions_from_rows(conn, [require_dataset_version(conn, name, version)])[0]


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def dataset_versions_from_rows(conn: Connection, rows: Sequence[Row[Any]]) -> list[DatasetVersion]:
    """Turn `dataset_versions` rows into entities with their aliases and validations, keeping the order."""
    keys: list[VersionKey] = list(dict.fromkeys((row.name, row.version) for row in rows))
    aliases: dict[VersionKey, list[str]] = {}
    reports: dict[VersionKey, list[dict[str, Any]]] = {}
    for chunk in _chunks(keys):
        alias_rows = conn.execute(
            select(dataset_aliases)
            .where(tuple_(dataset_aliases.c.name, dataset_aliases.c.version).in_(chunk))
            .order_by(dataset_aliases.c.alias)
        )
        for alias in alias_rows:
            aliases.setdefault((alias.name, alias.version), []).append(alias.alias)
        report_rows = conn.execute(
            select(dataset_validations)
            .where(tuple_(dataset_validations.c.name, dataset_validations.c.version).in_(chunk))
            .order_by(dataset_validations.c.seq)
        )
        for report in report_rows:
            reports.setdefault((report.name, report.version), []).append(json.loads(report.report))
    return [
        _version_from_row(
            row,
            tuple(aliases.get((row.name, row.version), ())),
            tuple(reports.get((row.name, row.version), ())),
        )
        for row in rows
    ]


def _version_from_row(
    row: Row[Any], aliases: tuple[str, ...], validations: tuple[dict[str, Any], ...]
) -> DatasetVersion:
    return DatasetVersion(
        name=row.name,
        version=row.version,
        digest=row.digest,
        row_count=row.row_count,
        schema=json.loads(row.dataset_schema),
        profile=_optional_json(row.profile),
        source=row.source,
        source_type=row.source_type,
        storage=DatasetStorage(row.storage),
        manifest_digest=row.manifest_digest,
        file_count=row.file_count,
        size_bytes=row.size_bytes,
        created_by=row.created_by,
        creation_time=row.creation_time,
        description=row.description,
        tags=json.loads(row.tags),
        pii=_optional_json(row.pii),
        derived_from=row.derived_from,
        aliases=aliases,
        status=DatasetVersionStatus(row.status),
        validations=validations,
        erasure=_optional_json(row.erasure),
    )


def _optional_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def dataset_summaries(conn: Connection, names: Sequence[str]) -> list[DatasetSummary]:
    """Summaries of these datasets (which must exist), in the order given."""
    rows: dict[str, Row[Any]] = {}
    latest: dict[str, int] = {}
    aliases: dict[str, dict[str, int]] = {}
    for chunk in _chunks(list(names)):
        rows.update(
            (row.name, row)
            for row in conn.execute(select(dataset_names).where(dataset_names.c.name.in_(chunk)))
        )
        ready = conn.execute(
            select(dataset_versions.c.name, func.max(dataset_versions.c.version))
            .where(
                dataset_versions.c.name.in_(chunk),
                dataset_versions.c.status == DatasetVersionStatus.READY.value,
            )
            .group_by(dataset_versions.c.name)
        )
        latest.update((name, int(number)) for name, number in ready)
        alias_rows = conn.execute(
            select(dataset_aliases).where(dataset_aliases.c.name.in_(chunk)).order_by(dataset_aliases.c.alias)
        )
        for alias in alias_rows:
            aliases.setdefault(alias.name, {})[alias.alias] = alias.version
    return [
        DatasetSummary(
            name=name,
            description=rows[name].description,
            creation_time=rows[name].creation_time,
            last_updated_time=rows[name].last_updated_time,
            latest_version=latest.get(name, 0),
            aliases=aliases.get(name, {}),
        )
        for name in names
    ]
