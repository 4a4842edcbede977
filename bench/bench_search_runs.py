"""Benchmark 3: search_runs with a filter and an order over many runs, Cairn against MLflow."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness import Result, Row, base_parser, prepare_environment, run_main, summarize, wanted_systems
from run_population import RunValues, bulk_clone_runs, count_runs, make_values
from systems import mlflow_experiment, open_cairn, open_mlflow

FILTER = "metrics.m0 > 0.5 AND params.p0 = 'v3'"
ORDER_BY = ["metrics.m1 DESC"]
PAGE_SIZES = (100, 1000)


def populate_cairn(client: Any, experiment_id: str, values: RunValues, first: int, last: int) -> list[str]:
    """Create runs first..last-1 through TrackingClient: create_run (with tags), log_batch, set_terminated."""
    from cairn.entities import Metric, Param

    stamp = int(time.time() * 1000)
    run_ids = []
    for i in range(first, last):
        run = client.create_run(experiment_id, run_name=f"run-{i}", tags=values.tags(i))
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in values.metrics(i).items()],
            params=[Param(k, v) for k, v in values.params(i).items()],
        )
        client.set_terminated(run_id)
        run_ids.append(run_id)
    return run_ids


def populate_mlflow(workdir: Path, runs: int, total: int, seed: int) -> tuple[str, float]:
    """Create the first `runs` of `total` generated runs through MlflowClient; return experiment id, seconds.

    Runs in a child process, so that it overlaps with populating Cairn; nothing is timed meanwhile.
    """
    prepare_environment()
    from mlflow.entities import Metric, Param

    start = time.perf_counter()
    client = open_mlflow(workdir)
    experiment_id = mlflow_experiment(client, workdir, "search")
    values = make_values(total, seed)  # the same draws as Cairn's runs
    stamp = int(time.time() * 1000)
    for i in range(runs):
        run_id = client.create_run(experiment_id, run_name=f"run-{i}", tags=values.tags(i)).info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, 0) for k, v in values.metrics(i).items()],
            params=[Param(k, v) for k, v in values.params(i).items()],
        )
        client.set_terminated(run_id)
    return experiment_id, time.perf_counter() - start


def time_searches(search: Any, repeats: int) -> dict[str, Any]:
    """Median (and spread) of `repeats` timed searches per page size, after one untimed warm-up each."""
    out: dict[str, Any] = {}
    for size in PAGE_SIZES:
        found = search(size)  # warm-up, also the result to cross-check
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            search(size)
            samples.append((time.perf_counter() - start) * 1000)
        out[str(size)] = {
            "ms": summarize(samples),
            "returned": len(found),
            "m1_values": [round(float(run.data.metrics["m1"]), 12) for run in found],
        }
    return out


def cairn_search(client: Any, experiment_id: str, repeats: int) -> dict[str, Any]:
    """Time TrackingClient.search_runs with the benchmark's filter and order."""
    return time_searches(
        lambda size: client.search_runs([experiment_id], FILTER, max_results=size, order_by=ORDER_BY), repeats
    )


