"""Server benchmark 2: creating runs through the tracking server (SQLite back end), runs per second."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, speedup, summarize, wanted_systems
from rest_calls import RestCalls, create_experiment, full_run
from servers import ServerProcess, mlflow_http_environment, running_server

PARAMS = {f"param_{i}": f"value_{i}" for i in range(10)}
METRICS = {f"metric_{i}": i / 10 for i in range(10)}
TAGS = {f"tag_{i}": f"label_{i}" for i in range(5)}
RATIO_TARGET = 20.0
WARMUP_RUNS = 5

RunMaker = Callable[[], str]


def mlflow_maker(server: ServerProcess) -> tuple[RunMaker, Callable[[], int]]:
    """One run with the MLflow client: create_run, log_batch (10 params, 10 metrics, 5 tags), set_terminated.

    Returns the run maker and a function counting the experiment's runs through the server.
    """
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment(f"runs-{time.time_ns()}")

    def make() -> str:
        stamp = int(time.time() * 1000)
        run_id: str = client.create_run(experiment_id).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in METRICS.items()],
            params=[Param(k, v) for k, v in PARAMS.items()],
            tags=[RunTag(k, v) for k, v in TAGS.items()],
        )
        client.set_terminated(run_id)
        return run_id

    return make, lambda: count_pages(lambda token: client.search_runs([experiment_id], page_token=token))


def native_maker(server: ServerProcess) -> tuple[RunMaker, Callable[[], int]]:
    """The same run with Cairn's TrackingClient over HTTP: create_run, log_batch, set_terminated."""
    import cairn
    from cairn.entities import Metric, Param, RunTag

    client = cairn.TrackingClient(server.url)
    experiment_id = client.create_experiment(f"native-runs-{time.time_ns()}")

    def make() -> str:
        stamp = int(time.time() * 1000)
        run_id: str = client.create_run(experiment_id).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in METRICS.items()],
            params=[Param(k, v) for k, v in PARAMS.items()],
            tags=[RunTag(k, v) for k, v in TAGS.items()],
        )
        client.set_terminated(run_id)
        return run_id

    return make, lambda: count_pages(lambda token: client.search_runs([experiment_id], page_token=token))


def raw_maker(server: ServerProcess) -> tuple[RunMaker, Callable[[], int]]:
    """The same three requests as JSON over one keep-alive connection, without the MLflow client."""
    from mlflow import MlflowClient

    calls = RestCalls(server.port)
    experiment_id = create_experiment(calls, f"raw-runs-{time.time_ns()}")
    client = MlflowClient(tracking_uri=server.url)

    def count() -> int:
        calls.close()
        return count_pages(lambda token: client.search_runs([experiment_id], page_token=token))

    return lambda: full_run(calls, experiment_id, PARAMS, METRICS, TAGS), count


def count_pages(search: Callable[[str | None], Any], max_pages: int = 1000) -> int:
    """Count runs by following page tokens (bounded)."""
    total, token = 0, None
    for _ in range(max_pages):
        page = search(token)
        total += len(page)
        token = page.token
        if not token:
            return total
    raise RuntimeError(f"more than {max_pages} pages")


