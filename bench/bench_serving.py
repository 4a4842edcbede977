"""Serving benchmark: `cairn models serve` against `mlflow models serve` for the same scikit-learn model.

One LogisticRegression on 20 features is fitted here and saved twice, as a Cairn package and with
`mlflow.sklearn.save_model`. Each server runs in its own process on 127.0.0.1; the load generator is an
a minimal asyncio HTTP/1.1 client in this process (bench/raw_http.py) posting pre-encoded
`dataframe_split` JSON to `/invocations` over keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import Result, Row, Target, base_parser, run_main, summarize, wanted_systems
from raw_http import RawConnection, build_post
from servers import BIN_DIR, HEALTH_POLL_S, START_TIMEOUT_S, ServerProcess, System, free_port

ROWS, FEATURES = 2_000, 20
COLUMNS = [f"f{i}" for i in range(FEATURES)]
DISTINCT_BODIES = 64
SINGLE_ROW_RATIO, HUNDRED_ROW_RATIO = 20.0, 5.0
P99_TARGET = Target("<=", 50.0)
OVERHEAD_TARGET = Target("<=", 1.0)
COLD_START_TARGET = Target("<=", 2.0)
JSON_HEADERS = {"content-type": "application/json"}
# `mlflow models serve` runs offline: no telemetry, no environment building (--env-manager local).
MLFLOW_SERVE_ENVIRONMENT = {"MLFLOW_DISABLE_TELEMETRY": "true", "PIP_NO_INDEX": "1", "NO_PROXY": "*"}


@dataclass(frozen=True)
class Payloads:
    """Pre-encoded request bodies and the predictions they must get back."""

    single: list[bytes]
    single_expected: list[list[Any]]
    hundred: list[bytes]


def fitted_model() -> tuple[Any, Any]:
    """A LogisticRegression fitted on a seeded 20-feature DataFrame, and that frame."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(ROWS, FEATURES)), columns=COLUMNS)
    labels = (frame["f0"] + frame["f1"] > 0).astype(int)
    return LogisticRegression(max_iter=200).fit(frame, labels), frame


def encode_rows(frame: Any) -> bytes:
    """A `dataframe_split` JSON body for the rows of `frame`."""
    split = {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}
    return json.dumps({"dataframe_split": split}).encode()


def build_payloads(model: Any, frame: Any, batch_rows: int) -> Payloads:
    """Distinct single-row and `batch_rows`-row bodies drawn from the training frame."""
    singles = [frame.iloc[i : i + 1] for i in range(DISTINCT_BODIES)]
    starts = range(0, DISTINCT_BODIES * batch_rows, batch_rows)
    hundreds = [frame.iloc[s % ROWS : s % ROWS + batch_rows] for s in starts]
    return Payloads(
        single=[encode_rows(rows) for rows in singles],
        single_expected=[model.predict(rows).tolist() for rows in singles],
        hundred=[encode_rows(rows) for rows in hundreds if len(rows) == batch_rows],
    )


def save_packages(model: Any, frame: Any, workdir: Path, systems: set[str]) -> dict[str, Path]:
    """The model saved for each wanted system (with the same five-row input example)."""
    paths: dict[str, Path] = {}
    example = frame.iloc[:5]
    if "cairn" in systems:
        import cairn.sklearn

        paths["cairn"] = workdir / "cairn-model"
        cairn.sklearn.save_model(model, paths["cairn"], input_example=example)
    if "mlflow" in systems:
        import mlflow.sklearn

        paths["mlflow"] = workdir / "mlflow-model"
        mlflow.sklearn.save_model(model, str(paths["mlflow"]), input_example=example)
    return paths


def predict_time_ms(model: Any, frame: Any, repeats: int) -> dict[str, Any]:
    """The estimator's own predict on one row, in this process: one-row DataFrame and one-row array."""
    import warnings

    one_frame, one_array = frame.iloc[:1], frame.to_numpy()[:1]
    out: dict[str, Any] = {}
    for label, rows in (("dataframe", one_frame), ("ndarray", one_array)):
        with warnings.catch_warnings():  # the array has no column names; the estimator was fitted with some
            warnings.simplefilter("ignore", UserWarning)
            model.predict(rows)
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.predict(rows)
                samples.append((time.perf_counter() - start) * 1000)
        out[label] = summarize(samples)
    return out


