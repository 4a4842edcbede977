"""Benchmark 7: many processes logging into the same embedded store at once, Cairn against MLflow."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, base_parser, prepare_environment, run_main, summarize, wanted_systems
from systems import cairn_folder, mlflow_experiment, mlflow_uri, open_cairn, open_mlflow

KEYS = [f"metric_{i}" for i in range(10)]
LOCKED = "database is locked"


class _LogCounter(logging.Handler):
    """Counts warnings and errors a library logs (retries, failed background flushes)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


def _worker(
    system: str,
    store: str,
    experiment_id: str,
    points: int,
    params: int,
    cold: bool,
    barrier: Any,
    queue: Any,
) -> None:
    """One logging process: open the store and create a run, wait for the others, log, flush, report.

    With `cold`, the process waits first and then opens the store, so that all of them race to create it.
    """
    prepare_environment()
    counter = _LogCounter()
    logging.getLogger("cairn" if system == "cairn" else "mlflow").addHandler(counter)
    errors: list[str] = []
    client, run_id = None, ""
    started = finished = 0.0
    if cold:
        barrier.wait(timeout=600)
    try:
        client, run_id = _open_and_create(system, store, experiment_id)
    except Exception as error:  # reported to the parent, which counts failed processes
        errors.append(f"open/create_run: {type(error).__name__}: {error}"[:300])
    if not cold:
        barrier.wait(timeout=600)
    if client is not None:
        started = time.time()
        errors += _log_all(system, client, run_id, points, params)
        finished = time.time()
    queue.put(
        {
            "run_id": run_id,
            "started": started,
            "finished": finished,
            "errors": errors,
            "logged_warnings": counter.messages,
        }
    )


def _open_and_create(system: str, store: str, experiment_id: str) -> tuple[Any, str]:
    if system == "cairn":
        from cairn import TrackingClient

        client: Any = TrackingClient(store)
        return client, client.create_run(experiment_id).info.run_id
    from mlflow import MlflowClient

    client = MlflowClient(store)
    return client, client.create_run(experiment_id).info.run_id