def time_runs(maker: tuple[RunMaker, Callable[[], int]], runs: int) -> dict[str, Any]:
    """Warm up, then make `runs` runs one after another; time each and count them back."""
    make, count = maker
    for _ in range(WARMUP_RUNS):
        make()
    samples = []
    cpu_begin = time.process_time()
    begin = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        make()
        samples.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - begin
    client_cpu_ms = (time.process_time() - cpu_begin) * 1000 / runs
    return {
        "runs": runs,
        "total_s": total,
        "runs_per_s": runs / total,
        "client_cpu_ms_per_run": client_cpu_ms,
        "client_bound_runs_per_s": 1000 / client_cpu_ms if client_cpu_ms else None,
        "run_ms": summarize(samples),
        "runs_stored": count() - WARMUP_RUNS,
    }


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Each system's server on its own fresh SQLite store, one after the other."""
    mlflow_http_environment()
    systems = wanted_systems(args)
    data: dict[str, Any] = {"cairn": None, "mlflow": None}
    logs = workdir / "logs"
    if "cairn" in systems:
        store = workdir / "cairn-store" / "cairn.db"
        store.parent.mkdir(parents=True, exist_ok=True)
        with running_server(
            "cairn", f"sqlite:///{store}", workdir / "cairn-artifacts", logs, args.workers
        ) as server:
            data["cairn"] = {
                "mlflow_client": time_runs(mlflow_maker(server), args.runs),
                "native_client": time_runs(native_maker(server), args.runs),
                "raw_requests": time_runs(raw_maker(server), args.runs),
            }
    if "mlflow" in systems:
        store = workdir / "mlflow-store" / "mlflow.db"
        store.parent.mkdir(parents=True, exist_ok=True)
        with running_server(
            "mlflow", f"sqlite:///{store}", workdir / "mlflow-artifacts", logs, args.workers
        ) as server:
            data["mlflow"] = {
                "mlflow_client": time_runs(mlflow_maker(server), args.mlflow_runs),
                "raw_requests": time_runs(raw_maker(server), args.mlflow_runs),
            }
    return data


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Runs/s with the MLflow client against both servers, and with Cairn's native client."""

    def get(system: str, client: str, *path: str) -> float | None:
        part = data[system]
        if part is None:
            return None
        value: Any = part[client]
        for name in path:
            value = value[name]
        return float(value)

    mlflow_rate = get("mlflow", "mlflow_client", "runs_per_s")
    sizes = f"Cairn {args.runs} runs, MLflow {args.mlflow_runs}"
    return [
        Row(
            "MlflowClient: create_run, log_batch (10 params, 10 metrics, 5 tags), set_terminated",
            "runs/s",
            get("cairn", "mlflow_client", "runs_per_s"),
            mlflow_rate,
            Target(">=", RATIO_TARGET * mlflow_rate) if mlflow_rate else None,
            f"{sizes}; target = 20x MLflow's number",
        ),
        Row(
            "same, one run: median",
            "ms",
            get("cairn", "mlflow_client", "run_ms", "median"),
            get("mlflow", "mlflow_client", "run_ms", "median"),
        ),
        Row(
            "MlflowClient's own CPU time per run (client process; caps the rate at 1000 / this)",
            "ms",
            get("cairn", "mlflow_client", "client_cpu_ms_per_run"),
            get("mlflow", "mlflow_client", "client_cpu_ms_per_run"),
            note="process CPU time of the benchmark process during the timed loop",
        ),
        Row(
            "Cairn TrackingClient over HTTP: the same three calls",
            "runs/s",
            get("cairn", "native_client", "runs_per_s"),
            None,
            note=f"{args.runs} runs",
        ),
        Row(
            "the same three requests as JSON over one keep-alive connection (no MLflow client)",
            "runs/s",
            get("cairn", "raw_requests", "runs_per_s"),
            get("mlflow", "raw_requests", "runs_per_s"),
            note=f"{sizes}; measures the server without the MLflow client's CPU cost",
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    ratio, raw_ratio = (
        speedup(data, "mlflow_client", "runs_per_s"),
        speedup(data, "raw_requests", "runs_per_s"),
    )
    return Result(
        benchmark="server_run_creation",
        title="Server 2. Creating runs through the server (SQLite)",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(data, args),
        notes=[
            "Each run is three requests, one after another from one client: create_run, log_batch with "
            "10 params, 10 metrics (one step) and 5 tags, set_terminated. Each request commits before it "
            "returns.",
            f"Both servers run with `--workers {args.workers}` on a fresh SQLite file (Cairn: WAL, "
            "synchronous=FULL; MLflow: its default settings), on the same 2-core machine as the client.",
            f"{WARMUP_RUNS} untimed warm-up runs per case; afterwards the runs are counted back through the "
            "server by paging search_runs (runs_stored).",
            "The last row sends the same three requests with Python's http.client over one keep-alive "
            "connection (JSON encoded with json.dumps, run ids read from the answers): microseconds of "
            "client work per request instead of the MLflow client's milliseconds.",
            f"Speed-up of the Cairn server over mlflow server: {ratio or 0:.1f}x with the MLflow client, "
            f"{raw_ratio or 0:.1f}x with plain requests (0 = not measured).",
        ],
        details=data | {"speedup": ratio, "raw_speedup": raw_ratio},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--runs", type=int, default=100, help="Cairn runs per client (full: 1000)")
    parser.add_argument("--mlflow-runs", type=int, default=30, help="runs against mlflow server (full: 200)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (both systems)")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
