"""Tests of the micro-batcher: batch limits, release reasons, params separation and failure isolation."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cairn.errors import InvalidArgument
from cairn.serving.batching import MicroBatcher, ServerBusy, UnbatchableOutput
from cairn.serving.inline_gate import InlineGate

Predict = Callable[[pd.DataFrame, Mapping[str, Any] | None], Any]

NEVER_MS = 60_000.0  # a wait no test reaches: batches in these tests are released as full, alone or drained


class Recorder:
    """A model that records every call: the ids it saw, its params and its thread."""

    def __init__(
        self, predict: Callable[[pd.DataFrame, Mapping[str, Any] | None], Any] | None = None
    ) -> None:
        self.calls: list[tuple[list[int], Mapping[str, Any] | None]] = []
        self.threads: set[int] = set()
        self._running = 0
        self.most_running = 0
        self._lock = threading.Lock()
        self._predict = predict or (lambda frame, params: frame[["id"]] * 10)

    def __call__(self, frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        with self._lock:
            self._running += 1
            self.most_running = max(self.most_running, self._running)
        try:
            self.calls.append(([int(i) for i in frame["id"]], params))
            self.threads.add(threading.get_ident())
            return self._predict(frame, params)
        finally:
            with self._lock:
                self._running -= 1

    @property
    def sizes(self) -> list[int]:
        return [len(ids) for ids, _ in self.calls]


def frame_of(*ids: int, index_start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"id": list(ids)}, index=range(index_start, index_start + len(ids)))


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(20):  # a hang fails the test instead of stalling the suite
            await test()

    asyncio.run(bounded())


async def queued(batcher: MicroBatcher, count: int) -> None:
    """Wait until `count` requests sit in the batcher's queue."""
    while batcher.queue_depth < count:
        await asyncio.sleep(0.001)


def test_concurrent_requests_get_their_own_rows_and_batches_stay_within_the_limit() -> None:
    model = Recorder()
    frames = [frame_of(*range(n * 10, n * 10 + n % 3 + 1), index_start=100 + n) for n in range(40)]

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=5, max_wait_ms=20)
        results = await asyncio.gather(*(batcher.submit(frame) for frame in frames))
        await batcher.close()
        for frame, result in zip(frames, results, strict=True):
            assert isinstance(result, pd.DataFrame)
            assert result["id"].tolist() == [i * 10 for i in frame["id"]]
            assert result.index.tolist() == frame.index.tolist()
        stats = batcher.stats()
        assert stats["requests"] == 40 and stats["rows"] == sum(len(f) for f in frames)
        assert stats["batches"] == len(model.calls) == stats["full"] + stats["timeout"]

    run(scenario)
    assert max(model.sizes) <= 5
    assert len(model.calls) < 40  # requests were grouped, not scored one by one
    assert sorted(i for ids, _ in model.calls for i in ids) == sorted(i for f in frames for i in f["id"])
    assert model.most_running == 1
    assert threading.get_ident() not in model.threads


def test_a_full_batch_is_released_without_waiting() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=NEVER_MS)
        results = await asyncio.gather(*(batcher.submit(frame_of(i, i + 100)) for i in range(4)))
        assert [r["id"].tolist() for r in results] == [[i * 10, (i + 100) * 10] for i in range(4)]
        assert batcher.stats()["full"] == 2
        await batcher.close()

    run(scenario)
    assert model.sizes == [4, 4]


def test_a_request_that_does_not_fit_starts_the_next_batch() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=4, max_wait_ms=NEVER_MS)
        sizes = [3, 2, 2, 1, 1]
        frames = [frame_of(*range(10 * k, 10 * k + n)) for k, n in enumerate(sizes)]
        tasks = [asyncio.ensure_future(batcher.submit(frame)) for frame in frames]
        await asyncio.gather(*tasks[:3])  # [3] and [2, 2] are full; [1, 1] waits for more rows
        await batcher.close()
        assert [len(await task) for task in tasks] == sizes
        assert (batcher.stats()["full"], batcher.stats()["drain"]) == (2, 1)

    run(scenario)
    assert model.sizes == [3, 4, 2]  # arrival order kept: no request jumps ahead to fill a gap


