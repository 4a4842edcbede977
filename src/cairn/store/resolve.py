"""Turning a tracking URI into a metadata store and a default artifact root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cairn.errors import InvalidArgument
from cairn.settings import DEFAULT_STORE_DIR, Settings
from cairn.store.protocols import TrackingStore

DB_FILE_NAME = "cairn.db"


@dataclass(frozen=True)
class StoreLocation:
    """Where metadata and artifacts live for one tracking URI."""

    db_url: str
    artifact_root: str


def default_tracking_uri() -> str:
    """The embedded default: the `cairn-store` folder in the working directory, as an absolute path."""
    return str(Path.cwd() / DEFAULT_STORE_DIR)


def locate(tracking_uri: str, artifact_root: str | None = None) -> StoreLocation:
    """Work out the database URL and artifact root a tracking URI stands for.

    A folder path (or `file://` URI) holds `cairn.db` and an `artifacts/` folder; `sqlite:///x/y.db` keeps
    artifacts in `x/artifacts`; a PostgreSQL URL needs `artifact_root` or uses `./cairn-store/artifacts`;
    an `http(s)://` URL is a tracking server, which places artifacts itself.
    """
    scheme = urlsplit(tracking_uri).scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        folder = (
            Path(urlsplit(tracking_uri).path if scheme == "file" else tracking_uri).expanduser().absolute()
        )
        return StoreLocation(
            f"sqlite:///{folder / DB_FILE_NAME}", artifact_root or (folder / "artifacts").as_uri()
        )
    if scheme == "sqlite":
        db_path = tracking_uri.split("sqlite:///", 1)[-1]
        if not db_path or db_path == ":memory:":
            raise InvalidArgument("an in-memory SQLite store cannot be shared; give a file path")
        db_file = Path(db_path).expanduser().absolute()
        return StoreLocation(f"sqlite:///{db_file}", artifact_root or (db_file.parent / "artifacts").as_uri())
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        root = artifact_root or (Path.cwd() / DEFAULT_STORE_DIR / "artifacts").absolute().as_uri()
        return StoreLocation(tracking_uri, root)
    if scheme in ("http", "https"):
        # A tracking server chooses artifact locations itself; the root here is only informative.
        return StoreLocation(tracking_uri.rstrip("/"), artifact_root or "")
    raise InvalidArgument(
        f"tracking URI {tracking_uri!r} has an unsupported scheme {scheme!r}; "
        "use a folder path, sqlite:///..., postgresql://... or http(s)://server"
    )


def open_tracking_store(tracking_uri: str, settings: Settings) -> TrackingStore:
    """Open the metadata store a tracking URI names, creating an embedded store on first use."""
    location = locate(tracking_uri, settings.artifact_root)
    if urlsplit(location.db_url).scheme.lower() in ("http", "https"):
        from cairn.store.rest import RestStore

        return RestStore(location.db_url)
    if location.db_url.startswith("sqlite:///"):
        Path(location.db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from cairn.store.sql import SqlStore

    return SqlStore(location.db_url, location.artifact_root, heartbeat_timeout=settings.heartbeat_timeout)
