"""Reading a stored dataset version back: its manifest, its files in the local cache, a lazy Dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.entities.dataset_version import DatasetStorage, DatasetVersion, DatasetVersionStatus
from cairn.errors import Conflict, InvalidArgument

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from cairn.data.client import DataClient
    from cairn.data.manifest import Manifest
    from cairn.data.sources import SourceFile


def read_manifest(client: DataClient, version: DatasetVersion) -> Manifest:
    """The file list of a version (fetched by digest, so it cannot have been altered)."""
    from cairn.data.manifest import Manifest

    return Manifest.from_json(client.content.read_bytes(version.manifest_digest))


def open_version(client: DataClient, version: DatasetVersion) -> pads.Dataset:
    """A lazy Dataset over the version's files, each checked against the digest recorded for it.

    Copied versions are read from the local blob cache (fetched from the store on first use); referenced
    versions are read where they live, and refused if a file changed since the version was logged.
    """
    if version.status is DatasetVersionStatus.ERASED:
        raise InvalidArgument(
            f"version {version.version} of dataset {version.name!r} was erased; "
            f"read the version that replaced it instead"
        )
    from cairn.data.sources import SourceFile, open_tabular  # noqa: F811

    manifest = read_manifest(client, version)
    if version.storage is DatasetStorage.COPY:
        paths = client.content.fetch_many([f.digest for f in manifest.files])
        files = [
            SourceFile(location=str(paths[f.digest]), name=f.path, size=f.size, format=f.format)
            for f in manifest.files
        ]
    else:
        files = _checked_references(manifest)
    return open_tabular(files)


def _checked_references(manifest: Manifest) -> list[SourceFile]:
    from cairn.data.hash_cache import digest_source_files
    from cairn.data.sources import SourceFile

    files = [
        SourceFile(location=manifest.locations[f.path], name=f.path, size=f.size, format=f.format)
        for f in manifest.files
    ]
    for file, recorded, now in zip(manifest.files, files, digest_source_files(files), strict=True):
        if now != file.digest:
            raise Conflict(
                f"file {recorded.location!r} changed since this version was logged by reference "
                f"(digest {file.digest[:12]} then, {now[:12]} now)"
            )
    return files