def test_an_oversized_request_runs_alone() -> None:
    model = Recorder()
    releases: list[tuple[str, int, int]] = []

    async def scenario() -> None:
        batcher = MicroBatcher(
            model,
            max_batch_size=3,
            max_wait_ms=NEVER_MS,
            on_release=lambda reason, rows, requests, seconds: releases.append((reason, rows, requests)),
        )
        big, small = frame_of(*range(10)), frame_of(50, 51, 52)
        big_result, small_result = await asyncio.gather(batcher.submit(big), batcher.submit(small))
        assert big_result["id"].tolist() == [i * 10 for i in range(10)]
        assert small_result["id"].tolist() == [500, 510, 520]
        await batcher.close()

    run(scenario)
    assert releases == [("alone", 10, 1), ("full", 3, 1)]
    assert model.sizes == [10, 3]


def test_a_lone_request_is_released_by_the_timeout() -> None:
    model = Recorder()
    releases: list[tuple[str, int, int, float]] = []

    async def scenario() -> None:
        batcher = MicroBatcher(
            model, max_batch_size=100, max_wait_ms=10, on_release=lambda *args: releases.append(args)
        )
        result = await batcher.submit(frame_of(1, 2))
        assert result["id"].tolist() == [10, 20]
        assert batcher.stats()["timeout"] == 1
        await batcher.close()

    run(scenario)
    [(reason, rows, requests, seconds)] = releases
    assert (reason, rows, requests) == ("timeout", 2, 1)
    assert seconds >= 0.0


def test_requests_keep_queueing_while_a_batch_is_scored() -> None:
    entered, gate = threading.Event(), threading.Event()

    def slow_first_call(frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        if not entered.is_set():
            entered.set()
            gate.wait()
        return frame["id"].to_numpy() + 1

    model = Recorder(slow_first_call)

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=2, max_wait_ms=NEVER_MS)
        first = asyncio.ensure_future(batcher.submit(frame_of(0, 1)))
        await asyncio.to_thread(entered.wait)
        later = [asyncio.ensure_future(batcher.submit(frame_of(i))) for i in range(10, 14)]
        await queued(batcher, 4)
        gate.set()
        assert (await first).tolist() == [1, 2]
        assert [(await task).tolist() for task in later] == [[11], [12], [13], [14]]
        await batcher.close()

    run(scenario)
    assert model.sizes == [2, 2, 2]


def test_different_params_are_never_batched_together() -> None:
    def scaled(frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        return frame["id"] * (params or {}).get("scale", 1)

    model = Recorder(scaled)
    requests: list[tuple[pd.DataFrame, dict[str, Any] | None]] = [
        (frame_of(1), {"scale": 2, "mode": "a"}),
        (frame_of(2), {"scale": 3}),
        (frame_of(3), {"mode": "a", "scale": 2}),  # same params as the first, keys in another order
        (frame_of(4), None),
        (frame_of(5), {"scale": 3}),
        (frame_of(6), None),
    ]

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=2, max_wait_ms=NEVER_MS)
        results = await asyncio.gather(*(batcher.submit(frame, params) for frame, params in requests))
        assert [r.tolist() for r in results] == [[2], [6], [6], [4], [15], [6]]
        await batcher.close()

    run(scenario)
    assert sorted(ids for ids, _ in model.calls) == [[1, 3], [2, 5], [4, 6]]


def test_frames_with_other_columns_or_dtypes_are_not_batched_together() -> None:
    model = Recorder(lambda frame, params: frame.copy())
    first = pd.DataFrame({"id": [1], "x": [1.5]})
    other_dtype = pd.DataFrame({"id": [2], "x": [7]})
    other_columns = pd.DataFrame({"id": [3], "y": [1.0]})

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=2, max_wait_ms=NEVER_MS)
        tasks = [asyncio.ensure_future(batcher.submit(f)) for f in (first, other_dtype, other_columns)]
        await queued(batcher, 3)
        await batcher.close()
        results = [await task for task in tasks]
        assert results[1]["x"].dtype == np.int64  # not upcast by a concatenation with floats
        assert results[2].columns.tolist() == ["id", "y"]  # no column invented from another request
        assert batcher.stats()["drain"] == 3

    run(scenario)
    assert model.sizes == [1, 1, 1]


