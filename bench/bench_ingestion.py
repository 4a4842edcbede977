"""Benchmark 2: sustained metric ingestion until the points are durable, Cairn against MLflow."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, wanted_systems
from systems import mlflow_experiment, open_cairn, open_mlflow

KEYS = [f"metric_{i}" for i in range(10)]
TARGET_POINTS_PER_S = 1_000_000.0


def cairn_loop(workdir: Path, points: int) -> dict[str, Any]:
    """TrackingClient.log_metric for `points` points over 10 keys, then flush (durable on return)."""
    client = open_cairn(workdir)
    run_id = client.create_run("0", run_name="loop").info.run_id
    keys = KEYS
    log = client.log_metric
    start = time.perf_counter()
    for i in range(points):
        log(run_id, keys[i % 10], 0.5, i // 10)
    logged = time.perf_counter()
    client.flush()
    done = time.perf_counter()
    client.set_terminated(run_id)
    return _report(points, start, logged, done, _stored(client, run_id))


def cairn_columns(workdir: Path, points: int, with_steps: bool) -> dict[str, Any]:
    """TrackingClient.log_metric_columns with numpy arrays, one call per key, then flush."""
    import numpy as np

    client = open_cairn(workdir)
    run_id = client.create_run("0", run_name="columns").info.run_id
    per_key = points // len(KEYS)
    rng = np.random.default_rng(0)
    values = [rng.random(per_key) for _ in KEYS]  # made before the clock starts
    steps = np.arange(per_key, dtype=np.int64)
    start = time.perf_counter()
    for key, column in zip(KEYS, values, strict=True):
        if with_steps:
            client.log_metric_columns(run_id, key, column, steps)
        else:
            client.log_metric_columns(run_id, key, column)
    logged = time.perf_counter()
    client.flush()
    done = time.perf_counter()
    client.set_terminated(run_id)
    return _report(per_key * len(KEYS), start, logged, done, _stored(client, run_id))


def mlflow_batches(workdir: Path, points: int, per_call: int) -> dict[str, Any]:
    """MlflowClient.log_batch with `per_call` metrics per call (each call is durable on return)."""
    from mlflow.entities import Metric

    client = open_mlflow(workdir)
    experiment = mlflow_experiment(client, workdir, "batches")
    run_id = client.create_run(experiment, run_name="batches").info.run_id
    stamp = int(time.time() * 1000)
    batches = [
        [Metric(KEYS[i % 10], 0.5, stamp, i // 10) for i in range(first, min(points, first + per_call))]
        for first in range(0, points, per_call)
    ]  # Metric objects are built before the clock starts
    start = time.perf_counter()
    for batch in batches:
        client.log_batch(run_id, metrics=batch)
    done = time.perf_counter()
    return _report(points, start, done, done, _stored(client, run_id))


def mlflow_loop(workdir: Path, points: int) -> dict[str, Any]:
    """MlflowClient.log_metric for `points` points over 10 keys (each call is durable on return)."""
    client = open_mlflow(workdir)
    experiment = mlflow_experiment(client, workdir, "loop")
    run_id = client.create_run(experiment, run_name="loop").info.run_id
    start = time.perf_counter()
    for i in range(points):
        client.log_metric(run_id, KEYS[i % 10], 0.5, step=i // 10)
    done = time.perf_counter()
    return _report(points, start, done, done, _stored(client, run_id))


def _stored(client: Any, run_id: str) -> int:
    return sum(len(client.get_metric_history(run_id, key)) for key in KEYS)


def _report(points: int, start: float, logged: float, done: float, stored: int) -> dict[str, Any]:
    return {
        "points": points,
        "points_stored": stored,
        "logging_s": logged - start,
        "final_flush_s": done - logged,
        "total_s": done - start,
        "points_per_s": points / (done - start),
    }


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    cairn: dict[str, Any] = {}
    ml: dict[str, Any] = {}
    if "cairn" in systems:
        cairn["loop"] = cairn_loop(workdir, args.points)
        cairn["columns_with_steps"] = cairn_columns(workdir, args.bulk_points, with_steps=True)
        cairn["columns_values_only"] = cairn_columns(workdir, args.bulk_points, with_steps=False)
    if "mlflow" in systems:
        ml["log_batch"] = mlflow_batches(workdir, args.mlflow_batch_points, args.mlflow_per_call)
        ml["loop"] = mlflow_loop(workdir, args.mlflow_loop_points)

    def rate(data: dict[str, Any], name: str) -> float | None:
        return data[name]["points_per_s"] if name in data else None

    target = Target(">=", TARGET_POINTS_PER_S)
    rows = [
        Row(
            "log_metric loop, 10 keys, until durable (incl. final flush)",
            "points/s",
            rate(cairn, "loop"),
            rate(ml, "loop"),
            target,
            f"Cairn {args.points:,} points, MLflow {args.mlflow_loop_points:,}",
        ),
        Row(
            "bulk path until durable: Cairn log_metric_columns (numpy values + steps) / MLflow log_batch",
            "points/s",
            rate(cairn, "columns_with_steps"),
            rate(ml, "log_batch"),
            target,
            f"Cairn {args.bulk_points:,} points in one call per key, "
            f"MLflow {args.mlflow_batch_points:,} points, {args.mlflow_per_call} metrics per log_batch",
        ),
        Row(
            "Cairn log_metric_columns, numpy values only (default steps), until durable",
            "points/s",
            rate(cairn, "columns_values_only"),
            None,
            target,
        ),
    ]
    return Result(
        benchmark="ingestion",
        title="2. Sustained metric ingestion until durable",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=rows,
        notes=[
            "The clock runs from the first logging call until the points are committed: Cairn's final "
            "flush() returns after the SQLite commit (WAL, synchronous=FULL); every MLflow call commits "
            "before returning.",
            "Input data (numpy arrays for Cairn, mlflow.entities.Metric lists for log_batch) is built "
            "before the clock starts. Every point is counted back from the store afterwards "
            "(points_stored).",
        ],
        details={"cairn": cairn or None, "mlflow": ml or None},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument(
        "--points", type=int, default=100_000, help="Cairn log_metric loop points (full: 1000000)"
    )
    parser.add_argument(
        "--bulk-points", type=int, default=1_000_000, help="Cairn log_metric_columns points (full: 10000000)"
    )
    parser.add_argument(
        "--mlflow-batch-points", type=int, default=20_000, help="MLflow log_batch points (full: 200000)"
    )
    parser.add_argument("--mlflow-per-call", type=int, default=1000, help="metrics per MLflow log_batch call")
    parser.add_argument(
        "--mlflow-loop-points", type=int, default=200, help="MLflow log_metric points (full: 2000)"
    )
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
