"""Benchmark 4: reading one metric's whole history back, Cairn against MLflow."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, base_parser, repeat_seconds, run_main, summarize, wanted_systems
from systems import mlflow_experiment, open_cairn, open_mlflow

FLUSH_POINTS = 10_000  # Cairn's history is written in flushes of this many points, like a live training loop


def fill_cairn(client: Any, run_id: str, key: str, points: int) -> None:
    """Log `points` points of one metric as a training loop would: many flushes of FLUSH_POINTS each."""
    import numpy as np

    rng = np.random.default_rng(1)
    for first in range(0, points, FLUSH_POINTS):
        count = min(FLUSH_POINTS, points - first)
        steps = np.arange(first, first + count, dtype=np.int64)
        client.log_metric_columns(run_id, key, rng.random(count), steps)
        client.flush()


def read_cairn(client: Any, run_id: str, key: str, points: int, repeats: int) -> dict[str, Any]:
    """Time get_metric_history, iterating every Metric of it, and to_numpy, each `repeats` times."""
    history = client.get_metric_history(run_id, key)
    assert len(history) == points, f"expected {points} points, read {len(history)}"

    def iterate() -> float:
        total = 0.0
        for metric in history:
            total += metric.value
        return total

    def columns() -> Any:
        arrays = history.to_numpy()
        return float(arrays["value"].sum())

    return {
        "points": points,
        "get_metric_history_s": summarize(
            repeat_seconds(lambda: client.get_metric_history(run_id, key), repeats)
        ),
        "iterate_metrics_s": summarize(repeat_seconds(iterate, repeats)),
        "to_numpy_and_sum_s": summarize(repeat_seconds(columns, repeats)),
    }


def measure_cairn(workdir: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    """Fill and read a history of each size in one Cairn run."""
    client = open_cairn(workdir)
    run_id = client.create_run("0", run_name="history").info.run_id
    out: dict[str, Any] = {}
    for points in sizes:
        key = f"loss_{points}"
        start = time.perf_counter()
        fill_cairn(client, run_id, key, points)
        fill_s = time.perf_counter() - start
        out[str(points)] = read_cairn(client, run_id, key, points, repeats) | {"fill_s": fill_s}
    client.set_terminated(run_id)
    return out


def measure_mlflow(workdir: Path, points: int, repeats: int) -> dict[str, Any]:
    """Fill one MLflow history with log_batch (1000 per call), then time get_metric_history."""
    from mlflow.entities import Metric

    client = open_mlflow(workdir)
    run_id = client.create_run(mlflow_experiment(client, workdir, "history"), run_name="history").info.run_id
    stamp = int(time.time() * 1000)
    start = time.perf_counter()
    for first in range(0, points, 1000):
        batch = [Metric("loss", 0.5, stamp, step) for step in range(first, min(points, first + 1000))]
        client.log_batch(run_id, metrics=batch)
    fill_s = time.perf_counter() - start
    history = client.get_metric_history(run_id, "loss")
    assert len(history) == points, f"expected {points} points, read {len(history)}"
    return {
        "points": points,
        "fill_s": fill_s,
        "get_metric_history_s": summarize(
            repeat_seconds(lambda: client.get_metric_history(run_id, "loss"), repeats)
        ),
    }


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    sizes = sorted({args.mlflow_points, args.points})
    cairn = measure_cairn(workdir, sizes, args.repeats) if "cairn" in systems else None
    ml = measure_mlflow(workdir, args.mlflow_points, args.mlflow_repeats) if "mlflow" in systems else None

    def median_ms(data: dict[str, Any] | None, name: str) -> float | None:
        return None if data is None else float(data[name]["median"]) * 1000

    small, big = (cairn or {}).get(str(args.mlflow_points)), (cairn or {}).get(str(args.points))
    rows = [
        Row(
            f"get_metric_history, {args.mlflow_points:,} points",
            "ms",
            median_ms(small, "get_metric_history_s"),
            median_ms(ml, "get_metric_history_s"),
            note="MLflow returns a list of Metric objects",
        ),
        Row(
            f"iterate all {args.mlflow_points:,} Metric objects of the history read",
            "ms",
            median_ms(small, "iterate_metrics_s"),
            None,
            note="MLflow's list is already built",
        ),
        Row(
            f"get_metric_history, {args.points:,} points",
            "ms",
            median_ms(big, "get_metric_history_s"),
            None,
            note="MLflow not measured at this size",
        ),
        Row(
            f"iterate all {args.points:,} Metric objects of the history read",
            "ms",
            median_ms(big, "iterate_metrics_s"),
            None,
        ),
        Row(
            f"or: to_numpy() and sum the values, {args.points:,} points",
            "ms",
            median_ms(big, "to_numpy_and_sum_s"),
            None,
        ),
    ]
    return Result(
        benchmark="metric_history",
        title="4. Reading a metric history",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=rows,
        notes=[
            f"Cairn's histories are logged with log_metric_columns and flushed every {FLUSH_POINTS:,} "
            "points, so they are stored in the chunks a live training loop would leave (merged up to "
            "Cairn's chunk size).",
            "MLflow's history is logged with log_batch, 1,000 points per call. Medians over "
            f"{args.repeats} (Cairn) and {args.mlflow_repeats} (MLflow) reads of a warm database; the "
            "first read, which checks the point count, is not timed.",
            "Cairn's MetricHistory holds three columns and builds Metric objects only when iterated; MLflow "
            "builds every Metric object inside get_metric_history.",
        ],
        details={"cairn": cairn, "mlflow": ml},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--points", type=int, default=100_000, help="Cairn history length (full: 1000000)")
    parser.add_argument(
        "--mlflow-points", type=int, default=10_000, help="MLflow history length (full: 100000)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed Cairn reads")
    parser.add_argument("--mlflow-repeats", type=int, default=3, help="timed MLflow reads")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