def test_a_poisoned_request_fails_alone() -> None:
    def picky(frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        if (frame["id"] < 0).any():
            raise ValueError("negative id")
        return frame["id"].to_numpy() * 2

    model = Recorder(picky)

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=3, max_wait_ms=NEVER_MS)
        frames = [frame_of(1), frame_of(-1), frame_of(3)]
        good, bad, other = await asyncio.gather(*(batcher.submit(f) for f in frames), return_exceptions=True)
        assert isinstance(good, np.ndarray) and good.tolist() == [2]
        assert isinstance(other, np.ndarray) and other.tolist() == [6]
        assert isinstance(bad, ValueError) and str(bad) == "negative id"
        assert batcher.stats()["retried_batches"] == 1
        await batcher.close()

    run(scenario)
    assert model.calls[0][0] == [1, -1, 3]  # first tried as one batch
    assert [ids for ids, _ in model.calls[1:]] == [[1], [-1], [3]]


@pytest.mark.parametrize(
    ("predict", "shape"),
    [
        (lambda frame, params: float(frame["id"].sum()), "a float with no rows"),
        (lambda frame, params: frame.head(1), "1 row(s)"),
        (lambda frame, params: np.float64(1.0), "a float64 with no rows"),
    ],
)
def test_an_output_without_one_row_per_input_row_fails_every_request(
    predict: Callable[[pd.DataFrame, Mapping[str, Any] | None], Any], shape: str
) -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(predict, max_batch_size=3, max_wait_ms=NEVER_MS)
        frames = [frame_of(1), frame_of(2, 3)]
        outcomes = await asyncio.gather(*(batcher.submit(f) for f in frames), return_exceptions=True)
        for outcome in outcomes:
            assert isinstance(outcome, UnbatchableOutput)
            assert f"returned {shape} for 3 input row(s)" in outcome.message
        await batcher.close()

    run(scenario)


def test_list_outputs_are_split_by_rows() -> None:
    async def scenario() -> None:
        batcher = MicroBatcher(
            lambda frame, params: [f"label-{i}" for i in frame["id"]], max_batch_size=3, max_wait_ms=NEVER_MS
        )
        one, two = await asyncio.gather(batcher.submit(frame_of(1, 2)), batcher.submit(frame_of(3)))
        assert (one, two) == (["label-1", "label-2"], ["label-3"])
        await batcher.close()

    run(scenario)


def test_close_answers_every_queued_request_then_refuses_new_ones() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=100, max_wait_ms=NEVER_MS)
        tasks = [asyncio.ensure_future(batcher.submit(frame_of(i))) for i in range(3)]
        await queued(batcher, 3)
        await batcher.close()
        assert [(await task)["id"].tolist() for task in tasks] == [[0], [10], [20]]
        assert batcher.stats()["drain"] == 1
        with pytest.raises(ServerBusy, match="closed"):
            await batcher.submit(frame_of(9))

    run(scenario)
    assert model.sizes == [3]


def test_a_full_queue_raises_server_busy() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=100, max_wait_ms=NEVER_MS, max_queue=2)
        tasks = [asyncio.ensure_future(batcher.submit(frame_of(i))) for i in range(2)]
        await queued(batcher, 2)
        with pytest.raises(ServerBusy, match="queue is full"):
            await batcher.submit(frame_of(5))
        assert batcher.stats()["rejected"] == 1
        await batcher.close()
        assert [(await task)["id"].tolist() for task in tasks] == [[0], [10]]

    run(scenario)
    assert ServerBusy.error_code == "TEMPORARILY_UNAVAILABLE"


def test_a_cancelled_request_is_not_scored() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=100, max_wait_ms=NEVER_MS)
        gone = asyncio.ensure_future(batcher.submit(frame_of(1)))
        kept = asyncio.ensure_future(batcher.submit(frame_of(2)))
        await queued(batcher, 2)
        gone.cancel()
        await batcher.close()
        assert (await kept)["id"].tolist() == [20]
        assert gone.cancelled()

    run(scenario)
    assert [ids for ids, _ in model.calls] == [[2]]


