"""Server benchmark 1: metric ingestion from one client through the tracking server into PostgreSQL."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, speedup, wanted_systems
from rest_calls import RestCalls, create_experiment, create_run, metric_batches
from servers import ServerProcess, mlflow_http_environment, postgres_cluster, running_server

KEYS = [f"metric_{i}" for i in range(10)]
NATIVE_TARGET = Target(">=", 500_000.0)
RATIO_TARGET = 10.0
WARMUP_POINTS = 2_000
WARMUP_BATCHES = 4  # several requests, so every server worker has served one before the clock starts


def native_loop(client: Any, experiment_id: str, points: int) -> dict[str, Any]:
    """TrackingClient.log_metric for `points` points over 10 keys, then flush (durable on return)."""
    run_id = client.create_run(experiment_id, run_name=f"loop-{points}").info.run_id
    keys = KEYS
    log = client.log_metric
    start = time.perf_counter()
    for i in range(points):
        log(run_id, keys[i % 10], 0.5, i // 10)
    logged = time.perf_counter()
    client.flush()
    done = time.perf_counter()
    client.set_terminated(run_id)
    return report(points, start, logged, done, native_stored(client, run_id))


def native_columns(client: Any, experiment_id: str, points: int) -> dict[str, Any]:
    """TrackingClient.log_metric_columns with numpy values and steps, one call per key, then flush."""
    import numpy as np

    run_id = client.create_run(experiment_id, run_name=f"columns-{points}").info.run_id
    per_key = points // len(KEYS)
    rng = np.random.default_rng(0)
    values = [rng.random(per_key) for _ in KEYS]  # made before the clock starts
    steps = np.arange(per_key, dtype=np.int64)
    start = time.perf_counter()
    for key, column in zip(KEYS, values, strict=True):
        client.log_metric_columns(run_id, key, column, steps)
    logged = time.perf_counter()
    client.flush()
    done = time.perf_counter()
    client.set_terminated(run_id)
    return report(per_key * len(KEYS), start, logged, done, native_stored(client, run_id))


def native_stored(client: Any, run_id: str) -> int:
    """Points of the run's 10 metrics read back through the server."""
    return sum(len(client.get_metric_history(run_id, key)) for key in KEYS)


