"""Run every benchmark, each in a fresh process with a fresh temp store, and save the results as JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import BENCH_ENVIRONMENT, render_markdown
from machine import machine_facts

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

# name -> (script, flags for the full sizes the benchmarks are specified at)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "log_metric_latency": ("bench_log_metric_latency.py", ["--calls", "100000", "--mlflow-calls", "2000"]),
    "ingestion": (
        "bench_ingestion.py",
        [
            "--points",
            "1000000",
            "--bulk-points",
            "10000000",
            "--mlflow-batch-points",
            "200000",
            "--mlflow-loop-points",
            "2000",
        ],
    ),
    "search_runs": ("bench_search_runs.py", ["--runs", "100000", "--small-runs", "5000", "--repeats", "20"]),
    "metric_history": ("bench_metric_history.py", ["--points", "1000000", "--mlflow-points", "100000"]),
    "import_time": ("bench_import_time.py", ["--repeats", "10"]),
    "run_creation": ("bench_run_creation.py", ["--runs", "200", "--capture-runs", "200"]),
    "concurrency": (
        "bench_concurrency.py",
        [
            "--procs",
            "16",
            "--points",
            "20000",
            "--mlflow-procs",
            "16",
            "--mlflow-points",
            "1000",
            "--cold-procs",
            "16",
        ],
    ),
    "server_ingestion": (
        "bench_server_ingestion.py",
        ["--points", "1000000", "--bulk-points", "10000000", "--batch-points", "200000"],
    ),
    "server_run_creation": ("bench_server_run_creation.py", ["--runs", "1000", "--mlflow-runs", "200"]),
    "server_search": (
        "bench_server_search.py",
        ["--runs", "100000", "--small-runs", "5000", "--repeats", "20", "--paging-repeats", "3"],
    ),
    "server_startup": ("bench_server_startup.py", ["--repeats", "5", "--single-worker-repeats", "5"]),
    "models": (
        "bench_models.py",
        [
            "--trees",
            "100",
            "--repeats",
            "5",
            "--mlflow-repeats",
            "3",
            "--torch-mb",
            "200",
            "--torch-repeats",
            "2",
            "--fresh-repeats",
            "3",
        ],
    ),
    "data": ("bench_data.py", ["--mb", "1000", "--files", "100000", "--repeats", "3"]),
    "serving": (
        "bench_serving.py",
        [
            "--requests",
            "20000",
            "--mlflow-requests",
            "2000",
            "--batch-requests",
            "5000",
            "--mlflow-batch-requests",
            "1000",
            "--overhead-requests",
            "2000",
            "--warmup",
            "200",
            "--cold-repeats",
            "3",
        ],
    ),
}


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def run_one(name: str, flags: list[str], temp_root: Path, log_dir: Path, timeout: float) -> dict[str, Any]:
    """Run one benchmark script in a fresh process inside a fresh temp folder; return its JSON result."""
    script, _ = BENCHMARKS[name]
    workdir = Path(tempfile.mkdtemp(prefix=f"cairn-bench-{name}-", dir=temp_root))
    output = workdir / "result.json"
    command = [
        sys.executable,
        str(BENCH_DIR / script),
        "--workdir",
        str(workdir / "stores"),
        "--output",
        str(output),
        *flags,
    ]
    log_path = log_dir / f"{name}.log"
    env = BENCH_ENVIRONMENT | dict(os.environ)  # like prepare_environment: values set by the caller win
    load_before = load_average()
    start = time.perf_counter()
    try:
        with log_path.open("w") as log:
            done = subprocess.run(
                command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout
            )
        outcome: dict[str, Any] = (
            json.loads(output.read_text())
            if done.returncode == 0 and output.exists()
            else {"benchmark": name, "error": f"exit status {done.returncode}; see {log_path}"}
        )
    except subprocess.TimeoutExpired:
        outcome = {"benchmark": name, "error": f"timed out after {timeout:.0f} s; see {log_path}"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    outcome["command"] = " ".join(["python", f"bench/{script}", *flags])
    outcome["wall_s"] = round(time.perf_counter() - start, 1)
    outcome["load_average_before"] = load_before
    outcome["load_average_after"] = load_average()
    return outcome


def summary_markdown(results: dict[str, Any]) -> str:
    """All result tables, one section per benchmark, with the machine facts on top."""
    facts = results["machine"]
    lines = [
        f"Machine: {facts['cpu_model']}, {facts['logical_cores']} cores, {facts['memory_gib']} GiB RAM, "
        f"{facts['os']}, Python {facts['python']}, SQLite {facts['sqlite']}, MLflow {facts['mlflow']}, "
        f"{facts['date']}",
        "",
    ]
    for result in results["benchmarks"]:
        lines.append(f"## {result.get('title', result['benchmark'])}")
        lines.append("")
        if "error" in result:
            lines.append(f"FAILED: {result['error']}")
        else:
            lines.append(render_markdown(result))
            lines.extend(["", *[f"- {note}" for note in result["notes"]]])
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and write bench/results/<date>.json (and a Markdown summary beside it)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="use each benchmark's small default sizes")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per benchmark")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    stamp = dt.date.today().isoformat()
    log_dir = args.results_dir / f"{stamp}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    temp_root = Path(tempfile.gettempdir())
    results: dict[str, Any] = {
        "machine": machine_facts(temp_root),
        "quick": args.quick,
        "environment": BENCH_ENVIRONMENT,
        "benchmarks": [],
    }
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        flags = [] if args.quick else BENCHMARKS[name][1]
        result = run_one(name, flags, temp_root, log_dir, args.timeout)
        results["benchmarks"].append(result)
        print(
            f"  {name}: {'FAILED' if 'error' in result else 'done'} in {result['wall_s']} s", file=sys.stderr
        )
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    suffix = ("-quick" if args.quick else "") + ("-partial" if args.only else "")
    target = args.results_dir / f"{stamp}{suffix}.json"  # a partial run never replaces the full results
    target.write_text(json.dumps(results, indent=2, default=str) + "\n")
    markdown = summary_markdown(results)
    target.with_suffix(".md").write_text(markdown + "\n")
    print(markdown)
    print(f"results written to {target}", file=sys.stderr)
    return 1 if any("error" in r for r in results["benchmarks"]) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
