"""The small protocols a dataset back end implements: versions, aliases, content blobs and lineage.

`SqlStore` and `RestStore` implement all four (`DataStore`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from cairn.entities import PagedList
from cairn.entities.dataset_version import (
    DatasetStorage,
    DatasetSummary,
    DatasetVersion,
    DatasetVersionDraft,
)


class DatasetVersionStore(Protocol):
    """Create, find, change and list dataset versions."""

    def create_dataset_version(
        self, draft: DatasetVersionDraft, created_by: str
    ) -> tuple[DatasetVersion, bool]:
        """Store the draft as the next version (creating the name on first use); True when it is new.

        When a READY version of the name has the same digest and storage, that version comes back with
        False and nothing is written.
        """
        ...

    def find_dataset_version(self, name: str, digest: str, storage: DatasetStorage) -> DatasetVersion | None:
        """The newest READY version with this digest and storage, or None (also for an unknown name)."""
        ...

    def get_dataset_version(self, name: str, version: int) -> DatasetVersion:
        """The version; `NotFound` naming dataset and version if absent."""
        ...

    def latest_dataset_version(self, name: str) -> DatasetVersion:
        """The highest READY version; `NotFound` naming the dataset if there is none."""
        ...

    def search_dataset_versions(
        self, name: str, max_results: int = 100, page_token: str | None = None
    ) -> PagedList[DatasetVersion]:
        """One page of the dataset's versions, newest first; `NotFound` for an unknown dataset."""
        ...

    def search_datasets(
        self, max_results: int = 100, page_token: str | None = None, name_like: str | None = None
    ) -> PagedList[DatasetSummary]:
        """One page of datasets by name, optionally those matching a case-sensitive LIKE pattern."""
        ...

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
        ...

    def add_dataset_validation(self, name: str, version: int, report: dict[str, Any]) -> None:
        """Append a validation report to the version."""
        ...

    def mark_dataset_version_erased(self, name: str, version: int, erasure: dict[str, Any]) -> DatasetVersion:
        """Set the version ERASED with this erasure record, removing the aliases that point at it."""
        ...


class DatasetAliasStore(Protocol):
    """Named, movable pointers to dataset versions (`golden`, `latest-clean`)."""

    def set_dataset_alias(self, name: str, alias: str, version: int) -> None:
        """Point the alias at a READY version (moving it if set); reserved names are refused."""
        ...

    def delete_dataset_alias(self, name: str, alias: str) -> None:
        """Remove the alias; `NotFound` naming dataset and alias if it is not set."""
        ...

    def get_dataset_version_by_alias(self, name: str, alias: str) -> DatasetVersion:
        """The version the alias points at; `NotFound` naming dataset and alias otherwise."""
        ...


class DatasetBlobStore(Protocol):
    """Bookkeeping of the content-addressed blobs holding dataset files, checked in batches."""

    def missing_dataset_blobs(self, digests: Sequence[str]) -> set[str]:
        """The digests among these that are not recorded as stored."""
        ...

    def record_dataset_blobs(self, blobs: Sequence[tuple[str, int]]) -> None:
        """Record (digest, size) pairs as stored; recording one again changes nothing."""
        ...

    def forget_dataset_blobs(self, digests: Sequence[str]) -> None:
        """Drop these digests from the record (after their blobs were purged); unknown ones are ignored."""
        ...

    def dataset_artifact_root(self) -> str:
        """The artifact URI under which dataset blobs are stored."""
        ...


class DatasetLineageStore(Protocol):
    """Which runs used a dataset version."""

    def runs_using_dataset(self, name: str, digest_prefix: str) -> list[str]:
        """Ids (sorted) of runs that logged an input with this dataset name and digest; [] when none."""
        ...


class DataStore(DatasetVersionStore, DatasetAliasStore, DatasetBlobStore, DatasetLineageStore, Protocol):
    """Everything the data client needs from a metadata back end."""