def mlflow_batches(server: ServerProcess, points: int, per_call: int) -> dict[str, Any]:
    """MlflowClient.log_batch with `per_call` metrics per call against `server` (each call is durable)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment(f"batches-{points}-{time.time_ns()}")
    warm_id = client.create_run(experiment_id, run_name="warm-up").info.run_id
    stamp = int(time.time() * 1000)
    warm_up = [Metric(KEYS[i % 10], 0.5, stamp, i // 10) for i in range(per_call * WARMUP_BATCHES)]
    for first in range(0, len(warm_up), per_call):
        client.log_batch(warm_id, metrics=warm_up[first : first + per_call])
    run_id = client.create_run(experiment_id, run_name="batches").info.run_id
    batches = [
        [Metric(KEYS[i % 10], 0.5, stamp, i // 10) for i in range(first, min(points, first + per_call))]
        for first in range(0, points, per_call)
    ]  # Metric objects are built before the clock starts
    cpu_start = time.process_time()
    start = time.perf_counter()
    for batch in batches:
        client.log_batch(run_id, metrics=batch)
    done = time.perf_counter()
    client_cpu_s = time.process_time() - cpu_start
    stored = sum(len(client.get_metric_history(run_id, key)) for key in KEYS)
    return report(points, start, done, done, stored) | {
        "client_cpu_s": client_cpu_s,
        "client_bound_points_per_s": points / client_cpu_s if client_cpu_s else None,
    }


def raw_batches(server: ServerProcess, points: int, per_call: int) -> dict[str, Any]:
    """The same log-batch requests as pre-encoded JSON over one keep-alive connection (no MLflow client)."""
    from mlflow import MlflowClient

    calls = RestCalls(server.port)
    try:
        experiment_id = create_experiment(calls, f"raw-batches-{points}-{time.time_ns()}")
        warm_id = create_run(calls, experiment_id)
        for body in metric_batches(warm_id, KEYS, per_call * WARMUP_BATCHES, per_call):
            calls.post_raw("/runs/log-batch", body)
        run_id = create_run(calls, experiment_id)
        bodies = metric_batches(run_id, KEYS, points, per_call)  # encoded before the clock starts
        start = time.perf_counter()
        for body in bodies:
            calls.post_raw("/runs/log-batch", body)
        done = time.perf_counter()
    finally:
        calls.close()
    client = MlflowClient(tracking_uri=server.url)
    stored = sum(len(client.get_metric_history(run_id, key)) for key in KEYS)
    return report(points, start, done, done, stored)


def report(points: int, start: float, logged: float, done: float, stored: int) -> dict[str, Any]:
    """Timings and the rate of one measurement."""
    return {
        "points": points,
        "points_stored": stored,
        "logging_s": logged - start,
        "final_flush_s": done - logged,
        "total_s": done - start,
        "points_per_s": points / (done - start),
    }


def measure_cairn(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    """Native loop, native columns and the MLflow client's log_batch against a Cairn server."""
    import cairn

    client = cairn.TrackingClient(server.url)
    experiment_id = client.create_experiment(f"ingestion-{time.time_ns()}")
    native_loop(client, experiment_id, WARMUP_POINTS)  # warm-up: connections, first-use imports
    out = {
        "native_loop": native_loop(client, experiment_id, args.points),
        "native_columns": native_columns(client, experiment_id, args.bulk_points),
        "mlflow_log_batch": mlflow_batches(server, args.batch_points, args.per_call),
        "raw_log_batch": raw_batches(server, args.batch_points, args.per_call),
    }
    return out


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Start a PostgreSQL cluster; measure each system's server in turn on its own database."""
    mlflow_http_environment()
    systems = wanted_systems(args)
    data: dict[str, Any] = {"cairn": None, "mlflow": None}
    logs = workdir / "logs"
    with postgres_cluster(workdir) as cluster:
        if "cairn" in systems:
            url = cluster.create_database("cairn_bench")
            with running_server("cairn", url, workdir / "cairn-artifacts", logs, args.workers) as server:
                data["cairn"] = measure_cairn(server, args) | {"ready_s": server.ready_s}
        if "mlflow" in systems:
            url = cluster.create_database("mlflow_bench")
            with running_server("mlflow", url, workdir / "mlflow-artifacts", logs, args.workers) as server:
                data["mlflow"] = {
                    "mlflow_log_batch": mlflow_batches(server, args.batch_points, args.per_call),
                    "raw_log_batch": raw_batches(server, args.batch_points, args.per_call),
                    "ready_s": server.ready_s,
                }
    return data


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Result rows: native paths (Cairn only) and the MLflow client's log_batch against both servers."""

    def rate(system: str, name: str) -> float | None:
        return get_value(system, name, "points_per_s")

    def get_value(system: str, name: str, field: str) -> float | None:
        part = data[system]
        value = part[name].get(field) if part else None
        return float(value) if value is not None else None

    mlflow_rate = rate("mlflow", "mlflow_log_batch")
    return [
        Row(
            "Cairn TrackingClient over HTTP: log_metric_columns (numpy values + steps), until durable",
            "points/s",
            rate("cairn", "native_columns"),
            None,
            NATIVE_TARGET,
            f"{args.bulk_points:,} points, one call per key, then flush()",
        ),
        Row(
            "Cairn TrackingClient over HTTP: log_metric loop, 10 keys, until durable",
            "points/s",
            rate("cairn", "native_loop"),
            None,
            NATIVE_TARGET,
            f"{args.points:,} points, then flush()",
        ),
        Row(
            "MlflowClient.log_batch against each server, until durable",
            "points/s",
            rate("cairn", "mlflow_log_batch"),
            mlflow_rate,
            Target(">=", RATIO_TARGET * mlflow_rate) if mlflow_rate else None,
            f"{args.batch_points:,} points, {args.per_call} metrics per call; target = 10x MLflow's number",
        ),
        Row(
            "MlflowClient log_batch: the rate its own CPU time allows (points / client CPU seconds)",
            "points/s",
            get_value("cairn", "mlflow_log_batch", "client_bound_points_per_s"),
            get_value("mlflow", "mlflow_log_batch", "client_bound_points_per_s"),
            note="an upper bound for any server: the client process's CPU time during the timed loop",
        ),
        Row(
            "same log_batch requests as pre-encoded JSON over one keep-alive connection (no MLflow client)",
            "points/s",
            rate("cairn", "raw_log_batch"),
            rate("mlflow", "raw_log_batch"),
            note="measures the server without the MLflow client's CPU cost",
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    ratio, raw_ratio = (
        speedup(data, "mlflow_log_batch", "points_per_s"),
        speedup(data, "raw_log_batch", "points_per_s"),
    )
    return Result(
        benchmark="server_ingestion",
        title="Server 1. Ingestion through the server into PostgreSQL",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(data, args),
        notes=[
            "One client process, one server process tree (`--workers "
            f"{args.workers}`) and PostgreSQL on the same 2-core machine, all on 127.0.0.1. Each system's "
            "server has its own fresh database in one throwaway PostgreSQL cluster with fsync, "
            "synchronous_commit and full_page_writes on.",
            "The clock runs from the first logging call until the points are committed: Cairn's flush() "
            "returns after the server acknowledged every ingest request, and the server answers only "
            "after its PostgreSQL commit; every MLflow-protocol log_batch call commits before it returns.",
            "Input data is built before the clock starts. A short untimed warm-up precedes each "
            "measurement (2,000 points for the native client; four log_batch calls on another run for the "
            "MLflow client and the pre-encoded requests, so that every worker has served requests). Every "
            "point is counted back through the server afterwards (points_stored).",
            "The pre-encoded rows send the very JSON bodies the MLflow client sends, built before the clock "
            "starts, with Python's http.client over one connection: microseconds of client work per "
            "request instead of the MLflow client's tens of milliseconds.",
            f"Speed-up of the Cairn server over mlflow server: {ratio or 0:.1f}x with the MLflow client, "
            f"{raw_ratio or 0:.1f}x with pre-encoded requests (0 = not measured).",
        ],
        details=data | {"log_batch_speedup": ratio, "raw_log_batch_speedup": raw_ratio},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument(
        "--points", type=int, default=100_000, help="native log_metric points (full: 1000000)"
    )
    parser.add_argument(
        "--bulk-points", type=int, default=1_000_000, help="native log_metric_columns points (full: 10000000)"
    )
    parser.add_argument(
        "--batch-points", type=int, default=20_000, help="MLflow-client log_batch points (full: 200000)"
    )
    parser.add_argument("--per-call", type=int, default=1000, help="metrics per MLflow log_batch call")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (both systems)")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
