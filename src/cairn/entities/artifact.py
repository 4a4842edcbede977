"""The ArtifactInfo entity: one file or folder under a run's artifact root."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArtifactInfo:
    """A file or folder in an artifact store, with its size and digest when it is a file.

    Attributes:
        path: Path relative to the run's artifact root, with forward slashes.
        is_dir: True for a folder.
        file_size: Size in bytes; None for a folder.
        sha256: Hex SHA-256 of the content when it was recorded at write time; None for a folder.
    """

    path: str
    is_dir: bool
    file_size: int | None = None
    sha256: str | None = None
