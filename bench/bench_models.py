"""Models benchmark: log_model with registration through the server, and loading a model by alias.

Cairn and MLflow each run their own server (SQLite back end, local artifact folder, two workers) and their
own client: `cairn.<flavor>.log_model` / `mlflow.<flavor>.log_model`, both with `registered_model_name`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, run_main, summarize, wanted_systems
from servers import ServerProcess, mlflow_http_environment, running_server

BENCH_DIR = Path(__file__).resolve().parent
RATIO_TARGET = 5.0
FRESH_TARGET = Target("<=", 1.0)
ALIAS_OVERHEAD_TARGET = Target("<=", 50.0)
ROWS, FEATURES = 2_000, 20


def training_data() -> tuple[Any, Any]:
    """A seeded classification problem."""
    import numpy as np

    rng = np.random.default_rng(7)
    x = rng.normal(size=(ROWS, FEATURES))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


def sklearn_model(trees: int) -> Any:
    """A random forest on the benchmark data."""
    from sklearn.ensemble import RandomForestClassifier

    x, y = training_data()
    return RandomForestClassifier(n_estimators=trees, max_depth=8, random_state=0).fit(x, y)


def torch_model(megabytes: int) -> Any:
    """A stack of square linear layers holding about `megabytes` MB of float32 weights."""
    sys.path.insert(0, str(BENCH_DIR))
    from torch_bench_model import WideStack

    return WideStack.of_size(megabytes)


def torch_example() -> Any:
    """One input row for the PyTorch model (MLflow's default format, pt2, needs one to trace)."""
    import numpy as np

    from torch_bench_model import WIDTH

    return np.zeros((1, WIDTH), dtype=np.float32)


def time_calls(work: Callable[[int], Any], repeats: int) -> dict[str, Any]:
    """One untimed warm-up call, then `repeats` timed calls (each gets its index)."""
    work(-1)
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        work(i)
        samples.append(time.perf_counter() - start)
    return summarize(samples)


def cairn_log_models(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    """Cairn: sklearn and PyTorch log_model with registration, then alias loads, against its server."""
    import cairn
    import cairn.pytorch
    import cairn.sklearn

    cairn.set_tracking_uri(server.url)
    cairn.set_experiment(f"models-{time.time_ns()}")
    forest, (x, _) = sklearn_model(args.trees), training_data()

    def log_sklearn(i: int) -> None:
        with cairn.start_run():
            cairn.sklearn.log_model(
                forest, "model", registered_model_name="bench-sklearn", input_example=x[:5]
            )

    out: dict[str, Any] = {"sklearn_log_s": time_calls(log_sklearn, args.repeats)}
    cairn.RegistryClient().set_alias("bench-sklearn", "champion", 1)
    if args.torch_mb:
        module = torch_model(args.torch_mb)

        def log_torch(i: int) -> None:
            with cairn.start_run():
                cairn.pytorch.log_model(
                    module,
                    "model",
                    registered_model_name="bench-torch",
                    serialization="state_dict",
                    options={"model_class": "torch_bench_model:WideStack", "init_args": module.init_args},
                    code_paths=[str(BENCH_DIR / "torch_bench_model.py")],
                    input_example=torch_example(),
                )

        out["torch_log_s"] = time_calls(log_torch, args.torch_repeats)
    out["alias"] = alias_overhead(server, x, args.repeats)
    cairn.set_tracking_uri(None)
    return out


def alias_overhead(server: ServerProcess, x: Any, repeats: int) -> dict[str, Any]:
    """load_model by alias through the server (warm cache) against load_model from a local folder."""
    import tempfile

    import cairn.models
    from cairn.models.remote import fetch_model

    with tempfile.TemporaryDirectory() as cache:
        local = fetch_model("models:/bench-sklearn@champion", tracking_uri=server.url, cache_dir=cache)
        os.environ["CAIRN_MODEL_CACHE"] = cache
        try:
            by_alias = time_calls(
                lambda _: cairn.models.load_model("models:/bench-sklearn@champion"), repeats
            )
            from_folder = time_calls(lambda _: cairn.models.load_model(local), repeats)
        finally:
            del os.environ["CAIRN_MODEL_CACHE"]
    return {
        "by_alias_s": by_alias,
        "from_folder_s": from_folder,
        "overhead_ms": (by_alias["median"] - from_folder["median"]) * 1000,
    }


def mlflow_log_models(server: ServerProcess, args: argparse.Namespace) -> dict[str, Any]:
    """MLflow: the same log_model calls with its client against its server."""
    import mlflow
    import mlflow.pytorch
    import mlflow.sklearn

    mlflow.set_tracking_uri(server.url)
    mlflow.set_experiment(f"models-{time.time_ns()}")
    forest, (x, _) = sklearn_model(args.trees), training_data()

    def log_sklearn(i: int) -> None:
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                forest,
                name="model",
                registered_model_name="bench-sklearn",
                input_example=x[:5],
                skops_trusted_types=["sklearn.tree._tree.Tree"],  # MLflow's skops default asks for it
            )

    out: dict[str, Any] = {"sklearn_log_s": time_calls(log_sklearn, args.mlflow_repeats)}
    mlflow.MlflowClient().set_registered_model_alias("bench-sklearn", "champion", "1")
    if args.torch_mb:
        module = torch_model(args.torch_mb)

        def log_torch(i: int) -> None:
            with mlflow.start_run():
                mlflow.pytorch.log_model(
                    module, name="model", registered_model_name="bench-torch", input_example=torch_example()
                )

        out["torch_log_s"] = time_calls(log_torch, args.torch_repeats)
    mlflow.set_tracking_uri("")
    return out


FRESH_SCRIPTS = {
    "cairn": """
        import time, numpy as np
        start = time.perf_counter()
        import cairn
        model = cairn.pyfunc.load_model("models:/bench-sklearn@champion")
        model.predict(np.zeros((5, {features})))
        print(time.perf_counter() - start)
    """,
    "mlflow": """
        import time, numpy as np
        start = time.perf_counter()
        import mlflow.pyfunc
        model = mlflow.pyfunc.load_model("models:/bench-sklearn@champion")
        model.predict(np.zeros((5, {features})))
        print(time.perf_counter() - start)
    """,
}


def fresh_process(system: str, server: ServerProcess, cache: Path | None, repeats: int) -> dict[str, Any]:
    """Wall time of new Python processes that import, load by alias and predict (process start included)."""
    env = dict(os.environ)
    env["CAIRN_TRACKING_URI" if system == "cairn" else "MLFLOW_TRACKING_URI"] = server.url
    script = textwrap.dedent(FRESH_SCRIPTS[system].format(features=FEATURES))
    samples, inside = [], []
    for i in range(repeats):
        if cache is not None:
            env["CAIRN_MODEL_CACHE"] = str(cache / f"cold-{i}")  # a new cache each time: nothing reused
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
        samples.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{system} fresh load failed:\n{done.stderr[-3000:]}")
        inside.append(float(done.stdout.strip().splitlines()[-1]))
    return {"wall_s": summarize(samples), "in_process_s": summarize(inside)}


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Each system against its own server on a fresh SQLite store."""
    mlflow_http_environment()
    systems = wanted_systems(args)
    data: dict[str, Any] = {"cairn": None, "mlflow": None}
    logs = workdir / "logs"
    if "cairn" in systems:
        store = workdir / "cairn-store"
        with running_server("cairn", str(store), store / "artifacts", logs, args.workers) as server:
            data["cairn"] = cairn_log_models(server, args)
            data["cairn"]["fresh"] = fresh_process("cairn", server, workdir / "cache", args.fresh_repeats)
    if "mlflow" in systems:
        store = workdir / "mlflow-store"
        store.mkdir(parents=True, exist_ok=True)
        uri = f"sqlite:///{store / 'mlflow.db'}"
        with running_server("mlflow", uri, store / "artifacts", logs, args.workers) as server:
            data["mlflow"] = mlflow_log_models(server, args)
            data["mlflow"]["fresh"] = fresh_process("mlflow", server, None, args.fresh_repeats)
    return data


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Rows with MLflow beside Cairn; log_model targets are 5x MLflow's median."""

    def get(system: str, *path: str) -> float | None:
        value: Any = data[system]
        for name in path:
            if value is None or name not in value:
                return None
            value = value[name]
        return float(value)

    def five_x(path: tuple[str, ...]) -> Target | None:
        theirs = get("mlflow", *path)
        return Target("<=", theirs / RATIO_TARGET) if theirs else None

    sk, torch = ("sklearn_log_s", "median"), ("torch_log_s", "median")
    return [
        Row(
            f"sklearn log_model + registration through the server ({args.trees}-tree forest): median",
            "s",
            get("cairn", *sk),
            get("mlflow", *sk),
            five_x(sk),
            f"Cairn {args.repeats} calls, MLflow {args.mlflow_repeats}; target = MLflow / 5",
        ),
        Row(
            f"PyTorch log_model + registration, {args.torch_mb} MB state dict: median",
            "s",
            get("cairn", *torch),
            get("mlflow", *torch),
            five_x(torch),
            f"{args.torch_repeats} calls each; Cairn: state dict; MLflow: its default pt2 (torch.export)",
        ),
        Row(
            "fresh process: start Python, import, load models:/bench-sklearn@champion, predict (cold cache)",
            "s",
            get("cairn", "fresh", "wall_s", "median"),
            get("mlflow", "fresh", "wall_s", "median"),
            FRESH_TARGET,
            f"median of {args.fresh_repeats} processes; Cairn gets an empty model cache each time",
        ),
        Row(
            "load_model by alias through the server, minus load_model from a local folder (warm cache)",
            "ms",
            get("cairn", "alias", "overhead_ms"),
            None,
            ALIAS_OVERHEAD_TARGET,
            f"medians of {args.repeats} loads each",
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    return Result(
        benchmark="models",
        title="Models: log_model with registration, and loading by alias",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(data, args),
        notes=[
            "Both servers: SQLite back end, local artifact folder, --workers 2, on the same 2-core machine "
            "as the client. Each log_model call runs in its own new run and registers a new version.",
            "Both save scikit-learn with skops (MLflow 3.17's default too; it must be told to trust the "
            "forest's tree type, Cairn records the types it wrote). PyTorch: Cairn saves a state dict, "
            "MLflow its default (pt2, torch.export); both get the same one-row input example.",
            "One untimed warm-up call precedes each timed series.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--trees", type=int, default=20, help="trees in the forest (full: 100)")
    parser.add_argument("--repeats", type=int, default=3, help="Cairn sklearn log_model calls (full: 5)")
    parser.add_argument(
        "--mlflow-repeats", type=int, default=2, help="MLflow sklearn log_model calls (full: 3)"
    )
    parser.add_argument("--torch-mb", type=int, default=20, help="state dict size in MB; 0 skips (full: 200)")
    parser.add_argument("--torch-repeats", type=int, default=1, help="PyTorch log_model calls (full: 2)")
    parser.add_argument("--fresh-repeats", type=int, default=2, help="fresh processes per system (full: 3)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (both systems)")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main()
