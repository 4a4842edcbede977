"""Server benchmark 4: time from spawning the server to its first healthy answer, and its idle memory."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, summarize, wanted_systems
from servers import ServerProcess, System, mlflow_http_environment, spawn_server, tree_memory, wait_ready

START_TARGET = Target("<=", 1.0)
MEMORY_TARGET = Target("<=", 300.0)
WORKLOAD_RUNS = 5


def backend_uri(system: System, workdir: Path) -> tuple[str, Path]:
    """The SQLite store each system's server uses (the same one for every start) and its artifact folder."""
    folder = workdir / f"{system}-store"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / ("cairn.db" if system == "cairn" else "mlflow.db")
    return f"sqlite:///{database}", folder / "artifacts"


def start_once(system: System, workdir: Path, workers: int) -> tuple[float, ServerProcess]:
    """Spawn the server and wait for a 200 from /health; return the seconds taken and the running server."""
    uri, artifacts = backend_uri(system, workdir)
    server = spawn_server(system, uri, artifacts, workdir / "logs", workers)
    try:
        return wait_ready(server), server
    except BaseException:
        server.stop()
        raise


def start_times(system: System, workdir: Path, workers: int, repeats: int) -> dict[str, Any]:
    """The first start (creates the schema) and then `repeats` starts on the existing store, each stopped."""
    first, server = start_once(system, workdir, workers)
    server.stop()
    samples = []
    for _ in range(repeats):
        seconds, server = start_once(system, workdir, workers)
        server.stop()
        samples.append(seconds)
    return {"first_start_s": first, "start_s": summarize(samples), "samples": samples}


def workload(server: ServerProcess) -> None:
    """A little of everything a tracking client does, so the workers have loaded what serving needs."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment(f"idle-{time.time_ns()}")
    stamp = int(time.time() * 1000)
    for i in range(WORKLOAD_RUNS):  # several requests of each kind, so both workers likely serve some
        run_id = client.create_run(experiment_id).info.run_id
        client.log_batch(run_id, metrics=[Metric("m", i, stamp, 0)], params=[Param("p", str(i))])
        client.set_terminated(run_id)
        client.search_runs([experiment_id], "metrics.m >= 0", max_results=10)
        client.get_metric_history(run_id, "m")


def idle_memory(system: System, workdir: Path, workers: int, settle_s: float) -> dict[str, Any]:
    """Process-tree memory right after start-up and again after a small workload, each after settling."""
    _, server = start_once(system, workdir, workers)
    try:
        time.sleep(settle_s)
        fresh = tree_memory(server)
        workload(server)
        time.sleep(settle_s)
        return {"after_start": fresh, "after_workload": tree_memory(server)}
    finally:
        server.stop()


def measure_system(system: System, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start-up times with `--workers` and with one worker, then idle memory with `--workers`."""
    out = {
        "workers": args.workers,
        "start": start_times(system, workdir, args.workers, args.repeats),
        "memory": idle_memory(system, workdir, args.workers, args.settle_s),
    }
    if args.single_worker_repeats:
        out["start_one_worker"] = start_times(system, workdir, 1, args.single_worker_repeats)
    return out


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Start-up and memory rows for both systems."""

    def get(system: str, *path: str) -> float | None:
        value: Any = data[system]
        for name in path:
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
        return float(value)

    def memory(system: str, when: str, what: str) -> float | None:
        return get(system, "memory", when, what)

    workers = f"--workers {args.workers}"
    return [
        Row(
            f"spawn to first 200 on /health, {workers}: median of {args.repeats}",
            "s",
            get("cairn", "start", "start_s", "median"),
            get("mlflow", "start", "start_s", "median"),
            START_TARGET,
            "existing SQLite store",
        ),
        Row(
            f"same, first start on a new store (creates the schema), {workers}",
            "s",
            get("cairn", "start", "first_start_s"),
            get("mlflow", "start", "first_start_s"),
        ),
        Row(
            f"spawn to first 200 on /health, --workers 1: median of {args.single_worker_repeats}",
            "s",
            get("cairn", "start_one_worker", "start_s", "median"),
            get("mlflow", "start_one_worker", "start_s", "median"),
        ),
        Row(
            f"idle memory after start-up, {workers}: sum of RSS over the process tree",
            "MiB",
            memory("cairn", "after_start", "rss_mib"),
            memory("mlflow", "after_start", "rss_mib"),
            MEMORY_TARGET,
        ),
        Row(
            f"idle memory after a small workload, {workers}: sum of RSS over the process tree",
            "MiB",
            memory("cairn", "after_workload", "rss_mib"),
            memory("mlflow", "after_workload", "rss_mib"),
            MEMORY_TARGET,
        ),
        Row(
            "same, sum of PSS (shared pages counted once)",
            "MiB",
            memory("cairn", "after_workload", "pss_mib"),
            memory("mlflow", "after_workload", "pss_mib"),
        ),
        Row(
            "processes in the server's tree",
            "processes",
            memory("cairn", "after_workload", "processes"),
            memory("mlflow", "after_workload", "processes"),
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    mlflow_http_environment()
    systems = wanted_systems(args)
    data: dict[str, Any] = {"cairn": None, "mlflow": None}
    for system in ("cairn", "mlflow"):
        if system in systems:
            data[system] = measure_system(system, workdir / system, args)
    cairn_median = data["cairn"]["start"]["start_s"]["median"] if data["cairn"] else None
    return Result(
        benchmark="server_startup",
        title="Server 4. Start-up time and idle memory",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(data, args),
        notes=[
            "Start-up: the clock starts just before the server process is spawned (`cairn server` / "
            "`mlflow server` from the virtualenv's bin folder, SQLite back end on 127.0.0.1) and stops at "
            "the first 200 from GET /health, polled every 10 ms. The first start creates the schema and is "
            f"reported apart; the median is over the next {args.repeats} starts on the same store, each "
            "server stopped (SIGTERM) before the next one is spawned. Warm OS file cache.",
            f"Memory: a fresh `--workers {args.workers}` server; psutil sums RSS (and PSS) over the spawned "
            f"process and all its descendants {args.settle_s:g} s after /health first answered, and again "
            f"{args.settle_s:g} s after a small MLflow-client workload ({WORKLOAD_RUNS} runs created, "
            "logged, ended, searched and their history read). RSS counts pages shared between forked "
            "workers once per process; PSS splits them.",
            "mlflow server (3.17) also starts job-runner processes next to its uvicorn workers; they are "
            "part of its process tree and counted.",
            f"Cairn median start-up: {cairn_median:.3f} s." if cairn_median else "Cairn not measured.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--repeats", type=int, default=2, help="timed starts per system (full: 5)")
    parser.add_argument(
        "--single-worker-repeats", type=int, default=0, help="timed starts with one worker (full: 5)"
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (both systems)")
    parser.add_argument("--settle-s", type=float, default=2.0, help="idle seconds before each memory reading")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
