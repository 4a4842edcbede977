"""Aliases of datasets: named, movable pointers (`golden`, `latest-clean`) to READY versions."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from cairn._internal.dataset_validation import validate_dataset_name
from cairn._internal.registry_validation import validate_alias, validate_version
from cairn.entities.dataset_version import DatasetVersion, DatasetVersionStatus
from cairn.errors import Conflict, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.dataset_loading import load_dataset_version, require_dataset, require_dataset_version
from cairn.store.sql.dataset_tables import dataset_aliases
from cairn.store.sql.dataset_versions import touch
from cairn.store.sql.upsert import insert_for


def _aliased_version(conn: Connection, name: str, alias: str) -> int | None:
    found = conn.execute(
        select(dataset_aliases.c.version).where(
            dataset_aliases.c.name == name, dataset_aliases.c.alias == alias
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


class SqlDatasetAliases(SqlBase):
    """Set, move, delete and resolve dataset aliases."""

    def set_dataset_alias(self, name: str, alias: str, version: int) -> None:
        """Point the alias at the version, moving it if set.

        Raises:
            InvalidArgument: the alias is malformed or reserved (`latest`, `v<digits>`).
            NotFound: the dataset or the version does not exist.
            Conflict: the version is ERASED.
        """
        name = validate_dataset_name(name)
        alias = validate_alias(alias)
        number = validate_version(version)

        def work(conn: Connection) -> None:
            require_dataset(conn, name, lock=True)
            row = require_dataset_version(conn, name, number)
            if row.status != DatasetVersionStatus.READY.value:
                raise Conflict(f"version {number} of dataset {name!r} is {row.status} and cannot be aliased")
            if _aliased_version(conn, name, alias) == number:
                return
            stmt = insert_for(conn, dataset_aliases).values(name=name, alias=alias, version=number)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name", "alias"], set_={"version": stmt.excluded.version}
                )
            )
            touch(conn, name)

        self._write(work)

    def delete_dataset_alias(self, name: str, alias: str) -> None:
        """Remove the alias; `NotFound` naming dataset and alias if it is not set."""
        name = validate_dataset_name(name)
        alias = validate_alias(alias)

        def work(conn: Connection) -> None:
            require_dataset(conn, name, lock=True)
            if _aliased_version(conn, name, alias) is None:
                raise NotFound(f"dataset {name!r} has no alias {alias!r}")
            conn.execute(
                delete(dataset_aliases).where(
                    dataset_aliases.c.name == name, dataset_aliases.c.alias == alias
                )
            )
            touch(conn, name)

        self._write(work)

    def get_dataset_version_by_alias(self, name: str, alias: str) -> DatasetVersion:
        """The version the alias points at.

        Raises:
            NotFound: naming the dataset, or the dataset and the alias.
        """
        name = validate_dataset_name(name)
        alias = validate_alias(alias)

        def work(conn: Connection) -> DatasetVersion:
            require_dataset(conn, name)
            number = _aliased_version(conn, name, alias)
            if number is None:
                raise NotFound(f"dataset {name!r} has no alias {alias!r}")
            return load_dataset_version(conn, name, number)

        return self._read(work)