def serve_command(
    system: System, model_dir: Path, port: int, batching: tuple[int, float] | None
) -> list[str]:
    """The command line serving `model_dir` on 127.0.0.1:`port`, one process (each system's default)."""
    if system == "mlflow":
        return [
            str(BIN_DIR / "mlflow"), "models", "serve", "-m", str(model_dir),
            "-h", "127.0.0.1", "-p", str(port), "--env-manager", "local",
        ]  # fmt: skip
    command = [str(BIN_DIR / "cairn"), "models", "serve", str(model_dir), "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if batching is not None:
        command += ["--max-batch-size", str(batching[0]), "--max-batch-wait-ms", str(batching[1])]
    return command


def spawn(
    system: System, model_dir: Path, log_dir: Path, batching: tuple[int, float] | None = None
) -> ServerProcess:
    """Start a model server (not waiting for it); its output goes to a log file in `log_dir`."""
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{system}-serve-{port}.log"
    env = dict(os.environ) | (MLFLOW_SERVE_ENVIRONMENT if system == "mlflow" else {})
    # MLflow starts `uvicorn` by name: the virtualenv's bin folder must be on PATH even when not activated.
    env["PATH"] = os.pathsep.join([str(BIN_DIR), env.get("PATH", "")])
    with log_path.open("wb") as log:
        spawned_at = time.perf_counter()
        process = subprocess.Popen(
            serve_command(system, model_dir, port, batching),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=log_dir,
            env=env,
        )
    return ServerProcess(system, process, f"http://127.0.0.1:{port}", port, spawned_at, log_path)


def ping_status(port: int) -> int | None:
    """The HTTP status of GET /ping, or None when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_ping(server: ServerProcess) -> float:
    """Poll /ping until it answers 200; return seconds from spawning. Raises if the server dies."""
    deadline = server.spawned_at + START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if ping_status(server.port) == 200:
            server.ready_s = time.perf_counter() - server.spawned_at
            return server.ready_s
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.system} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        time.sleep(HEALTH_POLL_S)
    server.stop()
    raise RuntimeError(f"{server.system} not ready within {START_TIMEOUT_S:.0f} s:\n{server.log_tail()}")


async def _phase(connections: list[RawConnection], requests: list[bytes], total: int) -> dict[str, Any]:
    """`total` requests from one worker per connection, sharing one counter; latencies, time, errors."""
    latencies: list[float] = []
    errors: list[str] = []
    issued = iter(range(total))

    async def worker(connection: RawConnection) -> None:
        for i in issued:
            start = time.perf_counter()
            status, body = await connection.send(requests[i % len(requests)])
            latencies.append(time.perf_counter() - start)
            if status != 200 and len(errors) < 5:
                errors.append(f"{status}: {body[:300]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    return {"elapsed_s": time.perf_counter() - start, "latencies": latencies, "errors": errors}


async def _load(url: str, bodies: list[bytes], total: int, warmup: int, concurrency: int) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [build_post(host, port, "/invocations", body) for body in bodies]
    connections = [await RawConnection.open(host, port) for _ in range(concurrency)]
    try:
        await _phase(connections, requests, warmup)
        return await _phase(connections, requests, total)
    finally:
        for connection in connections:
            await connection.close()


def load_case(url: str, bodies: list[bytes], total: int, warmup: int, concurrency: int) -> dict[str, Any]:
    """Warm up, then send `total` requests at `concurrency`: throughput and latency percentiles (ms)."""
    cpu_before = time.process_time()
    outcome = asyncio.run(_load(url, bodies, total, warmup, concurrency))
    client_cpu_s = time.process_time() - cpu_before
    if outcome["errors"]:
        raise RuntimeError(f"{url}: requests failed: {outcome['errors']}")
    latencies_ms = [s * 1000 for s in outcome["latencies"]]
    return {
        "requests": total,
        "concurrency": concurrency,
        "throughput_rps": total / outcome["elapsed_s"],
        "elapsed_s": outcome["elapsed_s"],
        "client_cpu_s_with_warmup": client_cpu_s,
        "latency_ms": summarize(latencies_ms),
    }


def check_answers(server: ServerProcess, payloads: Payloads) -> None:
    """The server's predictions for a few single rows equal the estimator's own."""
    import httpx

    for body, expected in list(zip(payloads.single, payloads.single_expected, strict=True))[:8]:
        response = httpx.post(f"{server.url}/invocations", content=body, headers=JSON_HEADERS, timeout=60)
        response.raise_for_status()
        if response.json()["predictions"] != expected:
            raise RuntimeError(f"{server.system}: predicted {response.text[:200]}, expected {expected}")


def measure_server(
    system: System,
    model_dir: Path,
    log_dir: Path,
    payloads: Payloads,
    sizes: dict[str, int],
    batching: tuple[int, float] | None = None,
) -> dict[str, Any]:
    """One server: single-row and 100-row load at the concurrency, then one-at-a-time requests."""
    server = spawn(system, model_dir, log_dir, batching)
    try:
        out: dict[str, Any] = {"ready_s": wait_ping(server), "batching": batching}
        check_answers(server, payloads)
        warmup, concurrency = sizes["warmup"], sizes["concurrency"]
        out["single"] = load_case(server.url, payloads.single, sizes["single"], warmup, concurrency)
        out["hundred"] = load_case(server.url, payloads.hundred, sizes["hundred"], warmup, concurrency)
        out["sequential"] = load_case(server.url, payloads.single, sizes["sequential"], warmup, 1)
        return out
    finally:
        server.stop()


def cold_starts(
    system: System, model_dir: Path, log_dir: Path, loaded: list[float], extra: int
) -> dict[str, Any]:
    """Spawn to first 200 on /ping: the load servers' times plus `extra` fresh servers (stopped at once)."""
    samples = list(loaded)
    for _ in range(extra):
        server = spawn(system, model_dir, log_dir)
        try:
            samples.append(wait_ping(server))
        finally:
            server.stop()
    return summarize(samples)


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Fit and save the model, then each system's servers one at a time."""
    systems = wanted_systems(args)
    model, frame = fitted_model()
    payloads = build_payloads(model, frame, args.batch_rows)
    paths = save_packages(model, frame, workdir, systems)
    logs = workdir / "logs"
    common = {"warmup": args.warmup, "concurrency": args.concurrency, "sequential": args.overhead_requests}
    data: dict[str, Any] = {"cairn": None, "mlflow": None, "predict_ms": predict_time_ms(model, frame, 1000)}
    if "cairn" in systems:
        sizes = common | {"single": args.requests, "hundred": args.batch_requests}
        batching = (args.max_batch_size, args.max_batch_wait_ms)
        cairn = data["cairn"] = {
            "plain": measure_server("cairn", paths["cairn"], logs, payloads, sizes),
            "batched": measure_server("cairn", paths["cairn"], logs, payloads, sizes, batching),
        }
        loaded = [cairn["plain"]["ready_s"], cairn["batched"]["ready_s"]]
        cairn["cold_start_s"] = cold_starts("cairn", paths["cairn"], logs, loaded, args.cold_repeats)
    if "mlflow" in systems:
        sizes = common | {"single": args.mlflow_requests, "hundred": args.mlflow_batch_requests}
        plain = measure_server("mlflow", paths["mlflow"], logs, payloads, sizes)
        cold = cold_starts("mlflow", paths["mlflow"], logs, [plain["ready_s"]], args.cold_repeats)
        data["mlflow"] = {"plain": plain, "cold_start_s": cold}
    for part in (data["cairn"] or {}, data["mlflow"] or {}):
        for server in ("plain", "batched"):
            if server in part:
                sequential_p50 = part[server]["sequential"]["latency_ms"]["median"]
                part[server]["overhead_ms"] = sequential_p50 - data["predict_ms"]["dataframe"]["median"]
    return data


def _get(data: dict[str, Any], system: str, *path: str) -> float | None:
    value: Any = data[system]
    for name in path:
        if value is None or name not in value:
            return None
        value = value[name]
    return None if value is None else float(value)


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Rows with MLflow beside Cairn (plain and micro-batching); throughput targets are MLflow multiples."""

    def times(ratio: float, *path: str) -> Target | None:
        theirs = _get(data, "mlflow", "plain", *path)
        return Target(">=", theirs * ratio) if theirs else None

    batch = f"--max-batch-size {args.max_batch_size} --max-batch-wait-ms {args.max_batch_wait_ms:g}"
    c = args.concurrency
    rows = []
    for server, label in (("plain", "no batching"), ("batched", f"micro-batching {batch}")):
        mlflow_note = "MLflow column: its one server (no batching)"
        rows += [
            Row(
                f"single-row requests at concurrency {c}, Cairn {label}: throughput",
                "req/s",
                _get(data, "cairn", server, "single", "throughput_rps"),
                _get(data, "mlflow", "plain", "single", "throughput_rps"),
                times(SINGLE_ROW_RATIO, "single", "throughput_rps"),
                f"Cairn {args.requests} requests, MLflow {args.mlflow_requests}; target = 20x MLflow; "
                + mlflow_note,
            ),
            Row(
                f"single-row requests at concurrency {c}, Cairn {label}: p50 latency",
                "ms",
                _get(data, "cairn", server, "single", "latency_ms", "median"),
                _get(data, "mlflow", "plain", "single", "latency_ms", "median"),
            ),
            Row(
                f"single-row requests at concurrency {c}, Cairn {label}: p99 latency",
                "ms",
                _get(data, "cairn", server, "single", "latency_ms", "p99"),
                _get(data, "mlflow", "plain", "single", "latency_ms", "p99"),
                P99_TARGET,
            ),
            Row(
                f"{args.batch_rows}-row requests at concurrency {c}, Cairn {label}: throughput",
                "req/s",
                _get(data, "cairn", server, "hundred", "throughput_rps"),
                _get(data, "mlflow", "plain", "hundred", "throughput_rps"),
                times(HUNDRED_ROW_RATIO, "hundred", "throughput_rps"),
                f"Cairn {args.batch_requests} requests, MLflow {args.mlflow_batch_requests}; "
                "target = 5x MLflow",
            ),
        ]
    return [*rows, *fixed_rows(data, args)]


def fixed_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Serving overhead at concurrency 1 and cold start: absolute targets."""
    predict = data["predict_ms"]["dataframe"]["median"]
    return [
        Row(
            "serving overhead at concurrency 1: p50 latency minus the model's own one-row predict",
            "ms",
            _get(data, "cairn", "plain", "overhead_ms"),
            _get(data, "mlflow", "plain", "overhead_ms"),
            OVERHEAD_TARGET,
            f"{args.overhead_requests} sequential requests; Cairn without batching; in-process predict "
            f"on a one-row DataFrame: {predict:.3f} ms (median)",
        ),
        Row(
            "cold start: spawn to first 200 on /ping",
            "s",
            _get(data, "cairn", "cold_start_s", "median"),
            _get(data, "mlflow", "cold_start_s", "median"),
            COLD_START_TARGET,
            f"median over every server started (Cairn 2 + {args.cold_repeats}, MLflow 1 + "
            f"{args.cold_repeats}); MLflow's time includes its `mlflow models serve` launcher process",
        ),
    ]


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    return Result(
        benchmark="serving",
        title="Serving: cairn models serve against mlflow models serve (scikit-learn, 20 features)",
        params=vars(args) | {"workdir": str(workdir), "output": str(args.output)},
        rows=build_rows(data, args),
        notes=[
            "The same fitted LogisticRegression (20 float features) is saved as a Cairn package and with "
            "mlflow.sklearn.save_model (both with a five-row input example, so both check a signature).",
            "Each server is its own process on 127.0.0.1 with its default single worker: `cairn models serve "
            "<pkg>` (and again with micro-batching), `mlflow models serve --env-manager local`. Servers "
            "run one at a time.",
            "The load generator (bench/raw_http.py: pre-built HTTP/1.1 requests, one keep-alive connection "
            "per concurrent worker, asyncio) runs in the benchmark process on the same 2-core machine, so "
            "it competes with the server for CPU. "
            "Bodies are pre-encoded `dataframe_split` JSON; a warm-up precedes every case; any non-200 "
            "fails the benchmark; predictions are checked against the estimator's.",
            "Throughput = requests / wall time of the case; latency = time for one request as the client "
            "sees it. Overhead = p50 at concurrency 1 minus the estimator's own predict on a one-row "
            "DataFrame measured in this process.",
            "The client's own CPU time per case is in details (client_cpu_s_with_warmup); a first version "
            "with httpx spent about 2.3 ms of CPU per request, which capped the rate at a few hundred "
            "requests per second, so the load generator was replaced by a minimal one.",
        ],
        details=data,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    add = parser.add_argument
    add("--requests", type=int, default=2000, help="Cairn single-row requests per server (full: 20000)")
    add("--mlflow-requests", type=int, default=300, help="MLflow single-row requests (full: 2000)")
    add("--batch-requests", type=int, default=500, help="Cairn 100-row requests per server (full: 5000)")
    add("--mlflow-batch-requests", type=int, default=200, help="MLflow 100-row requests (full: 1000)")
    add("--overhead-requests", type=int, default=300, help="sequential single-row requests (full: 2000)")
    add("--warmup", type=int, default=50, help="untimed requests before each case (full: 200)")
    add("--cold-repeats", type=int, default=1, help="extra fresh servers timed to ready (full: 3)")
    add("--concurrency", type=int, default=16, help="concurrent requests in flight")
    add("--batch-rows", type=int, default=100, help="rows in each multi-row request")
    add("--max-batch-size", type=int, default=64, help="Cairn micro-batching: most rows in a batch")
    add("--max-batch-wait-ms", type=float, default=2.0, help="Cairn micro-batching: longest wait")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main()
