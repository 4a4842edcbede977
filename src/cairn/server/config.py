"""Server configuration: where data lives and what requests are accepted."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cairn.errors import InvalidArgument

MLFLOW_ARTIFACTS_SCHEME = "mlflow-artifacts"
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class ServerConfig:
    """What one server process serves and accepts.

    Attributes:
        backend_store_uri: Metadata store: a folder, `sqlite:///...` or `postgresql://...`.
        artifacts_destination: Where proxied artifacts are stored: a folder, `file://`, `s3://` ... URI.
        allowed_hosts: Host header values accepted (DNS-rebinding protection); `*` accepts any.
        allowed_origins: Browser origins allowed to call the API cross-origin (none by default).
        max_body_bytes: Largest JSON request body; larger ones get 413. Artifact uploads stream and are
            limited by `max_upload_bytes` instead.
        max_upload_bytes: Largest artifact upload.
    """

    backend_store_uri: str
    artifacts_destination: str
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_upload_bytes: int = 100 * 1024**3

    def to_env(self) -> dict[str, str]:
        """The configuration as CAIRN_SERVER_* variables, for worker processes started by uvicorn."""
        return {
            "CAIRN_SERVER_BACKEND_STORE_URI": self.backend_store_uri,
            "CAIRN_SERVER_ARTIFACTS_DESTINATION": self.artifacts_destination,
            "CAIRN_SERVER_ALLOWED_HOSTS": ",".join(self.allowed_hosts),
            "CAIRN_SERVER_ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            "CAIRN_SERVER_MAX_BODY_BYTES": str(self.max_body_bytes),
            "CAIRN_SERVER_MAX_UPLOAD_BYTES": str(self.max_upload_bytes),
        }

    @classmethod
    def from_env(cls) -> ServerConfig:
        """Read the configuration written by `to_env`."""
        store = os.environ.get("CAIRN_SERVER_BACKEND_STORE_URI")
        artifacts = os.environ.get("CAIRN_SERVER_ARTIFACTS_DESTINATION")
        if not store or not artifacts:
            raise InvalidArgument(
                "CAIRN_SERVER_BACKEND_STORE_URI and CAIRN_SERVER_ARTIFACTS_DESTINATION must be set"
            )
        return cls(
            backend_store_uri=store,
            artifacts_destination=artifacts,
            allowed_hosts=_split(os.environ.get("CAIRN_SERVER_ALLOWED_HOSTS")) or DEFAULT_ALLOWED_HOSTS,
            allowed_origins=_split(os.environ.get("CAIRN_SERVER_ALLOWED_ORIGINS")),
            max_body_bytes=int(os.environ.get("CAIRN_SERVER_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
            max_upload_bytes=int(os.environ.get("CAIRN_SERVER_MAX_UPLOAD_BYTES") or 100 * 1024**3),
        )


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())
