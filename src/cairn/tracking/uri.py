"""The process-wide tracking URI and the cache of opened stores."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from cairn.settings import Settings
from cairn.store.protocols import TrackingStore
from cairn.tracking.buffer import MetricBuffer

_lock = threading.Lock()
_tracking_uri: str | None = None
_stores: dict[str, StoreHandle] = {}


@dataclass(frozen=True)
class StoreHandle:
    """A metadata store and the metric buffer that writes into it, shared per process."""

    store: TrackingStore
    buffer: MetricBuffer


def set_tracking_uri(uri: str | Path | None) -> None:
    """Set where runs are stored for this process: a folder, `sqlite:///...`, `postgresql://...`.

    None goes back to `CAIRN_TRACKING_URI`, or the `cairn-store` folder in the working directory.
    """
    global _tracking_uri
    _tracking_uri = None if uri is None else str(uri)


def get_tracking_uri(settings: Settings | None = None) -> str:
    """The tracking URI in force: set_tracking_uri, else CAIRN_TRACKING_URI, else ./cairn-store."""
    if _tracking_uri is not None:
        return _tracking_uri
    configured = (settings or Settings.from_env()).tracking_uri
    if configured:
        return configured
    from cairn.store.resolve import default_tracking_uri

    return default_tracking_uri()


def store_for(uri: str, settings: Settings) -> StoreHandle:
    """The store for `uri` and its buffer, opened once per process and shared by every client using it."""
    from cairn.store.resolve import locate, open_tracking_store

    key = locate(uri, settings.artifact_root).db_url
    with _lock:
        handle = _stores.get(key)
        if handle is None:
            store = open_tracking_store(uri, settings)
            buffer = MetricBuffer(store, settings.flush_interval, settings.heartbeat_interval)
            handle = _stores[key] = StoreHandle(store, buffer)
        return handle


def forget_stores() -> None:
    """Close and forget every cached store (tests and long-lived processes that switch stores)."""
    with _lock:
        for handle in _stores.values():
            handle.buffer.close()
            handle.store.close()
        _stores.clear()
