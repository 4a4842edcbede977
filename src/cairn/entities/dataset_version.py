"""Dataset version entities: what a client submits, what the store keeps, and one line per dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cairn.errors import InvalidArgument


class DatasetStorage(StrEnum):
    """How a version's files are kept: copied into the content store, or referenced where they are."""

    COPY = "copy"
    REFERENCE = "reference"

    @classmethod
    def parse(cls, value: object) -> DatasetStorage:
        """The storage mode named by `value`; `InvalidArgument` naming the field otherwise."""
        if isinstance(value, str):
            for mode in cls:
                if mode.value == value:
                    return mode
        raise InvalidArgument(f"storage must be 'copy' or 'reference', got {value!r}")


class DatasetVersionStatus(StrEnum):
    """Whether a version's content is usable, or was erased (rows removed into a newer version)."""

    READY = "READY"
    ERASED = "ERASED"


@dataclass(frozen=True, kw_only=True)
class DatasetVersionDraft:
    """A dataset version as a client submits it; the store adds the number, the author and the time.

    Attributes:
        name: The dataset's name (1-256 characters, no `/` or control characters).
        digest: SHA-256 of the content, 64 lower-case hex digits; independent of file names and order.
        row_count: Rows in the version.
        schema: The schema as a JSON object.
        profile: The profile as a JSON object, or None when none was computed.
        source: Where the data came from (a path, a URI, or a description of an in-memory frame).
        source_type: What kind of source it was (`pandas`, `parquet`, `folder`, ...).
        storage: Copied into the content store, or recorded by reference only.
        manifest_digest: Digest of the blob holding the file manifest (64 hex digits).
        file_count: Files in the manifest.
        size_bytes: Total size of those files.
        description: Free text, or None.
        tags: Key/value labels.
        pii: The PII scan's findings as a JSON object, or None when no scan ran.
        derived_from: The version of the same dataset this one was derived from (for example by erasure).
    """

    name: str
    digest: str
    row_count: int
    schema: dict[str, Any]
    profile: dict[str, Any] | None
    source: str
    source_type: str
    storage: DatasetStorage
    manifest_digest: str
    file_count: int
    size_bytes: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    pii: dict[str, Any] | None = None
    derived_from: int | None = None


@dataclass(frozen=True, kw_only=True)
class DatasetVersion(DatasetVersionDraft):
    """One numbered, stored version of a dataset: its draft's attributes, plus what the store added.

    Attributes:
        version: The number, from 1 per dataset name, never reused.
        created_by: The user who logged it.
        creation_time: When it was logged, in milliseconds since the epoch.
        aliases: Aliases currently pointing at it, sorted.
        status: READY, or ERASED once its rows were erased into a newer version.
        validations: Validation reports stored on it, oldest first.
        erasure: What the erasure recorded (set when ERASED), else None.
    """

    version: int
    created_by: str
    creation_time: int
    aliases: tuple[str, ...] = ()
    status: DatasetVersionStatus = DatasetVersionStatus.READY
    validations: tuple[dict[str, Any], ...] = ()
    erasure: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class DatasetSummary:
    """One dataset as listed: its name, times, newest usable version and aliases.

    Attributes:
        description: The description of the most recently logged version that had one, or None.
        latest_version: The highest READY version (0 when every version was erased).
        aliases: Alias name -> version number.
    """

    name: str
    description: str | None
    creation_time: int
    last_updated_time: int
    latest_version: int
    aliases: dict[str, int] = field(default_factory=dict)
