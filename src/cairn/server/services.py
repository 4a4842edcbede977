"""What every route needs: the metadata store and the artifact destination, injected per app."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cairn.errors import InvalidArgument, NotFound
from cairn.server.config import MLFLOW_ARTIFACTS_SCHEME, ServerConfig
from cairn.store.artifacts import FsspecArtifactStore, safe_artifact_path
from cairn.store.protocols import ArtifactStore, TrackingStore

PROXY_ROOT = f"{MLFLOW_ARTIFACTS_SCHEME}:"


@dataclass
class Services:
    """The store and artifact destination behind one app (one per process, shared by all requests)."""

    store: TrackingStore
    config: ServerConfig
    destination: FsspecArtifactStore

    def run_artifacts(self, run_id: str) -> tuple[ArtifactStore, str]:
        """The artifact store of a run and the prefix of its files under the destination.

        Only runs whose artifact URI the server itself issued (`mlflow-artifacts:/...`) are served; the
        server never dereferences a location a client chose.
        """
        uri = self.store.get_run(run_id).info.artifact_uri
        return self.destination, self.proxy_prefix(uri)

    @staticmethod
    def proxy_prefix(artifact_uri: str) -> str:
        """The destination-relative prefix of a `mlflow-artifacts:/...` URI, checked like any client path."""
        if not artifact_uri.startswith(PROXY_ROOT):
            raise NotFound(f"artifacts at {artifact_uri!r} are not served by this server")
        relative = artifact_uri[len(PROXY_ROOT) :].lstrip("/")
        if not relative:
            raise InvalidArgument(f"artifact URI {artifact_uri!r} names no run folder")
        return safe_artifact_path(relative, "artifact_uri")


def open_services(config: ServerConfig) -> Services:
    """Open the store and artifact destination named by the configuration."""
    from cairn.settings import Settings
    from cairn.store.resolve import open_tracking_store

    settings = Settings(artifact_root=PROXY_ROOT, capture_code=False, capture_environment=False)
    store = open_tracking_store(config.backend_store_uri, settings)
    return Services(store=store, config=config, destination=FsspecArtifactStore(config.artifacts_destination))


def get_services(request: Request) -> Services:
    """FastAPI dependency: the Services of the app serving this request."""
    services: Services = request.app.state.services
    return services
