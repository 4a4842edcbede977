"""The manifest of a dataset version: its files with digests, sizes and formats, as canonical JSON bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn._internal.dataset_validation import validate_digest
from cairn.data.digests import bytes_digest
from cairn.errors import InvalidArgument

MANIFEST_VERSION = 1
STORAGE_MODES = ("copy", "reference")


@dataclass(frozen=True)
class DataFile:
    """One file of a version.

    Attributes:
        path: Its name inside the dataset (posix, relative).
        digest: Hex SHA-256 of its bytes: the key of its blob when the version is a copy.
        size: Size in bytes.
        format: `csv`, `parquet` or `jsonl`.
    """

    path: str
    digest: str
    size: int
    format: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not self.path or self.path.startswith("/"):
            raise InvalidArgument(f"manifest file path {self.path!r} must be a non-empty relative path")
        if ".." in self.path.split("/"):
            raise InvalidArgument(f"manifest file path {self.path!r} must not contain '..'")
        validate_digest(self.digest, f"digest of manifest file {self.path!r}")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise InvalidArgument(f"size of manifest file {self.path!r} must be a whole number >= 0")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {"path": self.path, "digest": self.digest, "size": self.size, "format": self.format}


@dataclass(frozen=True)
class Manifest:
    """The files of a dataset version, sorted by path.

    Attributes:
        files: The files; sorted by path on construction, paths unique.
        storage: "copy" (content in the blob store) or "reference" (content left where it was).
        source: Where the data came from (path, URI or in-memory type).
        locations: For "reference" versions, where each file lives, by path.
    """

    files: tuple[DataFile, ...]
    storage: str
    source: str
    locations: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.files, key=lambda f: f.path))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.path == after.path:
                raise InvalidArgument(f"manifest lists file {before.path!r} twice")
        if self.storage not in STORAGE_MODES:
            raise InvalidArgument(f"manifest storage must be 'copy' or 'reference', not {self.storage!r}")
        if self.storage == "reference":
            missing = [f.path for f in ordered if f.path not in self.locations]
            if missing:
                raise InvalidArgument(f"manifest by reference has no location for file {missing[0]!r}")
        object.__setattr__(self, "files", ordered)
        object.__setattr__(self, "locations", dict(sorted(self.locations.items())))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form with a stable key order."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "storage": self.storage,
            "source": self.source,
            "files": [f.to_dict() for f in self.files],
            "locations": dict(self.locations),
        }

    def to_json(self) -> bytes:
        """Canonical UTF-8 JSON: the same manifest always gives the same bytes (and blob digest)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def digest(self) -> str:
        """The hex SHA-256 of `to_json()`: the version's manifest digest."""
        return bytes_digest(self.to_json())

    @property
    def total_size(self) -> int:
        """The files' sizes added up."""
        return sum(f.size for f in self.files)

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse `to_json()` output.

        Raises:
            InvalidArgument: for bytes that are not a manifest, naming what is wrong.
        """
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise InvalidArgument(f"manifest is not valid JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("manifest_version") != MANIFEST_VERSION:
            raise InvalidArgument(f"manifest must be a JSON object with manifest_version {MANIFEST_VERSION}")
        try:
            files = tuple(
                DataFile(path=f["path"], digest=f["digest"], size=f["size"], format=f["format"])
                for f in body["files"]
            )
            return cls(files, body["storage"], body["source"], body.get("locations") or {})
        except (KeyError, TypeError) as exc:
            raise InvalidArgument(f"manifest is missing or mistypes field {exc}") from None
