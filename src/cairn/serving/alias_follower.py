"""Following a registry alias: load the version it points at in the background, warm it, then swap it in.

An `AliasFollower` polls `get_version_by_alias` on a thread of its own. When the alias points at a version
other than the one served, it fetches that version's package (by number, so a second move of the alias
cannot mix two versions), loads it, predicts once on the package's input example when it has one, and only
then swaps the `ModelSlot`. If any of that fails, the old model keeps serving; the failure is logged and
counted, and the same version is tried again only after `retry_seconds`. The registry store has no way to
record a server's swap in its audit trail, so swaps are logged and the served version shows at `/metadata`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.registry.client import RegistryClient
    from cairn.serving.model_slot import ModelSlot

__all__ = ["DEFAULT_POLL_SECONDS", "AliasFollower", "FollowOptions"]

DEFAULT_POLL_SECONDS = 5.0
log = logging.getLogger("cairn.serving.follow")


@dataclass(frozen=True)
class FollowOptions:
    """Which alias a server follows, in which registry, and how often it looks.

    Attributes:
        tracking_uri: The tracking store holding the registry (None: the default one).
        name: The registered model's name.
        alias: The alias followed (`champion`, ...).
        poll_seconds: Seconds between looks at the alias.
    """

    tracking_uri: str | None
    name: str
    alias: str
    poll_seconds: float = DEFAULT_POLL_SECONDS


class AliasFollower:
    """Keeps a `ModelSlot` serving the version an alias points at.

    Args:
        registry: The registry client the alias is read from (its tracking URI is used to fetch packages).
        name: The registered model's name.
        alias: The alias followed.
        slot: The slot to swap.
        poll_seconds: Seconds between looks at the alias (more than zero).
        retry_seconds: Seconds before a version that failed to load is tried again (default: 12 polls).
        cache_dir: Where fetched packages are kept (default: the model cache).

    Attributes:
        swaps: Versions swapped in so far.
        failures: Failed loads or warm-ups so far.
        last_error: The last failure's message, or None.
    """

    def __init__(
        self,
        registry: RegistryClient,
        name: str,
        alias: str,
        slot: ModelSlot,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        *,
        retry_seconds: float | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if not poll_seconds > 0:
            raise InvalidArgument(f"poll_seconds must be more than zero, got {poll_seconds}")
        if not name or not alias:
            raise InvalidArgument(f"name and alias must not be empty, got {name!r} and {alias!r}")
        self.registry = registry
        self.name = name
        self.alias = alias
        self.slot = slot
        self.poll_seconds = poll_seconds
        self.retry_seconds = poll_seconds * 12 if retry_seconds is None else retry_seconds
        self._cache_dir = cache_dir
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed_at: dict[str, float] = {}
        self.swaps = 0
        self.failures = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start polling on a daemon thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"cairn-follow-{self.name}@{self.alias}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling and wait for a load under way to finish (up to `timeout` seconds)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        """What `/metadata` shows about the following: alias, counts and the last failure."""
        return {
            "model_name": self.name,
            "alias": self.alias,
            "poll_seconds": self.poll_seconds,
            "swaps": self.swaps,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        repeated: str | None = None
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll_once()
            except Exception as error:  # never let the thread die: the next poll tries again
                message = f"{type(error).__name__}: {error}"
                if message != repeated:  # a lasting outage (alias deleted, store down) is logged once
                    log.warning("cannot read %s@%s: %s", self.name, self.alias, message)
                repeated = message
            else:
                repeated = None

    def poll_once(self) -> bool:
        """Look at the alias once; load, warm and swap in a new version. True if the slot was swapped."""
        version = str(self.registry.get_version_by_alias(self.name, self.alias).version)
        if version == self.slot.current().version or self._waiting_to_retry(version):
            return False
        started = time.perf_counter()
        try:
            model = self._load_and_warm(version)
        except Exception as error:
            self.failures += 1
            self.last_error = f"version {version}: {type(error).__name__}: {error}"
            self._failed_at[version] = time.monotonic()
            log.exception(
                "%s@%s points at version %s, which failed to load or warm up; still serving version %s",
                self.name,
                self.alias,
                version,
                self.slot.current().version,
            )
            return False
        self.slot.swap(model, version)
        self.swaps += 1
        self._failed_at.pop(version, None)
        log.info(
            "%s@%s moved: now serving version %s (loaded and warmed in %.2f s)",
            self.name,
            self.alias,
            version,
            time.perf_counter() - started,
        )
        return True

    def _waiting_to_retry(self, version: str) -> bool:
        failed = self._failed_at.get(version)
        return failed is not None and time.monotonic() - failed < self.retry_seconds

    def _load_and_warm(self, version: str) -> LoadedModel:
        from cairn.models.package import load_model
        from cairn.models.remote import fetch_model

        folder = fetch_model(
            f"models:/{self.name}/{version}",
            tracking_uri=self.registry.tracking.tracking_uri,
            cache_dir=self._cache_dir,
        )
        model = load_model(folder)
        example = model.input_example()
        if example is not None:
            model.predict(example)
        return model