def _log_all(system: str, client: Any, run_id: str, points: int, params: int) -> list[str]:
    """Log the points and params, keeping going after errors (MLflow raises per call); flush and end."""
    errors: list[str] = []
    for i in range(points):
        try:
            client.log_metric(run_id, KEYS[i % 10], float(i), step=i // 10)
        except Exception as error:
            errors.append(f"log_metric: {type(error).__name__}: {error}"[:300])
    for i in range(params):
        try:
            client.log_param(run_id, f"param_{i}", f"value_{i}")
        except Exception as error:
            errors.append(f"log_param: {type(error).__name__}: {error}"[:300])
    try:
        if system == "cairn":
            client.flush()
        client.set_terminated(run_id)
    except Exception as error:
        errors.append(f"flush/end: {type(error).__name__}: {error}"[:300])
    return errors


def run_processes(
    system: str, store: str, experiment_id: str, procs: int, points: int, params: int, cold: bool = False
) -> dict[str, Any]:
    """Start `procs` spawned processes, release them together, and collect what each reports."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(procs + 1)
    queue = context.Queue()
    workers = [
        context.Process(
            target=_worker, args=(system, store, experiment_id, points, params, cold, barrier, queue)
        )
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=600)
    released = time.time()
    reports = [queue.get(timeout=1800) for _ in workers]
    done = time.time()
    for worker in workers:
        worker.join()
    return {"released": released, "done": done, "wall_s": done - released, "reports": reports}


def verify(
    system: str, workdir: Path, reports: list[dict[str, Any]], points: int, params: int
) -> dict[str, Any]:
    """Count what reached the store: points per run (get_metric_history) and params per run."""
    client: Any = open_cairn(workdir) if system == "cairn" else open_mlflow(workdir)
    stored_points = stored_params = 0
    for report in reports:
        if not report["run_id"]:
            continue
        stored_points += sum(len(client.get_metric_history(report["run_id"], key)) for key in KEYS)
        stored_params += len(client.get_run(report["run_id"]).data.params)
    expected = len(reports) * points
    return {
        "points_expected": expected,
        "points_stored": stored_points,
        "points_lost": expected - stored_points,
        "params_expected": len(reports) * params,
        "params_stored": stored_params,
    }


def summarize_run(
    system: str, workdir: Path, raw: dict[str, Any], points: int, params: int
) -> dict[str, Any]:
    """Wall time, throughput, errors (and how many mention a locked database) and the verification."""
    reports = raw.pop("reports")
    errors = [e for r in reports for e in r["errors"]]
    warnings = [w for r in reports for w in r["logged_warnings"]]
    checked = verify(system, workdir, reports, points, params)
    finished = [r for r in reports if r["finished"]]
    timeline = {
        "process_logging_s": summarize([r["finished"] - r["started"] for r in finished])
        if finished
        else None,
        "process_start_lag_s": summarize([r["started"] - raw["released"] for r in finished])
        if finished
        else None,
    }
    return (
        raw
        | checked
        | timeline
        | {
            "points_per_s": checked["points_stored"] / raw["wall_s"] if raw["wall_s"] > 0 else None,
            "processes": len(reports),
            "failed_processes": sum(1 for r in reports if not r["run_id"] or not r["finished"]),
            "errors": len(errors),
            "locked_errors": sum(LOCKED in e for e in errors),
            "error_samples": sorted(set(errors))[:5],
            "logged_warnings": len(warnings),
            "locked_warnings": sum(LOCKED in w for w in warnings),
            "warning_samples": sorted(set(warnings))[:5],
        }
    )


def cold_open(system: str, workdir: Path, procs: int) -> dict[str, Any]:
    """`procs` processes open one not-yet-created store at once and each creates a run (schema race)."""
    store = (
        str(cairn_folder(workdir, "cold-cairn")) if system == "cairn" else mlflow_uri(workdir, "cold-mlflow")
    )
    raw = run_processes(system, store, "0", procs, 0, 0, cold=True)
    errors = [e for r in raw["reports"] for e in r["errors"]]
    return {
        "processes": procs,
        "wall_s": raw["wall_s"],
        "failed_processes": sum(1 for r in raw["reports"] if r["errors"]),
        "error_samples": sorted(set(errors))[:5],
    }


def measure_system(system: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The cold-open check, then the main run on a store the parent created first."""
    procs, points = (
        (args.procs, args.points) if system == "cairn" else (args.mlflow_procs, args.mlflow_points)
    )
    if system == "cairn":
        open_cairn(workdir)
        store, experiment_id = str(cairn_folder(workdir)), "0"
    else:
        client = open_mlflow(workdir)
        store, experiment_id = mlflow_uri(workdir), mlflow_experiment(client, workdir, "concurrency")
    raw = run_processes(system, store, experiment_id, procs, points, args.params)
    return {
        "main": summarize_run(system, workdir, raw, points, args.params),
        "cold_open": cold_open(system, workdir, args.cold_procs) if args.cold_procs else None,
    }


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    data = {
        name: measure_system(name, args, workdir) if name in systems else None for name in ("cairn", "mlflow")
    }

    def get(system: str, part: str, name: str) -> float | None:
        section = data[system]
        value = section[part][name] if section and section[part] else None
        return None if value is None else float(value)

    sizes = (
        f"Cairn {args.procs} x {args.points:,} points, MLflow {args.mlflow_procs} x {args.mlflow_points:,}; "
        f"{args.params} params each"
    )
    rows = [
        Row(
            "total wall time, release to last process done",
            "s",
            get("cairn", "main", "wall_s"),
            get("mlflow", "main", "wall_s"),
            note=sizes,
        ),
        Row(
            "points/s across all processes (stored points / wall time)",
            "points/s",
            get("cairn", "main", "points_per_s"),
            get("mlflow", "main", "points_per_s"),
        ),
        Row(
            "points lost (logged - counted by get_metric_history)",
            "points",
            get("cairn", "main", "points_lost"),
            get("mlflow", "main", "points_lost"),
        ),
        Row(
            "params stored / expected",
            "params",
            get("cairn", "main", "params_stored"),
            get("mlflow", "main", "params_stored"),
            note=f"expected {args.params} per process",
        ),
        Row(
            "errors raised to the caller",
            "errors",
            get("cairn", "main", "errors"),
            get("mlflow", "main", "errors"),
        ),
        Row(
            "... of which 'database is locked'",
            "errors",
            get("cairn", "main", "locked_errors"),
            get("mlflow", "main", "locked_errors"),
        ),
        Row(
            "warnings logged (e.g. retried lock timeouts)",
            "warnings",
            get("cairn", "main", "logged_warnings"),
            get("mlflow", "main", "logged_warnings"),
        ),
        Row(
            f"processes failing when {args.cold_procs} open a new store at once",
            "processes",
            get("cairn", "cold_open", "failed_processes"),
            get("mlflow", "cold_open", "failed_processes"),
        ),
    ]
    return Result(
        benchmark="concurrency",
        title="7. Concurrent writers on one embedded store",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=rows,
        notes=[
            "Each process is started with the spawn method, opens the store and creates its run, then "
            "waits at a barrier; the clock starts when all are released. Each logs its points with "
            "log_metric (10 keys), then log_param one by one, then (Cairn) flush, then set_terminated.",
            "The parent creates the store before the main run; the cold-open row is a separate check in "
            "which the processes race to create a brand-new store (schema creation) and each create one "
            "run.",
            f"All processes share the machine's {multiprocessing.cpu_count()} cores: the wall time is CPU "
            "contention plus whatever each process does while it holds SQLite's write lock (details has "
            "each process's logging time and start lag).",
            "MLflow processes keep going after an error: each failed call is counted and the first "
            "messages are kept in details.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--procs", type=int, default=4, help="Cairn processes (full: 16)")
    parser.add_argument("--points", type=int, default=2_000, help="points per Cairn process (full: 20000)")
    parser.add_argument("--mlflow-procs", type=int, default=4, help="MLflow processes (full: 16)")
    parser.add_argument(
        "--mlflow-points", type=int, default=100, help="points per MLflow process (full: 1000)"
    )
    parser.add_argument("--params", type=int, default=20, help="params per process")
    parser.add_argument(
        "--cold-procs", type=int, default=4, help="processes in the cold-open check (0: skip)"
    )
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
