"""Adaptive micro-batching: concurrent scoring requests grouped into one model call, bounded in size and wait.

A `MicroBatcher` queues each request's frame and releases a batch when one of these holds:

- ``"full"``: the queued rows reach `max_batch_size`, or the next queued request would not fit;
- ``"alone"``: the oldest request by itself has more rows than `max_batch_size`, so it runs on its own;
- ``"timeout"``: the oldest request of the batch has waited `max_wait_ms`;
- ``"drain"``: the batcher is closing and answers whatever is still queued without waiting.

Requests are only batched with others that have the same `params` (compared as canonical JSON) and the
same columns and dtypes, so concatenation never invents missing values or changes a column's type. Batches
run one at a time on a dedicated worker thread (models are often not thread-safe) while new requests keep
queueing. A batch whose model call raises is re-run request by request, so only the failing request gets the
exception. With an `InlineGate`, a batch the model is measured to score quickly runs on the event loop
instead, saving the two thread hand-offs (still one batch at a time).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cairn.errors import CairnError, InvalidArgument
from cairn.serving.inline_gate import InlineGate

__all__ = ["RELEASE_REASONS", "MicroBatcher", "ServerBusy", "UnbatchableOutput"]

RELEASE_REASONS = ("full", "timeout", "alone", "drain")
log = logging.getLogger("cairn.serving.batching")

Predict = Callable[[pd.DataFrame, Mapping[str, Any] | None], Any]
ReleaseCallback = Callable[[str, int, int, float], None]
BatchKey = tuple[str | None, tuple[Any, ...]]


class ServerBusy(CairnError):
    """The batcher's queue is full (or the batcher is closed); the caller should retry later (HTTP 503)."""

    error_code = "TEMPORARILY_UNAVAILABLE"


class UnbatchableOutput(CairnError):
    """The model's output does not have one row per input row, so it cannot be split between requests."""

    error_code = "INTERNAL_ERROR"


@dataclass(eq=False)
class _Request:
    frame: pd.DataFrame
    params: Mapping[str, Any] | None
    arrival: float
    future: asyncio.Future[Any]

    @property
    def rows(self) -> int:
        return len(self.frame)


@dataclass(eq=False)
class _Queue:
    requests: deque[_Request] = field(default_factory=deque)
    rows: int = 0


@dataclass(frozen=True)
class _Outcome:
    value: Any = None
    error: Exception | None = None


@dataclass(frozen=True)
class _Batch:
    requests: list[_Request]
    reason: str
    waited: float


