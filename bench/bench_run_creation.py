"""Benchmark 6: runs per second through the fluent API (start, 10 params, 10 metrics, 5 tags, end)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, base_parser, run_main, summarize, wanted_systems
from systems import mlflow_experiment, open_cairn, open_mlflow

PARAMS = {f"param_{i}": f"value_{i}" for i in range(10)}
METRICS = {f"metric_{i}": i / 10 for i in range(10)}
TAGS = {f"tag_{i}": f"label_{i}" for i in range(5)}
CAPTURE_VARIABLES = ("CAIRN_CAPTURE_CODE", "CAIRN_CAPTURE_ENVIRONMENT")


def run_cycle(module: Any, runs: int) -> dict[str, Any]:
    """`runs` times: start_run, log_params, log_metrics, set_tags, end_run; time each start_run too."""
    start_ms: list[float] = []
    begin = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        module.start_run()
        start_ms.append((time.perf_counter() - t0) * 1000)
        module.log_params(PARAMS)
        module.log_metrics(METRICS, step=0)
        module.set_tags(TAGS)
        module.end_run()
    total = time.perf_counter() - begin
    return {"runs": runs, "total_s": total, "runs_per_s": runs / total, "start_run_ms": summarize(start_ms)}


def cairn_cycle(workdir: Path, store: str, runs: int, capture: bool) -> dict[str, Any]:
    """The cycle on Cairn, with code and environment capture on or off (a fresh store for each)."""
    import cairn

    previous = {name: os.environ.get(name) for name in CAPTURE_VARIABLES}
    for name in CAPTURE_VARIABLES:
        os.environ[name] = "true" if capture else "false"
    try:
        client = open_cairn(workdir, store)  # the fluent API re-reads the settings for a new tracking URI
        run_cycle(cairn, 1)  # warm-up: first-use imports (and the first git / package scan when capturing)
        result = run_cycle(cairn, runs)
        experiment_runs = client.search_runs(["0"], max_results=runs + 1)
        result["runs_stored"] = len(experiment_runs)
        result["tags_of_one_run"] = len(experiment_runs[0].data.tags)
        return result
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def mlflow_cycle(workdir: Path, runs: int) -> dict[str, Any]:
    """The cycle on MLflow (its default start_run records source and git tags)."""
    import mlflow

    client = open_mlflow(workdir)
    experiment_id = mlflow_experiment(client, workdir, "runs")
    mlflow.set_experiment(experiment_id=experiment_id)
    run_cycle(mlflow, 1)
    result = run_cycle(mlflow, runs)
    found = client.search_runs([experiment_id], max_results=runs + 1)
    result["runs_stored"] = len(found)
    result["tags_of_one_run"] = len(found[0].data.tags)
    return result


def guarded(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a measurement; an error becomes part of the result instead of ending the benchmark."""
    try:
        return work()
    except Exception as error:  # reported in the JSON, e.g. while the artifact store is unfinished
        return {"error": f"{type(error).__name__}: {error}"}


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    data: dict[str, Any] = {}
    if "cairn" in systems:
        data["cairn_no_capture"] = guarded(lambda: cairn_cycle(workdir, "no-capture", args.runs, False))
        data["cairn_capture"] = guarded(lambda: cairn_cycle(workdir, "capture", args.capture_runs, True))
    if "mlflow" in systems:
        data["mlflow"] = guarded(lambda: mlflow_cycle(workdir, args.runs))

    def get(name: str, *path: str) -> float | None:
        value: Any = data.get(name)
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return float(value)

    capture_error = (data.get("cairn_capture") or {}).get("error")
    capture_note = f"failed: {capture_error}" if capture_error else f"{args.capture_runs} runs"
    rows = [
        Row(
            "runs/s, code + environment capture off (Cairn) / MLflow default",
            "runs/s",
            get("cairn_no_capture", "runs_per_s"),
            get("mlflow", "runs_per_s"),
            note=f"{args.runs} runs",
        ),
        Row(
            "runs/s, Cairn with code + environment capture on (its default)",
            "runs/s",
            get("cairn_capture", "runs_per_s"),
            None,
            note=capture_note,
        ),
        Row(
            "start_run alone, capture off / MLflow default: median",
            "ms",
            get("cairn_no_capture", "start_run_ms", "median"),
            get("mlflow", "start_run_ms", "median"),
        ),
        Row(
            "start_run alone, Cairn capture on: median",
            "ms",
            get("cairn_capture", "start_run_ms", "median"),
            None,
        ),
    ]
    return Result(
        benchmark="run_creation",
        title="6. Run creation rate with the fluent API",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=rows,
        notes=[
            "Each run: start_run(), log_params (10), log_metrics (10, one step), set_tags (5), end_run(). "
            "end_run returns after the run's metrics are durable in both systems.",
            "Cairn's code + environment capture (git state and an environment snapshot stored as run "
            "artifacts) is switched off with CAIRN_CAPTURE_CODE=false and CAIRN_CAPTURE_ENVIRONMENT=false "
            "for the main number, and measured separately with both on (Cairn's default).",
            "MLflow runs with its defaults: start_run records user, source name/type and the git commit "
            "when the script is in a git checkout; it stores no environment snapshot.",
            "One untimed warm-up run per case first.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--runs", type=int, default=50, help="runs per case (full: 200)")
    parser.add_argument(
        "--capture-runs", type=int, default=20, help="runs with Cairn's capture on (full: 200)"
    )
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