def mlflow_search(workdir: Path, experiment_id: str, repeats: int) -> dict[str, Any]:
    """Time MlflowClient.search_runs with the benchmark's filter and order."""
    client = open_mlflow(workdir)
    return time_searches(
        lambda size: client.search_runs(
            [experiment_id], filter_string=FILTER, max_results=size, order_by=ORDER_BY
        ),
        repeats,
    )


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Populate both stores (MLflow in a child process meanwhile), then time the searches one at a time."""
    systems = wanted_systems(args)
    total = max(args.runs, args.small_runs)
    values = make_values(total, args.seed)
    out: dict[str, Any] = {"cairn": None, "mlflow": None}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        pending = (
            pool.submit(populate_mlflow, workdir, args.small_runs, total, args.seed)
            if "mlflow" in systems
            else None
        )
        if "cairn" in systems:
            client = open_cairn(workdir)
            experiment_id = client.create_experiment("search")
            start = time.perf_counter()
            run_ids = populate_cairn(client, experiment_id, values, 0, args.small_runs)
            populate_s = time.perf_counter() - start
        ml_experiment, ml_populate_s = pending.result() if pending else ("", 0.0)
    if "mlflow" in systems:
        out["mlflow"] = {
            "runs": args.small_runs,
            "populate_s": ml_populate_s,
            "search": mlflow_search(workdir, ml_experiment, args.repeats),
        }
    if "cairn" in systems:
        small = {
            "runs": count_runs(client, experiment_id),
            "search": cairn_search(client, experiment_id, args.repeats),
        }
        start = time.perf_counter()
        bulk_clone_runs(client, run_ids[0], values, args.small_runs, args.runs)
        bulk_s = time.perf_counter() - start
        out["cairn"] = {
            "small": small,
            "populate_client_s": populate_s,
            "populate_bulk_s": bulk_s,
        }
        out["cairn"]["big"] = {
            "runs": count_runs(client, experiment_id),
            "search": cairn_search(client, experiment_id, args.repeats),
        }
    return out


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Result rows: both systems at the small N, Cairn alone at the big N."""

    def ms(system: str, scale: str, size: int) -> float | None:
        part = data[system]
        if part is None:
            return None
        search = part["search"] if system == "mlflow" else part[scale]["search"]
        return float(search[str(size)]["ms"]["median"])

    rows = []
    for size in PAGE_SIZES:
        rows.append(
            Row(
                f"{args.small_runs:,} runs, max_results={size}: median of {args.repeats}",
                "ms",
                ms("cairn", "small", size),
                ms("mlflow", "small", size),
            )
        )
    for size in PAGE_SIZES:
        rows.append(
            Row(
                f"{args.runs:,} runs, max_results={size}: median of {args.repeats}",
                "ms",
                ms("cairn", "big", size),
                None,
                note="MLflow not populated at this size",
            )
        )
    return rows


def cross_check(data: dict[str, Any]) -> bool | None:
    """True when Cairn and MLflow return the same ordered m1 values at the small N (same data, same query)."""
    if data["cairn"] is None or data["mlflow"] is None:
        return None
    return all(
        data["cairn"]["small"]["search"][str(size)]["m1_values"]
        == data["mlflow"]["search"][str(size)]["m1_values"]
        for size in PAGE_SIZES
    )


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    same = cross_check(data)
    client_rate = args.small_runs / data["cairn"]["populate_client_s"] if data["cairn"] else 0.0
    for part in (
        data["cairn"] and data["cairn"]["small"],
        data["cairn"] and data["cairn"]["big"],
        data["mlflow"],
    ):
        for size in PAGE_SIZES:
            if part:
                part["search"][str(size)].pop("m1_values")
    return Result(
        benchmark="search_runs",
        title="3. search_runs with filter and order",
        params=vars(args)
        | {"workdir": str(workdir), "output": str(args.output), "filter": FILTER, "order_by": ORDER_BY},
        rows=build_rows(data, args),
        notes=[
            "Every run has 10 params (p_i in v0..v9), 10 metrics (uniform in [0, 1)) and 5 tags, drawn "
            "from one seeded generator, so Cairn and MLflow hold identical data at the small N. Runs are "
            "FINISHED.",
            f"Both stores' first {args.small_runs:,} runs are created through their clients (create_run "
            "with tags, log_batch of metrics and params, set_terminated); MLflow's population runs in a "
            "child process while Cairn's runs, and no search is timed until both are done.",
            f"Cairn's runs {args.small_runs:,}..{args.runs:,} are bulk-inserted with SQL into Cairn's own "
            "tables, copying the rows of a client-made run with new ids and values (the client made "
            f"{client_rate:.0f} runs/s here; populating time is not what is measured).",
            "Each timing is one full search_runs call returning Run objects, after one untimed warm-up call.",
            "Cross-check: Cairn and MLflow returned the same ordered metrics.m1 values at the small N: "
            f"{same}.",
        ],
        details=data | {"same_results_at_small_n": same},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--runs", type=int, default=2_000, help="Cairn runs at the big size (full: 100000)")
    parser.add_argument("--small-runs", type=int, default=200, help="runs for both systems (full: 5000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed searches per case (full: 20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated values")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
