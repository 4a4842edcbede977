"""Benchmark 1: how long one log_metric call holds the caller's thread, Cairn against MLflow."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, summarize, wanted_systems
from systems import mlflow_experiment, open_cairn, open_mlflow

LogCall = Callable[[str, float, int], Any]
KEYS = [f"metric_{i}" for i in range(10)]
TARGET_MEDIAN_US = 5.0
WARMUP_CAIRN = 1000
WARMUP_MLFLOW = 20


def time_each_call(log: LogCall, calls: int, first_step: int = 0) -> list[float]:
    """Microseconds of each call, timed one by one with perf_counter_ns."""
    clock = time.perf_counter_ns
    keys = [KEYS[i % len(KEYS)] for i in range(calls)]
    samples = [0] * calls
    for i in range(calls):
        key = keys[i]
        start = clock()
        log(key, 0.5, first_step + i)
        samples[i] = clock() - start
    return [s / 1000 for s in samples]


def time_batches(log: LogCall, calls: int, batch: int, first_step: int = 0) -> list[float]:
    """Microseconds per call of each batch of `batch` calls (batch time / batch)."""
    clock = time.perf_counter_ns
    keys = [KEYS[i % len(KEYS)] for i in range(batch)]
    per_call: list[float] = []
    step = first_step
    for _ in range(max(1, calls // batch)):
        start = clock()
        for j in range(batch):
            log(keys[j], 0.5, step + j)
        per_call.append((clock() - start) / batch / 1000)
        step += batch
    return per_call


def timer_overhead_us(samples: int = 100_000) -> float:
    """Median cost of the timing itself (two perf_counter_ns calls around nothing), in microseconds."""
    clock = time.perf_counter_ns
    out = [0] * samples
    for i in range(samples):
        start = clock()
        out[i] = clock() - start
    out.sort()
    return out[samples // 2] / 1000


def measure_cairn(workdir: Path, calls: int, batch: int) -> dict[str, Any]:
    """Per-call and batched latency of cairn.log_metric and TrackingClient.log_metric, then flush."""
    import cairn

    client = open_cairn(workdir)
    run = cairn.start_run()
    run_id = run.run_id
    time_each_call(cairn.log_metric, WARMUP_CAIRN)  # warm-up: starts the flusher thread
    loop_start = time.perf_counter()
    each = time_each_call(cairn.log_metric, calls, first_step=WARMUP_CAIRN)
    loop_s = time.perf_counter() - loop_start
    batched = time_batches(cairn.log_metric, calls, batch, first_step=WARMUP_CAIRN + calls)

    def explicit(key: str, value: float, step: int) -> None:
        client.log_metric(run_id, key, value, step)

    explicit_each = time_each_call(explicit, calls, first_step=WARMUP_CAIRN + 2 * calls)
    flush_start = time.perf_counter()
    cairn.flush()
    flush_s = time.perf_counter() - flush_start
    cairn.end_run()
    stored = sum(len(client.get_metric_history(run_id, key)) for key in KEYS)
    return {
        "per_call_us": summarize(each),
        "batched_us": summarize(batched),
        "explicit_client_per_call_us": summarize(explicit_each),
        "per_call_loop_s": loop_s,
        "points_per_s_caller": calls / loop_s,
        "final_flush_s": flush_s,
        "points_logged": WARMUP_CAIRN + 2 * calls + batch * max(1, calls // batch),
        "points_stored": stored,
    }


def measure_mlflow(workdir: Path, calls: int, batch: int) -> dict[str, Any]:
    """Per-call and batched latency of mlflow.log_metric, synchronous and with synchronous=False."""
    import mlflow

    client = open_mlflow(workdir)
    mlflow.set_experiment(experiment_id=mlflow_experiment(client, workdir, "latency"))
    with mlflow.start_run() as run:
        time_each_call(mlflow.log_metric, WARMUP_MLFLOW)  # warm-up
        loop_start = time.perf_counter()
        each = time_each_call(mlflow.log_metric, calls, first_step=WARMUP_MLFLOW)
        loop_s = time.perf_counter() - loop_start
        batched = time_batches(mlflow.log_metric, calls, batch, first_step=WARMUP_MLFLOW + calls)

        def log_async(key: str, value: float, step: int) -> None:
            mlflow.log_metric(key, value, step=step, synchronous=False)

        async_start = time.perf_counter()
        async_each = time_each_call(log_async, calls, first_step=WARMUP_MLFLOW + 2 * calls)
        async_loop_s = time.perf_counter() - async_start
        flush_start = time.perf_counter()
        mlflow.flush_async_logging()
        async_flush_s = time.perf_counter() - flush_start
        run_id = run.info.run_id
    stored = sum(len(client.get_metric_history(run_id, key)) for key in KEYS)
    return {
        "per_call_us": summarize(each),
        "batched_us": summarize(batched),
        "per_call_loop_s": loop_s,
        "points_per_s_caller": calls / loop_s,
        "async_per_call_us": summarize(async_each),
        "async_loop_s": async_loop_s,
        "async_flush_s": async_flush_s,
        "async_points_per_s_end_to_end": calls / (async_loop_s + async_flush_s),
        "points_logged": WARMUP_MLFLOW + 2 * calls + batch * max(1, calls // batch),
        "points_stored": stored,
    }


def build_rows(
    cairn: dict[str, Any] | None, ml: dict[str, Any] | None, args: argparse.Namespace
) -> list[Row]:
    """The result table from the raw measurements of each system."""

    def get(data: dict[str, Any] | None, *path: str) -> float | None:
        for part in path:
            if data is None:
                return None
            data = data.get(part)
        return None if data is None else float(data)  # type: ignore[arg-type]

    target = Target("<=", TARGET_MEDIAN_US)
    each_note = f"Cairn {args.calls:,} calls, MLflow {args.mlflow_calls:,}"
    batch_note = f"Cairn batches of {args.batch}, MLflow of {args.mlflow_batch}"
    return [
        Row(
            "fluent log_metric, each call timed: median",
            "µs",
            get(cairn, "per_call_us", "median"),
            get(ml, "per_call_us", "median"),
            target,
            each_note,
        ),
        Row(
            "fluent log_metric, each call timed: p99",
            "µs",
            get(cairn, "per_call_us", "p99"),
            get(ml, "per_call_us", "p99"),
        ),
        Row(
            "fluent log_metric, batch time / batch size: median",
            "µs",
            get(cairn, "batched_us", "median"),
            get(ml, "batched_us", "median"),
            target,
            batch_note,
        ),
        Row(
            "fluent log_metric, batch time / batch size: p99",
            "µs",
            get(cairn, "batched_us", "p99"),
            get(ml, "batched_us", "p99"),
        ),
        Row(
            "calls per second on the caller's thread (each-call loop)",
            "points/s",
            get(cairn, "points_per_s_caller"),
            get(ml, "points_per_s_caller"),
        ),
        Row(
            "TrackingClient.log_metric (explicit run id), each call timed: median",
            "µs",
            get(cairn, "explicit_client_per_call_us", "median"),
            None,
            target,
        ),
        Row(
            "TrackingClient.log_metric (explicit run id), each call timed: p99",
            "µs",
            get(cairn, "explicit_client_per_call_us", "p99"),
            None,
        ),
        Row(
            "MLflow opt-in log_metric(synchronous=False), each call timed: median",
            "µs",
            None,
            get(ml, "async_per_call_us", "median"),
        ),
        Row(
            "MLflow opt-in synchronous=False, end to end incl. flush_async_logging",
            "points/s",
            None,
            get(ml, "async_points_per_s_end_to_end"),
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    overhead = timer_overhead_us()
    cairn = measure_cairn(workdir, args.calls, args.batch) if "cairn" in systems else None
    ml = measure_mlflow(workdir, args.mlflow_calls, args.mlflow_batch) if "mlflow" in systems else None
    return Result(
        benchmark="log_metric_latency",
        title="1. log_metric call latency on the caller's thread",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(cairn, ml, args),
        notes=[
            f"Timer overhead (two perf_counter_ns calls around nothing), included in each-call samples: "
            f"{overhead:.3f} µs median.",
            "Cairn buffers points in memory and a background thread writes them; the caller never waits for "
            "SQLite. MLflow's default log_metric is one synchronous SQLite transaction per call.",
            f"Each system is warmed up first (Cairn {WARMUP_CAIRN:,} calls, MLflow {WARMUP_MLFLOW}) so that "
            "one-time set-up is excluded; every logged point is counted back from the store afterwards.",
        ],
        details={"timer_overhead_us": overhead, "cairn": cairn, "mlflow": ml},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--calls", type=int, default=10_000, help="Cairn calls per method (full: 100000)")
    parser.add_argument("--batch", type=int, default=1000, help="Cairn calls per timed batch")
    parser.add_argument("--mlflow-calls", type=int, default=200, help="MLflow calls per method (full: 2000)")
    parser.add_argument("--mlflow-batch", type=int, default=100, help="MLflow calls per timed batch")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
