"""The server's link to the registry: following an alias, recording swaps and decisions in its audit trail.

An `AliasFollower` polls `get_version_by_alias` on a thread of its own. When the alias points at a version
other than the one served, it fetches that version's package (by number, so a second move of the alias
cannot mix two versions), loads it, predicts once on the package's input example when it has one, and only
then swaps the `ModelSlot`. If any of that fails, the old model keeps serving; the failure is logged and
counted, and the same version is tried again only after `retry_seconds`. Each swap is logged, shown at
`/metadata` and told to the follower's `on_swap` listener.

A `RegistryEventRecorder` writes what a server decided (`serve_swap`, `traffic_start`, `traffic_rollback`)
to the registry's audit trail with `RegistryClient.record_event`, on a thread of its own and best effort:
recording never waits, never raises, and a failed write is logged as a warning and counted.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.errors import InvalidArgument
from cairn.serving.queue_worker import stop_worker, wait_until_drained

if TYPE_CHECKING:
    from cairn.models.loaded import LoadedModel
    from cairn.registry.client import RegistryClient
    from cairn.serving.model_slot import ModelSlot

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "AliasFollower",
    "FollowOptions",
    "RegistryEventRecorder",
    "SwapListener",
    "serving_actor",
]

DEFAULT_POLL_SECONDS = 5.0
log = logging.getLogger("cairn.serving.follow")

SwapListener = Callable[[str | None, str], None]
"""`on_swap(old_version, new_version)`: hears each swap the follower made, after it was made."""


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
        on_swap: Hears each swap, `(old_version, new_version)`, on the follower's thread; its failures are
            logged and never undo the swap.

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
        on_swap: SwapListener | None = None,
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
        self._on_swap = on_swap
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
        old = self.slot.current().version
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
        if self._on_swap is not None:
            try:
                self._on_swap(old, version)
            except Exception:
                log.warning("the swap listener failed for version %s", version, exc_info=True)
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


def serving_actor() -> str:
    """Who a server's audit-trail events are recorded for: `serving@<host>:<pid>`, one per worker process."""
    return f"serving@{socket.gethostname()[:200]}:{os.getpid()}"


@dataclass(frozen=True)
class _Event:
    action: str
    version: str | None
    field: str
    old: str | None
    new: str | None


class RegistryEventRecorder:
    """Records a server's swaps and traffic decisions in the registry's audit trail, off the request path.

    Args:
        registry: The registry written to.
        model_name: The registered model the events are about.
        actor: Who they are recorded for (see `serving_actor`).
        max_queue: Events waiting at most; beyond it new ones are dropped and counted.
    """

    def __init__(
        self, registry: RegistryClient, model_name: str, actor: str, *, max_queue: int = 100
    ) -> None:
        if max_queue < 1:
            raise InvalidArgument(f"max_queue must be at least 1, got {max_queue}")
        self.registry = registry
        self.model_name = model_name
        self.actor = actor
        self._queue: queue.Queue[_Event | None] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        self._counts = {"recorded": 0, "failed": 0, "dropped": 0}
        self._thread: threading.Thread | None = threading.Thread(
            target=self._run, name="cairn-registry-events", daemon=True
        )
        self._thread.start()

    def record(
        self, action: str, *, version: str | None, field: str, old: str | None, new: str | None
    ) -> None:
        """Queue one event for the audit trail; never waits and never raises (a full queue drops it)."""
        try:
            self._queue.put_nowait(_Event(action, version, field, old, new))
        except queue.Full:
            self._count("dropped")
            log.warning("dropped the %s event for %s: the audit queue is full", action, self.model_name)

    def swapped(self, alias: str, old: str | None, new: str) -> None:
        """Record that the server swapped from version `old` to `new` because `alias` moved."""
        self.record("serve_swap", version=new, field=f"alias:{alias}", old=old, new=new)

    def decided(self, decision: str, reason: str) -> None:
        """Record a traffic router's decision ("start" or "rollback") with its reason."""
        self.record(f"traffic_{decision}", version=None, field="traffic", old=None, new=reason)

    def counts(self) -> dict[str, int]:
        """Events recorded, failed (logged as warnings) and dropped (queue full) so far."""
        with self._lock:
            return dict(self._counts)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued event has been written or has failed; False if `timeout` passed first."""
        return wait_until_drained(self._queue, timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write the events already queued (up to `timeout` seconds), then stop the thread (idempotent)."""
        thread, self._thread = self._thread, None
        stop_worker(self._queue, thread, timeout)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] += 1

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                self._write(event)
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _write(self, event: _Event) -> None:
        try:
            self.registry.record_event(
                self.model_name,
                event.action,
                version=event.version,
                field=event.field,
                old=event.old,
                new=event.new,
                actor=self.actor,
            )
        except Exception as error:  # best effort: the audit trail being down must not stop serving
            self._count("failed")
            log.warning(
                "could not record %s for %s in the registry's audit trail: %s: %s",
                event.action,
                self.model_name,
                type(error).__name__,
                error,
            )
        else:
            self._count("recorded")