class MicroBatcher:
    """Groups concurrent `submit` calls into batched `predict` calls.

    Args:
        predict: The model call, `predict(frame, params)`; its output must have one row per input row
            (a DataFrame, Series, NumPy array, list or tuple).
        max_batch_size: Most rows in one model call; a single larger request runs alone.
        max_wait_ms: Longest a queued request waits for others before its batch is released.
        max_queue: Most requests waiting at once; beyond it `submit` raises `ServerBusy`.
        on_release: Called on the event loop for each released batch with
            `(reason, rows, requests, seconds the oldest request waited)`; errors it raises are logged.
        inline: Decides, from the measured batch times, when a batch may be scored on the event loop
            (None: always on the worker thread).
    """

    def __init__(
        self,
        predict: Predict,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        max_queue: int = 10_000,
        on_release: ReleaseCallback | None = None,
        inline: InlineGate | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise InvalidArgument(f"max_batch_size must be at least 1, got {max_batch_size}")
        if not max_wait_ms >= 0:
            raise InvalidArgument(f"max_wait_ms must be zero or more, got {max_wait_ms}")
        if max_queue < 1:
            raise InvalidArgument(f"max_queue must be at least 1, got {max_queue}")
        self._predict = predict
        self._max_rows = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._max_queue = max_queue
        self._on_release = on_release
        self._inline = inline
        self._queues: dict[BatchKey, _Queue] = {}
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._counts = dict.fromkeys(
            (*RELEASE_REASONS, "batches", "requests", "rows", "rejected", "retried_batches"), 0
        )

    def start(self) -> None:
        """Start the dispatcher on the running event loop (`submit` also starts it on first use)."""
        if self._closing:
            raise ServerBusy("the batcher is closed")
        if self._task is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cairn-batch")
            self._task = asyncio.get_running_loop().create_task(self._dispatch(), name="cairn-batcher")

    async def submit(
        self,
        frame: pd.DataFrame,
        params: Mapping[str, Any] | None = None,
        layout: Hashable | None = None,
    ) -> Any:
        """Score `frame` with `params` as part of a batch; returns this request's rows of the output.

        `layout`, when given, stands for the frame's columns and dtypes (see `ScoringInput.layout`): frames
        with equal layouts may share a batch, so it must differ whenever those differ. Without it, the
        frame's columns and dtypes are read.

        Raises:
            ServerBusy: The queue holds `max_queue` requests already, or the batcher is closed.
            UnbatchableOutput: The model's output did not have one row per input row.
            Exception: Whatever the model raised for this request when scored on its own.
        """
        if self._closing:
            raise ServerBusy("the batcher is closed and accepts no more requests")
        if self._queued >= self._max_queue:
            self._counts["rejected"] += 1
            raise ServerBusy(f"the prediction queue is full ({self._max_queue} requests waiting)")
        self.start()
        loop = asyncio.get_running_loop()
        request = _Request(frame, params, loop.time(), loop.create_future())
        queue = self._queues.setdefault(_batch_key(frame, params, layout), _Queue())
        queue.requests.append(request)
        queue.rows += request.rows
        self._queued += 1
        self._wakeup.set()
        return await request.future

    async def close(self) -> None:
        """Refuse new requests, answer every queued one, then stop the worker thread."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    @property
    def queue_depth(self) -> int:
        """Requests waiting to be batched (not counting the batch the model is scoring)."""
        return self._queued

    def stats(self) -> dict[str, int]:
        """A snapshot of the counters: batches released per reason, and totals.

        Keys: the release reasons (`full`, `timeout`, `alone`, `drain`), `batches`, `requests` and `rows`
        released, `rejected` (refused with `ServerBusy`), `retried_batches` (re-run request by request after
        the batched call raised) and `queued` (current queue depth).
        """
        return {**self._counts, "queued": self._queued}

    async def _dispatch(self) -> None:
        try:
            while (batch := await self._next_batch()) is not None:
                await self._execute(batch)
        except BaseException as error:
            self._fail_all(error)
            raise

    async def _next_batch(self) -> _Batch | None:
        """Wait until some queue is ready to release, then take its batch; None once closed and empty."""
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            now = loop.time()
            ready = self._ready(now)
            if ready is not None:
                key, reason = ready
                return self._take(key, reason, now)
            if not self._queues:
                if self._closing:
                    return None
                await self._wakeup.wait()
                continue
            first_deadline = min(q.requests[0].arrival for q in self._queues.values()) + self._max_wait
            try:
                async with asyncio.timeout(max(first_deadline - now, 0.0)):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    def _ready(self, now: float) -> tuple[BatchKey, str] | None:
        """The ready queue whose oldest request came first, with its release reason."""
        best: tuple[BatchKey, str] | None = None
        best_arrival = 0.0
        for key, queue in self._queues.items():
            head = queue.requests[0]
            reason = self._reason(queue, head, now)
            if reason is not None and (best is None or head.arrival < best_arrival):
                best, best_arrival = (key, reason), head.arrival
        return best

    def _reason(self, queue: _Queue, head: _Request, now: float) -> str | None:
        if head.rows > self._max_rows:
            return "alone"
        if queue.rows >= self._max_rows:
            return "full"
        if now - head.arrival >= self._max_wait:
            return "timeout"
        return "drain" if self._closing else None

    def _take(self, key: BatchKey, reason: str, now: float) -> _Batch:
        """Pop the batch off the front of one queue, in arrival order, within the row limit."""
        queue = self._queues[key]
        taken: list[_Request] = [queue.requests.popleft()]
        rows = taken[0].rows
        while queue.requests and rows + queue.requests[0].rows <= self._max_rows:
            taken.append(queue.requests.popleft())
            rows += taken[-1].rows
        queue.rows -= rows
        self._queued -= len(taken)
        if not queue.requests:
            del self._queues[key]
        waited = now - taken[0].arrival
        self._count_release(reason, rows, len(taken), waited)
        return _Batch([r for r in taken if not r.future.done()], reason, waited)

    def _count_release(self, reason: str, rows: int, requests: int, waited: float) -> None:
        for name, amount in ((reason, 1), ("batches", 1), ("requests", requests), ("rows", rows)):
            self._counts[name] += amount
        if self._on_release is not None:
            try:
                self._on_release(reason, rows, requests, waited)
            except Exception:
                log.exception("the batch release callback failed")

    async def _execute(self, batch: _Batch) -> None:
        if not batch.requests:  # every caller went away (cancelled) while queued
            return
        loop = asyncio.get_running_loop()
        gate = self._inline
        if gate is not None and gate.allows():
            started = time.perf_counter()
            try:
                retried, outcomes = self._run(batch.requests)
            finally:
                gate.observe(time.perf_counter() - started)
        else:
            retried, outcomes = await loop.run_in_executor(self._executor, self._timed_run, batch.requests)
        if retried:
            self._counts["retried_batches"] += 1
        for request, outcome in zip(batch.requests, outcomes, strict=True):
            if request.future.done():
                continue
            if outcome.error is not None:
                request.future.set_exception(outcome.error)
            else:
                request.future.set_result(outcome.value)

    def _timed_run(self, requests: list[_Request]) -> tuple[bool, list[_Outcome]]:
        """`_run` on the worker thread, its CPU time fed to the inline gate."""
        started = time.thread_time()
        try:
            return self._run(requests)
        finally:
            if self._inline is not None:
                self._inline.observe(time.thread_time() - started)

    def _run(self, requests: list[_Request]) -> tuple[bool, list[_Outcome]]:
        """Score the batch, or each request alone if the model raises (worker thread or, if gated, loop)."""
        try:
            frame = _concatenate([r.frame for r in requests])
            output = self._predict(frame, requests[0].params)
        except Exception as error:
            if len(requests) == 1:
                return False, [_Outcome(error=error)]
            return True, [self._run_alone(request) for request in requests]
        return False, _split(output, requests)

    def _run_alone(self, request: _Request) -> _Outcome:
        try:
            output = self._predict(request.frame, request.params)
        except Exception as error:
            return _Outcome(error=error)
        return _split(output, [request])[0]

    def _fail_all(self, error: BaseException) -> None:
        """The dispatcher stopped unexpectedly: fail every queued request instead of leaving it hanging."""
        failure = error if isinstance(error, Exception) else ServerBusy("the batcher stopped")
        for queue in self._queues.values():
            for request in queue.requests:
                if not request.future.done():
                    request.future.set_exception(failure)
        self._queues.clear()
        self._queued = 0
        self._closing = True


def _batch_key(frame: pd.DataFrame, params: Mapping[str, Any] | None, layout: Hashable | None) -> BatchKey:
    """Requests share a batch only if this key matches: params as canonical JSON, columns and dtypes.

    Column names are keyed with their types, so `1`, `1.0` and `True` (equal in Python) never share.
    """
    params_key = (
        None if params is None else json.dumps(params, sort_keys=True, separators=(",", ":"), default=repr)
    )
    if layout is not None:
        return params_key, ("given", layout)
    columns = tuple((type(name), name) for name in frame.columns.tolist())
    return params_key, ("read", columns, tuple(frame.dtypes.tolist()))


def _concatenate(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames one under another with a fresh 0..n-1 index, as `pd.concat(ignore_index=True)` gives.

    Frames in one batch have equal columns and dtypes (their batch keys match). When every column has
    the same plain NumPy dtype, their values are stacked as one array instead: the same frame, several
    times faster than pandas comparing each frame's column labels.
    """
    if len(frames) == 1:
        return frames[0]
    dtypes = set(frames[0].dtypes.tolist())
    if len(dtypes) == 1:
        (dtype,) = dtypes
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            values = np.concatenate([frame.to_numpy() for frame in frames])
            return pd.DataFrame(values, columns=frames[0].columns, copy=False)
    return pd.concat(frames, ignore_index=True)


def _split(output: Any, requests: list[_Request]) -> list[_Outcome]:
    """Cut the batch output into each request's rows; every request fails if the row count is wrong."""
    expected = sum(request.rows for request in requests)
    found = _row_count(output)
    if found != expected:
        shape = f"{found} row(s)" if found is not None else f"a {type(output).__name__} with no rows"
        message = (
            f"the model returned {shape} for {expected} input row(s); batching needs one output row per "
            "input row, so serve this model with batching turned off"
        )
        return [_Outcome(error=UnbatchableOutput(message)) for _ in requests]
    if len(requests) == 1:
        return [_Outcome(value=output)]
    outcomes = []
    start = 0
    for request in requests:
        stop = start + request.rows
        outcomes.append(_Outcome(value=_rows(output, start, stop, request.frame.index)))
        start = stop
    return outcomes


def _row_count(output: Any) -> int | None:
    if isinstance(output, (pd.DataFrame, pd.Series)):
        return len(output)
    if isinstance(output, np.ndarray):
        return output.shape[0] if output.ndim > 0 else None
    if isinstance(output, (list, tuple)):
        return len(output)
    return None


def _rows(output: Any, start: int, stop: int, index: pd.Index) -> Any:
    """Rows `start:stop` of `output`; pandas slices get the request's own index back."""
    if isinstance(output, (pd.DataFrame, pd.Series)):
        part = output.iloc[start:stop].copy()
        part.index = index
        return part
    return output[start:stop]
