"""The typed settings object, read from CAIRN_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cairn.errors import InvalidArgument

DEFAULT_STORE_DIR = "cairn-store"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise InvalidArgument(f"{name} must be positive, got {raw!r}")
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise InvalidArgument(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Cairn's configuration; every field has a `CAIRN_<FIELD>` environment variable.

    Attributes:
        tracking_uri: Where runs are stored: a folder, `sqlite:///...`, `postgresql://...` or `http(s)://...`.
        artifact_root: Where artifacts of new experiments go; defaults to `artifacts/` beside the database.
        flush_interval: Seconds between background flushes of buffered metrics (a crash loses at most this).
        heartbeat_interval: Seconds between heartbeats of an active run.
        heartbeat_timeout: Seconds without a heartbeat after which a RUNNING run is marked FAILED.
        capture_code: Record git commit, branch, remote, dirty flag and diff on every run.
        capture_environment: Record Python, platform and installed package versions on every run.
        system_metrics: Sample CPU, memory, disk and network while a run is active.
        system_metrics_interval: Seconds between system metric samples.
    """

    tracking_uri: str | None = None
    artifact_root: str | None = None
    flush_interval: float = 1.0
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 300.0
    capture_code: bool = True
    capture_environment: bool = True
    system_metrics: bool = False
    system_metrics_interval: float = 10.0

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from the current `CAIRN_*` environment variables."""
        return cls(
            tracking_uri=os.environ.get("CAIRN_TRACKING_URI") or None,
            artifact_root=os.environ.get("CAIRN_ARTIFACT_ROOT") or None,
            flush_interval=_env_float("CAIRN_FLUSH_INTERVAL", 1.0),
            heartbeat_interval=_env_float("CAIRN_HEARTBEAT_INTERVAL", 10.0),
            heartbeat_timeout=_env_float("CAIRN_HEARTBEAT_TIMEOUT", 300.0),
            capture_code=_env_bool("CAIRN_CAPTURE_CODE", True),
            capture_environment=_env_bool("CAIRN_CAPTURE_ENVIRONMENT", True),
            system_metrics=_env_bool("CAIRN_SYSTEM_METRICS", False),
            system_metrics_interval=_env_float("CAIRN_SYSTEM_METRICS_INTERVAL", 10.0),
        )