def test_a_failing_release_callback_does_not_stop_serving(caplog: pytest.LogCaptureFixture) -> None:
    def broken_callback(reason: str, rows: int, requests: int, seconds: float) -> None:
        raise RuntimeError("metrics are down")

    async def scenario() -> None:
        batcher = MicroBatcher(Recorder(), max_batch_size=1, max_wait_ms=NEVER_MS, on_release=broken_callback)
        assert (await batcher.submit(frame_of(4)))["id"].tolist() == [40]
        await batcher.close()

    run(scenario)
    assert "release callback failed" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"max_batch_size": 0, "max_wait_ms": 1}, "max_batch_size"),
        ({"max_batch_size": 1, "max_wait_ms": -1}, "max_wait_ms"),
        ({"max_batch_size": 1, "max_wait_ms": float("nan")}, "max_wait_ms"),
        ({"max_batch_size": 1, "max_wait_ms": 1, "max_queue": 0}, "max_queue"),
    ],
)
def test_limits_are_validated(arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgument, match=field):
        MicroBatcher(Recorder(), **arguments)


@pytest.mark.parametrize(
    "make",
    [
        lambda i: pd.DataFrame({"id": [i, i + 1], "x": [0.5, 1.5]}),  # int and float: pandas concatenates
        lambda i: pd.DataFrame({"id": [i], "x": [i * 2]}),  # all int64: stacked as one array
        lambda i: pd.DataFrame({"id": np.array([i], dtype=np.float32), "x": np.float32(0.25)}),
        lambda i: pd.DataFrame({"id": [i], "flag": [bool(i % 2)]}),
        lambda i: pd.DataFrame({"id": [i], "name": [f"n{i}"]}),
    ],
)
def test_a_batch_is_the_frame_pandas_concatenation_gives(make: Callable[[int], pd.DataFrame]) -> None:
    seen: list[pd.DataFrame] = []

    def predict(frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        seen.append(frame)
        return np.zeros(len(frame))

    frames = [make(i) for i in range(6)]

    async def scenario() -> None:
        batcher = MicroBatcher(predict, max_batch_size=100, max_wait_ms=NEVER_MS)
        tasks = [asyncio.ensure_future(batcher.submit(frame)) for frame in frames]
        await queued(batcher, len(frames))
        await batcher.close()
        await asyncio.gather(*tasks)

    run(scenario)
    assert len(seen) == 1
    pd.testing.assert_frame_equal(seen[0], pd.concat(frames, ignore_index=True))


def test_requests_with_different_given_layouts_never_share_a_batch() -> None:
    model = Recorder()

    async def scenario() -> None:
        batcher = MicroBatcher(model, max_batch_size=100, max_wait_ms=NEVER_MS)
        tasks = [
            asyncio.ensure_future(batcher.submit(frame_of(0), layout="first")),
            asyncio.ensure_future(batcher.submit(frame_of(1), layout="second")),
            asyncio.ensure_future(batcher.submit(frame_of(2), layout="first")),
            asyncio.ensure_future(batcher.submit(frame_of(3))),  # no layout: its columns are read
        ]
        await queued(batcher, 4)
        await batcher.close()
        await asyncio.gather(*tasks)

    run(scenario)
    assert sorted(ids for ids, _ in model.calls) == [[0, 2], [1], [3]]


def test_batches_move_to_the_event_loop_once_measured_fast_and_back_when_slow() -> None:
    threads: list[str] = []
    delay = {"seconds": 0.0}

    def predict(frame: pd.DataFrame, params: Mapping[str, Any] | None) -> Any:
        threads.append(threading.current_thread().name)
        if delay["seconds"]:
            time.sleep(delay["seconds"])
        return frame[["id"]] * 10

    gate = InlineGate("sklearn", limit_s=0.5)

    async def scenario() -> None:
        batcher = MicroBatcher(predict, max_batch_size=2, max_wait_ms=1, inline=gate)

        async def one_batch(*ids: int) -> None:
            outputs = await asyncio.gather(*(batcher.submit(frame_of(i)) for i in ids))
            assert [int(out["id"].iloc[0]) for out in outputs] == [i * 10 for i in ids]

        await one_batch(1, 2)  # nothing measured: the worker thread
        await one_batch(3, 4)  # measured fast: the event loop
        delay["seconds"] = 0.6  # slower than the gate's limit, on the loop this once
        await one_batch(5, 6)
        delay["seconds"] = 0.0
        await one_batch(7, 8)  # too slow last time: back on the worker thread
        await batcher.close()

    run(scenario)
    loop_thread = threading.current_thread().name
    assert threads[0].startswith("cairn-batch")
    assert threads[1] == threads[2] == loop_thread
    assert threads[3].startswith("cairn-batch")
