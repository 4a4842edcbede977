"""Artifact stores: files under a run's artifact root, on a local disk or any fsspec file system."""

from __future__ import annotations

from cairn.store.artifacts.fsspec_store import FsspecArtifactStore
from cairn.store.artifacts.paths import safe_artifact_path
from cairn.store.protocols import ArtifactStore

__all__ = ["FsspecArtifactStore", "artifact_store_for", "safe_artifact_path"]


def artifact_store_for(root_uri: str) -> ArtifactStore:
    """Return the artifact store for a root URI (local path, `file://`, `s3://`, `memory://`, ...).

    The root must come from trusted configuration or from a location the server generated, never
    directly from a client.

    Raises:
        InvalidArgument: for a malformed root or unknown protocol.
        MissingExtra: when the protocol needs an optional package that is not installed.
    """
    return FsspecArtifactStore(root_uri)
