"""Smoke test of the benchmark suite: every benchmark runs at tiny sizes and reports well-formed JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH_DIR))

import harness  # noqa: E402
import machine  # noqa: E402
import pg_cluster  # noqa: E402
import run_all  # noqa: E402

TINY: dict[str, list[str]] = {
    "data": ["--mb", "2", "--files", "20"],
    "log_metric_latency": ["--calls", "300", "--batch", "100", "--mlflow-calls", "10", "--mlflow-batch", "5"],
    "ingestion": [
        "--points",
        "500",
        "--bulk-points",
        "2000",
        "--mlflow-batch-points",
        "100",
        "--mlflow-per-call",
        "50",
        "--mlflow-loop-points",
        "5",
    ],
    "search_runs": ["--runs", "40", "--small-runs", "20", "--repeats", "1"],
    "metric_history": [
        "--points",
        "3000",
        "--mlflow-points",
        "300",
        "--repeats",
        "1",
        "--mlflow-repeats",
        "1",
    ],
    "import_time": ["--repeats", "1"],
    "run_creation": ["--runs", "3", "--capture-runs", "2"],
    "concurrency": [
        "--procs",
        "2",
        "--points",
        "200",
        "--mlflow-procs",
        "2",
        "--mlflow-points",
        "5",
        "--params",
        "3",
        "--cold-procs",
        "2",
    ],
    "server_ingestion": [
        "--points",
        "500",
        "--bulk-points",
        "2000",
        "--batch-points",
        "100",
        "--per-call",
        "50",
    ],
    "server_run_creation": ["--runs", "3", "--mlflow-runs", "2"],
    "server_search": ["--runs", "30", "--small-runs", "10", "--repeats", "1", "--paging-repeats", "1"],
    "server_startup": ["--repeats", "1", "--settle-s", "0.1"],
    "models": [
        "--trees",
        "3",
        "--repeats",
        "1",
        "--torch-mb",
        "2",
        "--torch-repeats",
        "1",
        "--fresh-repeats",
        "1",
    ],
    "serving": [
        "--requests",
        "40",
        "--batch-requests",
        "10",
        "--overhead-requests",
        "10",
        "--warmup",
        "5",
        "--cold-repeats",
        "0",
        "--concurrency",
        "4",
    ],
}
NEEDS_POSTGRES = {"server_ingestion"}
# MLflow costs seconds per process (import and schema creation), so only two benchmarks run it here;
# `python bench/run_all.py --quick` runs every MLflow path.
WITH_MLFLOW = ["metric_history", "run_creation"]
ROW_KEYS = {"name", "unit", "cairn", "mlflow", "target", "met", "note"}


def run_benchmark(name: str, systems: str, tmp_path: Path) -> dict[str, Any]:
    script = BENCH_DIR / run_all.BENCHMARKS[name][0]
    output = tmp_path / "result.json"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--workdir",
            str(tmp_path / "stores"),
            "--output",
            str(output),
            "--systems",
            systems,
            *TINY[name],
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data: dict[str, Any] = json.loads(output.read_text())
    assert json.loads(done.stdout) == data  # the same JSON is printed
    return data


def check_shape(data: dict[str, Any], name: str, systems: set[str]) -> None:
    assert data["benchmark"] == name
    assert isinstance(data["title"], str) and data["title"]
    assert isinstance(data["params"], dict) and isinstance(data["details"], dict)
    assert data["duration_s"] > 0
    assert data["notes"] and all(isinstance(note, str) for note in data["notes"])
    assert data["rows"]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
        for system in ("cairn", "mlflow"):
            assert row[system] is None or isinstance(row[system], float)
            if system not in systems:
                assert row[system] is None
        assert row["met"] is None if row["target"] is None else row["met"] in (True, False)
    for system in systems:
        assert any(row[system] is not None for row in data["rows"]), f"no {system} number"


def check_counts(data: dict[str, Any]) -> None:
    """Benchmarks that count what they logged back from the store must find every point."""
    details = data["details"].get("cairn")
    if data["benchmark"] == "log_metric_latency":
        assert details["points_stored"] == details["points_logged"] > 0
    elif data["benchmark"] == "ingestion":
        for part in details.values():
            assert part["points_stored"] == part["points"] > 0
    elif data["benchmark"].startswith("server_"):
        check_server_counts(data)
    elif data["benchmark"] == "concurrency":
        main = details["main"]
        assert main["points_stored"] == main["points_expected"] == 2 * 200
        assert main["params_stored"] == 2 * 3
        assert main["errors"] == 0


def check_server_counts(data: dict[str, Any]) -> None:
    """The server benchmarks read back what they wrote through the server."""
    details = data["details"]
    if data["benchmark"] == "server_ingestion":
        cairn = details["cairn"]
        for name in ("native_loop", "native_columns", "mlflow_log_batch", "raw_log_batch"):
            assert cairn[name]["points_stored"] == cairn[name]["points"] > 0, name
    elif data["benchmark"] == "server_run_creation":
        for part in details["cairn"].values():
            assert part["runs_stored"] == part["runs"] > 0
    elif data["benchmark"] == "server_search":
        for part in (details["cairn_small"], details["cairn_big"]):
            clients = ("mlflow_client", "native_client", "raw_requests")
            for client in clients:
                assert [p["runs"] for p in part[client]["paging"]] == [part["runs"]]
            assert len({part[client]["returned"] for client in clients}) == 1  # every API found the same
    elif data["benchmark"] == "server_startup":
        assert details["cairn"]["memory"]["after_workload"]["processes"] >= 1 + 2  # supervisor, two workers


@pytest.mark.parametrize("name", list(TINY))
def test_benchmark_runs_for_cairn(name: str, tmp_path: Path) -> None:
    if name in NEEDS_POSTGRES and not pg_cluster.pg_tools_available():
        pytest.skip("initdb / pg_ctl not on PATH")
    data = run_benchmark(name, "cairn", tmp_path)
    check_shape(data, name, {"cairn"})
    check_counts(data)


@pytest.mark.parametrize("name", WITH_MLFLOW)
def test_benchmark_runs_for_both_systems(name: str, tmp_path: Path) -> None:
    check_shape(run_benchmark(name, "cairn,mlflow", tmp_path), name, {"cairn", "mlflow"})


def test_every_benchmark_has_tiny_sizes() -> None:
    assert set(TINY) == set(run_all.BENCHMARKS)


def test_runner_runs_a_benchmark_in_a_fresh_process(tmp_path: Path) -> None:
    result = run_all.run_one(
        "import_time", [*TINY["import_time"], "--systems", "cairn"], tmp_path, tmp_path, 120
    )
    assert "error" not in result, result
    check_shape(result, "import_time", {"cairn"})
    assert result["command"].startswith("python bench/bench_import_time.py")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("cairn-bench-")]  # temp store removed
    facts = machine.machine_facts(tmp_path)
    assert facts["logical_cores"] and facts["python"] and facts["cpu_model"] and facts["date"]
    summary = run_all.summary_markdown({"machine": facts, "benchmarks": [result]})
    assert "| Measurement | Cairn | MLflow |" in summary


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert harness.median(values) == 50.5
    assert harness.percentile(values, 99) == pytest.approx(99.01)
    assert harness.percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        harness.percentile([], 50)


def test_targets_and_markdown() -> None:
    at_most = harness.Target("<=", 5.0)
    assert at_most.met(4.9) is True and at_most.met(5.1) is False and at_most.met(None) is None
    assert harness.Target(">=", 1e6).met(2e6) is True
    row = harness.Row("calls", "µs", 1.234, 5000.0, at_most)
    text = harness.render_markdown({"rows": [row.to_json()]})
    assert "| calls | 1.23 µs | 5,000 µs | <= 5 µs | yes |" in text
