"""Prediction events and the recorder that hands them to a sink off the request path.

The scoring app calls `EventRecorder.record` once per prediction. `record` never waits: it samples,
drops input columns the allow/deny lists exclude, and puts the event on a bounded queue; when the queue
is full the event is dropped and counted. A background thread drains the queue in batches (up to
`batch_size` events, or whatever arrived within `flush_seconds` of the first one) and gives each batch
to the sink. A failing sink is counted and logged, never raised to the caller.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import random
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cairn.errors import InvalidArgument

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("cairn.serving.events")


@dataclass(frozen=True, eq=False)
class PredictionEvent:
    """One scored request.

    Attributes:
        request_id: The id the server gave the request (echoed in errors and logs).
        timestamp_ms: When the request was scored, in milliseconds since the Unix epoch (UTC).
        model_name: Name of the model that answered.
        model_version: Version of the model that answered.
        inputs: The request's input rows, one DataFrame row per predicted row.
        outputs: The model's output for those rows: a numpy array, pandas Series/DataFrame, list,
            or a dict of named arrays.
        latency_ms: Time the server spent on the request, in milliseconds.
    """

    request_id: str
    timestamp_ms: int
    model_name: str
    model_version: str
    inputs: pd.DataFrame
    outputs: Any
    latency_ms: float


class EventSink(Protocol):
    """Where batches of prediction events go (a Parquet folder, a queue, a monitoring service...)."""

    def write(self, events: Sequence[PredictionEvent]) -> None:
        """Store one batch of events; raise on failure (the recorder counts and logs it)."""
        ...

    def close(self) -> None:
        """Release what the sink holds; no writes follow."""
        ...


@dataclass(frozen=True)
class RecorderStats:
    """Counters of an `EventRecorder`; every `record` call lands in exactly one of the first three.

    Attributes:
        recorded: Events accepted onto the queue.
        sampled_out: Events skipped by the sampling rate.
        dropped: Events refused because the queue was full or the recorder closed.
        written: Events the sink stored.
        write_errors: Sink `write` calls that raised.
        lost: Events in batches whose write raised.
        queued: Events waiting on the queue now.
    """

    recorded: int
    sampled_out: int
    dropped: int
    written: int
    write_errors: int
    lost: int
    queued: int


@dataclass
class _Marker:
    """A queue item asking the worker to write what it holds, then signal (and stop, if `stop`)."""

    stop: bool
    done: threading.Event = dataclasses.field(default_factory=threading.Event)


class _Counters:
    def __init__(self) -> None:
        self.recorded = 0
        self.sampled_out = 0
        self.dropped = 0
        self.written = 0
        self.write_errors = 0
        self.lost = 0


class EventRecorder:
    """Samples, filters and queues prediction events; a background thread writes them in batches."""

    def __init__(
        self,
        sink: EventSink,
        *,
        sample_rate: float = 1.0,
        max_queue: int = 10_000,
        batch_size: int = 1000,
        flush_seconds: float = 5.0,
        allow_columns: Collection[str] | None = None,
        deny_columns: Collection[str] = (),
        seed: int | None = None,
    ) -> None:
        """Start the writer thread.

        Args:
            sink: Receives batches of events.
            sample_rate: Share of events kept, from 0 (none) to 1 (all).
            max_queue: Most events waiting to be written; more are dropped and counted.
            batch_size: Most events per sink write.
            flush_seconds: Longest an event waits for its batch to fill before the batch is written.
            allow_columns: When given, only these input columns are kept.
            deny_columns: Input columns never kept (applied after `allow_columns`).
            seed: Seed of the sampling random generator, for reproducible sampling.

        Raises:
            InvalidArgument: naming the first argument out of range.
        """
        _check_settings(sample_rate, max_queue, batch_size, flush_seconds)
        self._sink = sink
        self._sample_rate = sample_rate
        self._batch_size = batch_size
        self._flush_seconds = flush_seconds
        self._allow = None if allow_columns is None else frozenset(str(c) for c in allow_columns)
        self._deny = frozenset(str(c) for c in deny_columns)
        self._random = random.Random(seed)
        self._queue: queue.Queue[PredictionEvent | _Marker] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._counts = _Counters()
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="cairn-prediction-events", daemon=True)
        self._worker.start()

    def record(self, event: PredictionEvent) -> None:
        """Queue `event` for writing without waiting; sampled out or dropped events are only counted."""
        with self._lock:
            if self._sample_rate < 1.0 and self._random.random() >= self._sample_rate:
                self._counts.sampled_out += 1
                return
        if self._allow is not None or self._deny:
            event = dataclasses.replace(event, inputs=self._filter_columns(event.inputs))
        with self._lock:
            if self._closed:
                self._counts.dropped += 1
                return
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self._counts.dropped += 1
                return
            self._counts.recorded += 1

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event queued before this call has been handed to the sink.

        Returns:
            True when done, False if `timeout` seconds passed first (or the recorder is closed).
        """
        with self._lock:
            if self._closed:
                return False
        marker = _Marker(stop=False)
        self._queue.put(marker, timeout=timeout)
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Write everything queued, stop the writer thread and close the sink; later events are dropped."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_Marker(stop=True))
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning("prediction event writer still busy after %s s; closing the sink anyway", timeout)
        else:
            self._release_late_markers()
        try:
            self._sink.close()
        except Exception:
            log.exception("closing the prediction event sink failed")

    def stats(self) -> RecorderStats:
        """A snapshot of the counters."""
        with self._lock:
            c = self._counts
            return RecorderStats(
                recorded=c.recorded,
                sampled_out=c.sampled_out,
                dropped=c.dropped,
                written=c.written,
                write_errors=c.write_errors,
                lost=c.lost,
                queued=self._queue.qsize(),
            )

    def _release_late_markers(self) -> None:
        """Wake `flush` calls whose marker arrived after the stop marker (no events can follow it)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Marker):
                item.done.set()

    def _filter_columns(self, inputs: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        if not isinstance(inputs, pd.DataFrame):  # a tensor or records: name its columns first
            inputs = pd.DataFrame(inputs)
        keep = [
            column
            for column in inputs.columns
            if (self._allow is None or str(column) in self._allow) and str(column) not in self._deny
        ]
        return inputs.loc[:, keep]

    def _run(self) -> None:
        batch: list[PredictionEvent] = []
        deadline = 0.0
        while True:
            timeout = max(0.0, deadline - time.monotonic()) if batch else None
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                batch = self._write(batch)
                continue
            if isinstance(item, _Marker):
                batch = self._write(batch)
                item.done.set()
                if item.stop:
                    return
                continue
            if not batch:
                deadline = time.monotonic() + self._flush_seconds
            batch.append(item)
            if len(batch) >= self._batch_size:
                batch = self._write(batch)

    def _write(self, batch: list[PredictionEvent]) -> list[PredictionEvent]:
        """Hand `batch` to the sink, count the outcome, and return a fresh empty batch."""
        if not batch:
            return batch
        try:
            self._sink.write(batch)
        except Exception:
            log.exception("writing %d prediction events failed; they are lost", len(batch))
            with self._lock:
                self._counts.write_errors += 1
                self._counts.lost += len(batch)
        else:
            with self._lock:
                self._counts.written += len(batch)
        return []


def _check_settings(sample_rate: float, max_queue: int, batch_size: int, flush_seconds: float) -> None:
    if not 0.0 <= sample_rate <= 1.0:
        raise InvalidArgument(f"sample_rate must be between 0 and 1, got {sample_rate}")
    if max_queue < 1:
        raise InvalidArgument(f"max_queue must be at least 1, got {max_queue}")
    if batch_size < 1:
        raise InvalidArgument(f"batch_size must be at least 1, got {batch_size}")
    if not flush_seconds > 0:
        raise InvalidArgument(f"flush_seconds must be positive, got {flush_seconds}")
