"""Shared plumbing of the benchmark scripts: flags, timing statistics, result rows and JSON output."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SYSTEMS = ("cairn", "mlflow")

# Set in every benchmark process before Cairn or MLflow is imported (and inherited by processes it starts).
BENCH_ENVIRONMENT = {
    # Cairn records code version and environment (as tags and run artifacts) when a run starts. The benchmarks
    # that create many runs keep it off so they measure the store; bench_run_creation measures it separately.
    "CAIRN_CAPTURE_CODE": "false",
    "CAIRN_CAPTURE_ENVIRONMENT": "false",
    # MLflow 3 sends usage telemetry from a background thread; Cairn sends none (and this box has no network).
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


def prepare_environment() -> None:
    """Apply BENCH_ENVIRONMENT (without overriding values the caller set) and quiet MLflow's logging."""
    for name, value in BENCH_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    import logging

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Target:
    """A goal for a Cairn number: `<=` or `>=` a value, in the row's unit."""

    op: Literal["<=", ">="]
    value: float

    def met(self, measured: float | None) -> bool | None:
        """Whether the measured value reaches the goal (None when nothing was measured)."""
        if measured is None:
            return None
        return measured <= self.value if self.op == "<=" else measured >= self.value

    def __str__(self) -> str:
        return f"{self.op} {_number(self.value)}"


@dataclass
class Row:
    """One line of a result table: the same measurement for Cairn and for MLflow."""

    name: str
    unit: str
    cairn: float | None = None
    mlflow: float | None = None
    target: Target | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The row as JSON-ready data, with `met` worked out from the target."""
        return {
            "name": self.name,
            "unit": self.unit,
            "cairn": self.cairn,
            "mlflow": self.mlflow,
            "target": str(self.target) if self.target else None,
            "met": self.target.met(self.cairn) if self.target else None,
            "note": self.note,
        }


@dataclass
class Result:
    """What one benchmark reports: its parameters, rows, notes and raw details."""

    benchmark: str
    title: str
    params: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "benchmark": self.benchmark,
            "title": self.title,
            "params": self.params,
            "rows": [row.to_json() for row in self.rows],
            "notes": self.notes,
            "details": self.details,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    """The median of the values."""
    return percentile(values, 50)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, p90, p99, mean, min and max of samples, in their own unit."""
    return {
        "median": median(values),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": sum(values) / len(values),
        "min": min(values),
        "max": max(values),
        "count": float(len(values)),
    }


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """Run `work` once and return (seconds, its result)."""
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def repeat_seconds(work: Callable[[], Any], repeats: int) -> list[float]:
    """Run `work` `repeats` times and return each duration in seconds."""
    return [timed(work)[0] for _ in range(repeats)]


def speedup(data: dict[str, Any], name: str, rate: str) -> float | None:
    """Cairn's `rate` over MLflow's for measurement `name`, when both systems were measured."""
    if not data["cairn"] or not data["mlflow"]:
        return None
    return float(data["cairn"][name][rate] / data["mlflow"][name][rate])


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workdir", type=Path, help="folder for the stores (default: a fresh temp folder)")
    parser.add_argument("--output", type=Path, help="also write the JSON result to this file")
    parser.add_argument(
        "--systems",
        default=",".join(SYSTEMS),
        help="comma-separated systems to measure (default: cairn,mlflow)",
    )
    return parser


def wanted_systems(args: argparse.Namespace) -> set[str]:
    """The systems named by --systems; unknown names are an error."""
    names = {name.strip() for name in str(args.systems).split(",") if name.strip()}
    unknown = names - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"unknown system(s) in --systems: {', '.join(sorted(unknown))}")
    return names


def run_main(
    parser: argparse.ArgumentParser,
    measure: Callable[[argparse.Namespace, Path], Result],
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Parse flags, run `measure` in a work folder, print the JSON result and write it if asked."""
    prepare_environment()
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = measure(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="cairn-bench-") as folder:
            result = measure(args, Path(folder))
    data = result.to_json()
    data["duration_s"] = round(time.perf_counter() - started, 3)
    text = json.dumps(data, indent=2, default=str)
    print(text)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
    sys.stdout.flush()
    return data


def render_markdown(result: dict[str, Any]) -> str:
    """A Markdown table of a benchmark's rows: measurement, Cairn, MLflow, target, met."""
    lines = [
        "| Measurement | Cairn | MLflow | Target (Cairn) | Met? |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    for row in result["rows"]:
        unit = row["unit"]
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        name = row["name"] + (f" ({row['note']})" if row.get("note") else "")
        target = f"{row['target']} {unit}" if row["target"] else "-"
        lines.append(
            f"| {name} | {_cell(row['cairn'], unit)} | {_cell(row['mlflow'], unit)} | {target} | {met} |"
        )
    return "\n".join(lines)


def _cell(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{_number(value)} {unit}"


def _number(value: float) -> str:
    """Three significant digits for small numbers, thousands separators for big ones."""
    if value == 0 or abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"
