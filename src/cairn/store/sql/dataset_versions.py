"""Dataset-version operations of the SQL store: create (deduplicated), read, list, update, validate, erase.

Version numbers come from the dataset's `next_version` counter, read under the dataset row's lock
(`SELECT ... FOR UPDATE` on PostgreSQL, the database write lock on SQLite): concurrent writers get
distinct numbers, and a writer logging content that another just stored gets that version back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from cairn._internal.clock import now_ms
from cairn._internal.dataset_validation import (
    MAX_ERASURE_CHARS,
    MAX_PII_CHARS,
    MAX_PROFILE_CHARS,
    MAX_REPORT_CHARS,
    MAX_SCHEMA_CHARS,
    MAX_SOURCE_LENGTH,
    MAX_SOURCE_TYPE_LENGTH,
    description_text,
    json_text,
    optional_json_text,
    required_text,
    tags_text,
    validate_count,
    validate_created_by,
    validate_dataset_name,
    validate_digest,
)
from cairn._internal.page_tokens import decode_page_token, encode_page_token
from cairn._internal.registry_validation import validate_version
from cairn._internal.validation import validate_max_results, validate_string_value
from cairn.entities import PagedList
from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionDraft,
    DatasetVersionStatus,
)
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.base import SqlBase
from cairn.store.sql.dataset_loading import (
    dataset_summaries,
    dataset_versions_from_rows,
    load_dataset_version,
    require_dataset,
    require_dataset_version,
)
from cairn.store.sql.dataset_tables import (
    dataset_aliases,
    dataset_names,
    dataset_validations,
    dataset_versions,
)
from cairn.store.sql.search_sql import compare
from cairn.store.sql.upsert import insert_for

MAX_RESULTS_DATASETS = 1000
MAX_RESULTS_DATASET_VERSIONS = 1000
_READY = DatasetVersionStatus.READY.value


def touch(conn: Connection, name: str, version: int | None = None) -> None:
    """Set the last-updated time of the dataset (and of one of its versions)."""
    now = now_ms()
    conn.execute(update(dataset_names).where(dataset_names.c.name == name).values(last_updated_time=now))
    if version is not None:
        conn.execute(
            update(dataset_versions)
            .where(dataset_versions.c.name == name, dataset_versions.c.version == version)
            .values(last_updated_time=now)
        )


def _ready_with_digest(conn: Connection, name: str, digest: str, storage: str) -> int | None:
    """The newest READY version of `name` with this digest and storage, or None."""
    found = conn.execute(
        select(func.max(dataset_versions.c.version)).where(
            dataset_versions.c.name == name,
            dataset_versions.c.digest == digest,
            dataset_versions.c.storage == storage,
            dataset_versions.c.status == _READY,
        )
    ).scalar()
    return None if found is None else int(found)


def _insert_version(conn: Connection, row: dict[str, Any], number: int) -> None:
    """Insert version `number` (read from the locked dataset row) and advance the counter."""
    name, now = row["name"], now_ms()
    changes: dict[str, Any] = {"next_version": number + 1, "last_updated_time": now}
    if row["description"] is not None:
        changes["description"] = row["description"]
    conn.execute(update(dataset_names).where(dataset_names.c.name == name).values(**changes))
    conn.execute(
        dataset_versions.insert().values(
            **row,
            version=number,
            creation_time=now,
            last_updated_time=now,
            status=_READY,
            erasure=None,
        )
    )


def draft_row(draft: DatasetVersionDraft, created_by: str) -> dict[str, Any]:
    """The `dataset_versions` columns of a draft (without number, times and status), every field checked.

    Raises:
        InvalidArgument: naming the first field that is malformed or too large.
    """
    if not isinstance(draft, DatasetVersionDraft):
        raise InvalidArgument(f"draft must be a DatasetVersionDraft, got {type(draft).__name__}")
    derived = draft.derived_from
    if derived is not None and (isinstance(derived, bool) or not isinstance(derived, int) or derived < 1):
        raise InvalidArgument(f"derived_from must be a version number from 1, got {derived!r}")
    return {
        "name": validate_dataset_name(draft.name),
        "digest": validate_digest(draft.digest),
        "row_count": validate_count("row_count", draft.row_count),
        "dataset_schema": json_text("schema", draft.schema, MAX_SCHEMA_CHARS),
        "profile": optional_json_text("profile", draft.profile, MAX_PROFILE_CHARS),
        "source": required_text("source", draft.source, MAX_SOURCE_LENGTH),
        "source_type": required_text("source_type", draft.source_type, MAX_SOURCE_TYPE_LENGTH),
        "storage": DatasetStorage.parse(draft.storage).value,
        "manifest_digest": validate_digest(draft.manifest_digest, "manifest_digest"),
        "file_count": validate_count("file_count", draft.file_count),
        "size_bytes": validate_count("size_bytes", draft.size_bytes),
        "description": None if draft.description is None else description_text(draft.description),
        "tags": tags_text(draft.tags),
        "pii": optional_json_text("pii", draft.pii, MAX_PII_CHARS),
        "derived_from": derived,
        "created_by": validate_created_by(created_by),
    }


class SqlDatasetVersions(SqlBase):
    """Create, find, list, describe, validate and erase dataset versions."""

    def create_dataset_version(
        self, draft: DatasetVersionDraft, created_by: str
    ) -> tuple[DatasetVersion, bool]:
        """Store the draft as the next version (creating the name on first use); True when it is new.

        When a READY version of the name has the same digest and storage, that version comes back with
        False and nothing is written.

        Raises:
            InvalidArgument: naming the first malformed or oversized field of the draft.
            NotFound: `derived_from` names a version the dataset does not have.
        """
        row = draft_row(draft, created_by)
        name = row["name"]

        def work(conn: Connection) -> tuple[DatasetVersion, bool]:
            now = now_ms()
            conn.execute(
                insert_for(conn, dataset_names)
                .values(
                    name=name,
                    description=row["description"],
                    creation_time=now,
                    last_updated_time=now,
                    next_version=1,
                )
                .on_conflict_do_nothing(index_elements=["name"])
            )
            head = require_dataset(conn, name, lock=True)
            existing = _ready_with_digest(conn, name, row["digest"], row["storage"])
            if existing is not None:
                return load_dataset_version(conn, name, existing), False
            if row["derived_from"] is not None:
                require_dataset_version(conn, name, row["derived_from"])
            number = int(head.next_version)
            _insert_version(conn, row, number)
            return load_dataset_version(conn, name, number), True

        return self._write(work)

    def find_dataset_version(self, name: str, digest: str, storage: DatasetStorage) -> DatasetVersion | None:
        """The newest READY version with this digest and storage, or None (also for an unknown name)."""
        name = validate_dataset_name(name)
        digest = validate_digest(digest)
        mode = DatasetStorage.parse(storage).value

        def work(conn: Connection) -> DatasetVersion | None:
            number = _ready_with_digest(conn, name, digest, mode)
            return None if number is None else load_dataset_version(conn, name, number)

        return self._read(work)

    def get_dataset_version(self, name: str, version: int) -> DatasetVersion:
        """The version; `NotFound` naming dataset and version if absent."""
        name = validate_dataset_name(name)
        number = validate_version(version)

        def work(conn: Connection) -> DatasetVersion:
            require_dataset(conn, name)
            return load_dataset_version(conn, name, number)

        return self._read(work)

    def latest_dataset_version(self, name: str) -> DatasetVersion:
        """The highest READY version; `NotFound` naming the dataset if there is none."""
        name = validate_dataset_name(name)

        def work(conn: Connection) -> DatasetVersion:
            require_dataset(conn, name)
            number = conn.execute(
                select(func.max(dataset_versions.c.version)).where(
                    dataset_versions.c.name == name, dataset_versions.c.status == _READY
                )
            ).scalar()
            if number is None:
                raise NotFound(f"dataset {name!r} has no READY version")
            return load_dataset_version(conn, name, int(number))

        return self._read(work)

    def search_dataset_versions(
        self, name: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[DatasetVersion]:
        """One page of the dataset's versions (erased ones too), newest first; `NotFound` if unknown."""
        name = validate_dataset_name(name)
        max_results = validate_max_results(max_results, MAX_RESULTS_DATASET_VERSIONS)
        offset = decode_page_token(page_token)

        def work(conn: Connection) -> list[DatasetVersion]:
            require_dataset(conn, name)
            rows = conn.execute(
                select(dataset_versions)
                .where(dataset_versions.c.name == name)
                .order_by(dataset_versions.c.version.desc())
                .offset(offset)
                .limit(max_results + 1)
            ).all()
            return dataset_versions_from_rows(conn, rows)

        found = self._read(work)
        more = len(found) > max_results
        return PagedList(found[:max_results], encode_page_token(offset + max_results) if more else None)

    def search_datasets(
        self, max_results: int = 100, page_token: str | None = None, name_like: str | None = None
    ) -> PagedList[DatasetSummary]:
        """One page of datasets by name (ascending), optionally matching a case-sensitive LIKE pattern."""
        max_results = validate_max_results(max_results, MAX_RESULTS_DATASETS)
        offset = decode_page_token(page_token)
        if name_like is not None:
            if not isinstance(name_like, str):
                raise InvalidArgument(f"name_like must be a string, got {type(name_like).__name__}")
            name_like = validate_string_value("name_like", name_like, 1000)

        def work(conn: Connection) -> list[DatasetSummary]:
            stmt = select(dataset_names.c.name)
            if name_like is not None:
                stmt = stmt.where(compare(dataset_names.c.name, "LIKE", name_like, self.dialect))
            stmt = stmt.order_by(dataset_names.c.name).offset(offset).limit(max_results + 1)
            return dataset_summaries(conn, list(conn.execute(stmt).scalars()))

        found = self._read(work)
        more = len(found) > max_results
        return PagedList(found[:max_results], encode_page_token(offset + max_results) if more else None)

    def update_dataset_version(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        pii: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> DatasetVersion:
        """Replace the fields given (not None) and return the version."""
        name = validate_dataset_name(name)
        number = validate_version(version)
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description_text(description)
        if pii is not None:
            changes["pii"] = json_text("pii", pii, MAX_PII_CHARS)
        if tags is not None:
            changes["tags"] = tags_text(tags)

        def work(conn: Connection) -> DatasetVersion:
            require_dataset(conn, name, lock=True)
            require_dataset_version(conn, name, number)
            if changes:
                conn.execute(
                    update(dataset_versions)
                    .where(dataset_versions.c.name == name, dataset_versions.c.version == number)
                    .values(**changes)
                )
                touch(conn, name, number)
            return load_dataset_version(conn, name, number)

        return self._write(work)

    def add_dataset_validation(self, name: str, version: int, report: dict[str, Any]) -> None:
        """Append a validation report (a JSON object) to the version."""
        name = validate_dataset_name(name)
        number = validate_version(version)
        text = json_text("report", report, MAX_REPORT_CHARS)

        def work(conn: Connection) -> None:
            require_dataset(conn, name, lock=True)
            require_dataset_version(conn, name, number)
            last = conn.execute(
                select(func.max(dataset_validations.c.seq)).where(
                    dataset_validations.c.name == name, dataset_validations.c.version == number
                )
            ).scalar()
            conn.execute(
                dataset_validations.insert().values(
                    name=name, version=number, seq=int(last or 0) + 1, report=text, time=now_ms()
                )
            )
            touch(conn, name, number)

        self._write(work)

    def mark_dataset_version_erased(self, name: str, version: int, erasure: dict[str, Any]) -> DatasetVersion:
        """Set the version ERASED with this erasure record, removing the aliases that point at it.

        The version's profile, PII findings and validation reports go too: their top values and examples
        can hold the very rows being erased. Marking an erased version again replaces its erasure record
        (for example once its content is purged).
        """
        name = validate_dataset_name(name)
        number = validate_version(version)
        text = json_text("erasure", erasure, MAX_ERASURE_CHARS)

        def work(conn: Connection) -> DatasetVersion:
            require_dataset(conn, name, lock=True)
            require_dataset_version(conn, name, number)
            conn.execute(
                update(dataset_versions)
                .where(dataset_versions.c.name == name, dataset_versions.c.version == number)
                .values(status=DatasetVersionStatus.ERASED.value, erasure=text, profile=None, pii=None)
            )
            conn.execute(
                delete(dataset_validations).where(
                    dataset_validations.c.name == name, dataset_validations.c.version == number
                )
            )
            conn.execute(
                delete(dataset_aliases).where(
                    dataset_aliases.c.name == name, dataset_aliases.c.version == number
                )
            )
            touch(conn, name, number)
            return load_dataset_version(conn, name, number)

        return self._write(work)
