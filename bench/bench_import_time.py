"""Benchmark 5: wall time of `python -c "import cairn"` against `import mlflow`, in fresh processes."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, summarize, wanted_systems

TARGET_MS = 150.0


def process_ms(code: str, env: dict[str, str], repeats: int, cwd: Path | None = None) -> list[float]:
    """Wall milliseconds of `python -c code` in `repeats` fresh processes (started one after another).

    `{i}` in the code is replaced by the repetition number (to give each process its own store).
    """
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", code.replace("{i}", str(i))],
            env=env,
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def first_metric_code(system: str, workdir: Path) -> str:
    """Code that imports, opens a new store in `workdir`, starts a run, logs one metric and ends the run."""
    if system == "cairn":
        return (
            f"import cairn; cairn.set_tracking_uri({str(workdir)!r} + '/cairn-{{i}}'); cairn.start_run(); "
            "cairn.log_metric('loss', 1.0); cairn.end_run()"
        )
    return (
        f"import mlflow; mlflow.set_tracking_uri('sqlite:///' + {str(workdir)!r} + '/mlflow-{{i}}.db'); "
        "mlflow.start_run(); mlflow.log_metric('loss', 1.0); mlflow.end_run()"
    )


def import_profile(module: str, env: dict[str, str], top: int = 12) -> list[dict[str, Any]]:
    """The `top` imports with the largest cumulative time, from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    entries = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            entries.append(
                {
                    "module": name,
                    "self_ms": int(self_us) / 1000,
                    "cumulative_ms": int(cumulative_us) / 1000,
                    "depth": len(indent) // 2,
                }
            )
    entries.sort(key=lambda e: e["cumulative_ms"], reverse=True)
    return entries[:top]


def heavy_modules_loaded(env: dict[str, str]) -> list[str]:
    """Which heavy libraries `import cairn` pulls in (it should pull in none)."""
    heavy = ["sqlalchemy", "numpy", "pandas", "pyarrow", "alembic", "fsspec", "sklearn", "torch", "fastapi"]
    code = f"import sys, cairn; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return [name for name in out.stdout.strip().split(",") if name]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    systems = wanted_systems(args)
    env = dict(os.environ)
    default_env = {k: v for k, v in env.items() if k != "MLFLOW_DISABLE_TELEMETRY"}
    data: dict[str, Any] = {"baseline_ms": summarize(process_ms("pass", env, args.repeats))}
    if "cairn" in systems:
        data["cairn_ms"] = summarize(process_ms("import cairn", env, args.repeats))
        data["cairn_api_ms"] = summarize(process_ms("import cairn; cairn.start_run", env, args.repeats))
        data["cairn_first_metric_ms"] = summarize(
            process_ms(first_metric_code("cairn", workdir), env, args.repeats, workdir)
        )
        data["cairn_importtime_top"] = import_profile("cairn", env)
        data["cairn_heavy_modules_loaded"] = heavy_modules_loaded(env)
    if "mlflow" in systems:
        data["mlflow_ms"] = summarize(process_ms("import mlflow", env, args.repeats))
        data["mlflow_api_ms"] = summarize(process_ms("import mlflow; mlflow.start_run", env, args.repeats))
        data["mlflow_first_metric_ms"] = summarize(
            process_ms(first_metric_code("mlflow", workdir), env, args.repeats, workdir)
        )
        data["mlflow_default_env_ms"] = summarize(process_ms("import mlflow", default_env, args.repeats))
        data["mlflow_importtime_top"] = import_profile("mlflow", env, top=8)
    baseline = data["baseline_ms"]["median"]

    def median(name: str, net: bool = False) -> float | None:
        if name not in data:
            return None
        return float(data[name]["median"]) - (baseline if net else 0.0)

    rows = [
        Row(
            "python -c 'import X', whole process: median",
            "ms",
            median("cairn_ms"),
            median("mlflow_ms"),
            Target("<=", TARGET_MS),
            f"{args.repeats} fresh processes each",
        ),
        Row(
            "same, minus a bare `python -c pass` (interpreter start-up)",
            "ms",
            median("cairn_ms", True),
            median("mlflow_ms", True),
        ),
        Row(
            "import X, then touch X.start_run (Cairn loads its tracking API lazily)",
            "ms",
            median("cairn_api_ms"),
            median("mlflow_api_ms"),
        ),
        Row(
            "import, open a new store, start a run, log 1 metric, end the run (whole process)",
            "ms",
            median("cairn_first_metric_ms"),
            median("mlflow_first_metric_ms"),
            note="includes creating each store's schema",
        ),
        Row(
            "import mlflow with MLflow's telemetry left on (its default)",
            "ms",
            None,
            median("mlflow_default_env_ms"),
        ),
    ]
    return Result(
        benchmark="import_time",
        title="5. Import time",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output), "python": sys.executable},
        rows=rows,
        notes=[
            f"Interpreter start-up alone (`python -c pass`): {baseline:.1f} ms median.",
            "Processes run one after another with a warm OS file cache (the first of each kind is not "
            "dropped).",
            "MLflow rows other than the last are measured with MLFLOW_DISABLE_TELEMETRY=true, like every "
            "other MLflow benchmark here.",
            "Heavy libraries loaded by `import cairn`: "
            f"{data.get('cairn_heavy_modules_loaded', 'not measured')}.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per case (full: 10)")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
