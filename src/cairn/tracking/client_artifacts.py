"""The artifact half of TrackingClient: log, list and download files of a run."""

from __future__ import annotations

import posixpath
import tempfile
from abc import abstractmethod
from pathlib import Path
from typing import Any

from cairn.entities import ArtifactInfo
from cairn.errors import NotFound
from cairn.store.protocols import ArtifactStore, TrackingStore
from cairn.tracking import artifact_formats

PROXY_SCHEME = "mlflow-artifacts"


class ArtifactMethods:
    """Artifact logging and retrieval; digests of written files are recorded in the metadata store."""

    tracking_uri: str

    @property
    @abstractmethod
    def store(self) -> TrackingStore:
        """The metadata store."""

    @abstractmethod
    def _artifact_uri(self, run_id: str) -> str: ...

    def artifact_store(self, run_id: str) -> ArtifactStore:
        """The artifact store rooted at the run's artifact URI.

        `mlflow-artifacts:` URIs are reached through the tracking server's artifact proxy; any other
        URI is a store this process reaches directly.
        """
        return artifact_store_at(self._artifact_uri(run_id), self.tracking_uri)

    def log_artifact(self, run_id: str, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Store a local file (or folder, under its own name) in the run's artifacts."""
        path = Path(local_path)
        if not path.exists():
            raise NotFound(f"local_path {str(local_path)!r} does not exist")
        store = self.artifact_store(run_id)
        if path.is_dir():
            target = posixpath.join(artifact_path, path.name) if artifact_path else path.name
            infos = store.log_dir(path, target)
        else:
            infos = [store.log_file(path, artifact_path)]
        self.store.record_artifacts(run_id, infos)

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Store every file under a local folder in the run's artifacts."""
        if not Path(local_dir).is_dir():
            raise NotFound(f"local_dir {str(local_dir)!r} is not a folder")
        self.store.record_artifacts(run_id, self.artifact_store(run_id).log_dir(local_dir, artifact_path))

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> ArtifactInfo:
        """Store bytes as a file in the run's artifacts."""
        info = self.artifact_store(run_id).log_bytes(data, artifact_file)
        self.store.record_artifacts(run_id, [info])
        return info

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store text (UTF-8) as a file in the run's artifacts."""
        self.log_bytes(run_id, text.encode(), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Store a dict as JSON, or YAML when the file ends in .yaml or .yml."""
        self.log_bytes(run_id, artifact_formats.dict_bytes(dictionary, artifact_file), artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Store a matplotlib figure in the format its suffix names."""
        self.log_bytes(run_id, artifact_formats.figure_bytes(figure, artifact_file), artifact_file)

    def log_image(self, run_id: str, image: Any, artifact_file: str) -> None:
        """Store a numpy array or PIL image as an image file."""
        self.log_bytes(run_id, artifact_formats.image_bytes(image, artifact_file), artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Store a DataFrame (or dict of columns) as Parquet or JSON."""
        self.log_bytes(run_id, artifact_formats.table_bytes(data, artifact_file), artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[ArtifactInfo]:
        """The files and folders directly under `path`, with recorded SHA-256 digests for files."""
        listed = self.artifact_store(run_id).list(path)
        records = self.store.get_artifact_records(run_id, path or "")
        return [records.get(info.path, info) if not info.is_dir else info for info in listed]

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | Path | None = None) -> str:
        """Copy a run's artifact file or folder to a local folder (a new temporary one by default)."""
        destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="cairn-"))
        destination.mkdir(parents=True, exist_ok=True)
        return str(self.artifact_store(run_id).download(path or None, destination))


def artifact_store_at(artifact_uri: str, tracking_uri: str) -> ArtifactStore:
    """The artifact store rooted at `artifact_uri`, a location the metadata store handed out.

    `mlflow-artifacts:` URIs are reached through the tracking server's artifact proxy; any other URI is a
    store this process reaches directly.
    """
    if artifact_uri.startswith(f"{PROXY_SCHEME}:"):
        from cairn.store.rest.artifacts import RestArtifactStore

        return RestArtifactStore.from_uri(artifact_uri, tracking_uri)
    from cairn.store.artifacts import artifact_store_for

    return artifact_store_for(artifact_uri)
