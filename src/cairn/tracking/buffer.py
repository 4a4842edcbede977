"""Buffered metric logging: callers append in memory, a background thread makes the points durable.

What a crash can lose: points logged since the last completed flush, which is at most `flush_interval`
seconds (one second by default) of logging, plus whatever a flush that is under way when the process
dies had not yet committed. `flush()`, `end_run` and interpreter exit all flush synchronously; a flush
returns only after the database committed the points.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from array import array
from collections.abc import Iterable
from typing import Protocol

from cairn._internal.clock import now_ms
from cairn.errors import CairnError

log = logging.getLogger("cairn")

ColumnTriple = tuple["array[int]", "array[int]", "array[float]"]
Columns = dict[tuple[str, str], ColumnTriple]


def _new_columns() -> ColumnTriple:
    return (array("q"), array("q"), array("d"))


class _BufferStore(Protocol):
    def append_metric_columns(self, columns: Columns) -> None: ...

    def record_heartbeat(self, run_ids: list[str], now: int) -> None: ...


class MetricBuffer:
    """Collects metric points per (run, key) and writes them in batches from a background thread.

    Args:
        store: Where points go (`append_metric_columns`) and heartbeats are recorded.
        flush_interval: Seconds between background flushes.
        heartbeat_interval: Seconds between heartbeats of the runs this buffer tracks.
        flush_threshold: Pending points that wake the flusher early.
        max_pending: Pending points past which a logging call flushes itself before returning.
    """

    def __init__(
        self,
        store: _BufferStore,
        flush_interval: float = 1.0,
        heartbeat_interval: float = 10.0,
        flush_threshold: int = 500_000,
        max_pending: int = 5_000_000,
    ) -> None:
        self._store = store
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._flush_threshold = flush_threshold
        self._max_pending = max_pending
        self._reset_state()
        _LIVE_BUFFERS.add(self)

    def _reset_state(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        # run id -> metric key -> (steps, timestamps, values); nested dicts are cheaper than tuple keys here.
        self._pending: dict[str, dict[str, ColumnTriple]] = {}
        self._count = 0
        self._failed: list[Columns] = []
        self._runs: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = 0.0

    def add(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        """Buffer one point; returns without touching the disk (about a microsecond)."""
        with self._lock:
            try:
                cols = self._pending[run_id][key]
            except KeyError:
                cols = self._pending.setdefault(run_id, {}).setdefault(key, _new_columns())
            cols[0].append(step)
            cols[1].append(timestamp)
            cols[2].append(value)
            self._count += 1
            count = self._count
        if count >= self._flush_threshold or self._thread is None:
            self._after_add(count)

    def add_columns(
        self, run_id: str, key: str, steps: array[int], timestamps: array[int], values: array[float]
    ) -> None:
        """Buffer many points of one metric at once (already validated, equal lengths)."""
        with self._lock:
            cols = self._pending.setdefault(run_id, {}).setdefault(key, _new_columns())
            cols[0].extend(steps)
            cols[1].extend(timestamps)
            cols[2].extend(values)
            self._count += len(values)
            count = self._count
        self._after_add(count)

    def _after_add(self, count: int) -> None:
        if self._thread is None:
            self._start_thread()
        if count >= self._max_pending:
            self.flush()
        elif count >= self._flush_threshold:
            self._wake.set()

    def track_run(self, run_id: str) -> None:
        """Send heartbeats for this run until `untrack_run`."""
        with self._lock:
            self._runs.add(run_id)
        if self._thread is None:
            self._start_thread()

    def untrack_run(self, run_id: str) -> None:
        """Stop sending heartbeats for this run."""
        with self._lock:
            self._runs.discard(run_id)

    def flush(self) -> None:
        """Write every point buffered so far; returns once they are committed.

        Raises:
            CairnError: when the store refuses points (for example, their run was deleted); those points
                are dropped, every other point is written.
        """
        with self._flush_lock:
            with self._lock:
                pending, self._pending, self._count = self._pending, {}, 0
            batch = {(run, key): cols for run, keys in pending.items() for key, cols in keys.items()}
            batches, self._failed = [*self._failed, batch], []
            errors: list[CairnError] = []
            for columns in batches:
                errors += self._write(columns)
        if errors:
            raise errors[0]

    def _write(self, batch: Columns) -> list[CairnError]:
        """Write a batch; on a refusal, retry run by run so one bad run cannot block the others."""
        if not batch:
            return []
        try:
            self._store.append_metric_columns(batch)
            return []
        except CairnError:
            pass
        except Exception:
            self._failed.append(batch)  # transient (database unreachable): retried at the next flush
            raise
        errors = []
        for run_id in sorted({run for run, _ in batch}):
            part = {pair: cols for pair, cols in batch.items() if pair[0] == run_id}
            try:
                self._store.append_metric_columns(part)
            except CairnError as error:
                log.error("dropped %d buffered points of run %s: %s", _points(part), run_id, error)
                errors.append(error)
        return errors

    def close(self) -> None:
        """Flush, stop the background thread and wait for it."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None
        self.flush()

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="cairn-metric-flusher", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as error:  # the thread must outlive a failed flush; the points are kept
                log.warning("background flush of metrics failed: %s", error)
            self._maybe_heartbeat()

    def _maybe_heartbeat(self) -> None:
        now = now_ms()
        if (now - self._last_heartbeat) / 1000 < self._heartbeat_interval:
            return
        with self._lock:
            runs = sorted(self._runs)
        if not runs:
            return
        try:
            self._store.record_heartbeat(runs, now)
            self._last_heartbeat = now
        except Exception as error:
            log.warning("recording run heartbeats failed: %s", error)

    def _after_fork_in_child(self) -> None:
        # The parent's thread does not exist in the child, and its locks may be held: start clean.
        self._reset_state()


def _points(columns: Columns) -> int:
    return sum(len(cols[2]) for cols in columns.values())


_LIVE_BUFFERS: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


def _flush_all(buffers: Iterable[MetricBuffer]) -> None:
    for buffer in list(buffers):
        try:
            buffer.close()
        except Exception as error:
            log.error("flushing metrics at exit failed: %s", error)


def _reset_all_after_fork() -> None:
    for buffer in list(_LIVE_BUFFERS):
        buffer._after_fork_in_child()


atexit.register(lambda: _flush_all(_LIVE_BUFFERS))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_all_after_fork)
