"""The small interface FsspecArtifactStore needs from a local or remote file system."""

from __future__ import annotations

from typing import BinaryIO, Literal, Protocol

from cairn.entities import ArtifactInfo
from cairn.store.artifacts.digest import Digest

Kind = Literal["file", "dir"]


class ArtifactBackend(Protocol):
    """Operations on canonical keys (already checked by `safe_artifact_path`; "" is the root)."""

    def write(self, key: str, source: BinaryIO) -> Digest:
        """Atomically store the stream as file `key`, creating folders as needed."""
        ...

    def kind(self, key: str) -> Kind | None:
        """Say whether `key` is a file, a folder, or absent."""
        ...

    def children(self, key: str) -> list[ArtifactInfo]:
        """List direct children of folder `key`, sorted; [] for a file or a missing folder."""
        ...

    def files_under(self, key: str) -> list[str]:
        """Return the keys of every file below folder `key`, sorted; refuse unsafe entries."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open file `key` for reading; `NotFound` if it is absent or a folder."""
        ...

    def delete(self, key: str) -> None:
        """Remove file or folder `key` (everything when "" ); absent is not an error."""
        ...
