"""Server benchmark 3: search_runs through the tracking server over many runs (SQLite back end)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from harness import Result, Row, Target, base_parser, prepare_environment, run_main, summarize, wanted_systems
from rest_calls import RestCalls
from run_population import bulk_clone_runs, count_runs, make_values
from servers import ServerProcess, mlflow_http_environment, running_server
from systems import mlflow_experiment, open_mlflow

FILTER = "metrics.m0 > 0.5 AND params.p0 = 'v3'"
ORDER_BY = ["metrics.m1 DESC"]
MAX_RESULTS = 100
PAGE_SIZE = 1000
LATENCY_TARGET = Target("<=", 100.0)
PAGING_RATIO = 20.0
WARMUP_SEARCHES = 3  # several requests, so every server worker has served one before the clock starts

Search = Callable[[int, str | None], Any]  # (max_results, page_token) -> one page


def populate_cairn(folder: Path, runs: int, seed: int) -> str:
    """An embedded Cairn store with `runs` generated runs: one made by TrackingClient, the rest SQL copies."""
    import cairn
    from cairn.entities import Metric, Param

    values = make_values(runs, seed)
    client = cairn.TrackingClient(str(folder))
    experiment_id: str = client.create_experiment("search")
    stamp = int(time.time() * 1000)
    run_id = client.create_run(experiment_id, run_name="run-0", tags=values.tags(0)).info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, stamp, 0) for k, v in values.metrics(0).items()],
        params=[Param(k, v) for k, v in values.params(0).items()],
    )
    client.set_terminated(run_id)
    bulk_clone_runs(client, run_id, values, 1, runs)
    found = count_runs(client, experiment_id)
    if found != runs:
        raise RuntimeError(f"populated {found} Cairn runs, expected {runs}")
    client.store.close()
    return experiment_id


def populate_mlflow(workdir: Path, runs: int, seed: int) -> tuple[str, float]:
    """`runs` generated runs through MlflowClient on its SQLite store; returns experiment id and seconds.

    Runs in a child process, so that it overlaps with populating Cairn; nothing is timed meanwhile.
    """
    prepare_environment()
    from mlflow.entities import Metric, Param

    start = time.perf_counter()
    client = open_mlflow(workdir)
    experiment_id = mlflow_experiment(client, workdir, "search")
    values = make_values(runs, seed)  # the same draws as Cairn's runs
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


def mlflow_api(server: ServerProcess, experiment_id: str) -> tuple[Search, Search]:
    """MlflowClient.search_runs against `server`: (filtered and ordered search, plain paging)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=server.url)

    def filtered(size: int, token: str | None) -> Any:
        return client.search_runs(
            [experiment_id], filter_string=FILTER, max_results=size, order_by=ORDER_BY, page_token=token
        )

    def plain(size: int, token: str | None) -> Any:
        return client.search_runs([experiment_id], max_results=size, page_token=token)

    return filtered, plain


def native_api(server: ServerProcess, experiment_id: str) -> tuple[Search, Search]:
    """Cairn's TrackingClient.search_runs over HTTP: (filtered and ordered search, plain paging)."""
    import cairn

    client = cairn.TrackingClient(server.url)

    def filtered(size: int, token: str | None) -> Any:
        return client.search_runs(
            [experiment_id], FILTER, max_results=size, order_by=ORDER_BY, page_token=token
        )

    def plain(size: int, token: str | None) -> Any:
        return client.search_runs([experiment_id], max_results=size, page_token=token)

    return filtered, plain


class RawPage(list[dict[str, Any]]):
    """One page of runs as decoded JSON, with the next page token."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer.get("runs", []))
        self.token: str | None = answer.get("next_page_token")


def raw_api(calls: RestCalls, experiment_id: str) -> tuple[Search, Search]:
    """runs/search as plain JSON over http.client, answers decoded with json.loads (no MLflow client)."""

    def filtered(size: int, token: str | None) -> Any:
        payload = {
            "experiment_ids": [experiment_id],
            "filter": FILTER,
            "max_results": size,
            "order_by": ORDER_BY,
        }
        return RawPage(calls.post("/runs/search", payload | ({"page_token": token} if token else {})))

    def plain(size: int, token: str | None) -> Any:
        payload = {"experiment_ids": [experiment_id], "max_results": size}
        return RawPage(calls.post("/runs/search", payload | ({"page_token": token} if token else {})))

    return filtered, plain


def time_raw(
    server: ServerProcess, experiment_id: str, runs: int, args: argparse.Namespace
) -> dict[str, Any]:
    """time_api over one keep-alive connection of plain JSON requests."""
    calls = RestCalls(server.port)
    try:
        return time_api(raw_api(calls, experiment_id), runs, args)
    finally:
        calls.close()


def m1_of(run: Any) -> float:
    """A found run's metric m1, from a client's Run object or from the JSON of a raw answer."""
    if isinstance(run, dict):
        return float(next(m["value"] for m in run["data"]["metrics"] if m["key"] == "m1"))
    return float(run.data.metrics["m1"])


def time_api(api: tuple[Search, Search], runs: int, args: argparse.Namespace) -> dict[str, Any]:
    """Median latency of the filtered search (after a warm-up), then the time to page through every run."""
    filtered, plain = api
    for _ in range(WARMUP_SEARCHES - 1):
        filtered(MAX_RESULTS, None)
    found = filtered(MAX_RESULTS, None)  # the last warm-up is also the result to cross-check
    samples = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        filtered(MAX_RESULTS, None)
        samples.append((time.perf_counter() - start) * 1000)
    paging = [page_through(plain, runs) for _ in range(args.paging_repeats)]
    return {
        "search_ms": summarize(samples),
        "returned": len(found),
        "m1_values": [round(m1_of(run), 12) for run in found],
        "paging_s": summarize([p["seconds"] for p in paging]),
        "paging_client_cpu_s": summarize([p["client_cpu_s"] for p in paging]),
        "paging": paging,
    }


def page_through(plain: Search, runs: int) -> dict[str, Any]:
    """Follow page tokens (PAGE_SIZE runs a page) until the last page; bounded by the run count."""
    max_pages = runs // PAGE_SIZE + 2
    seen, pages, token = 0, 0, None
    cpu_start = time.process_time()
    start = time.perf_counter()
    while pages < max_pages:
        page = plain(PAGE_SIZE, token)
        pages += 1
        seen += len(page)
        token = page.token
        if not token:
            break
    seconds = time.perf_counter() - start
    client_cpu_s = time.process_time() - cpu_start
    if seen != runs or token:
        raise RuntimeError(f"paging saw {seen} runs in {pages} pages, expected {runs}")
    return {"seconds": seconds, "client_cpu_s": client_cpu_s, "pages": pages, "runs": seen}


def cairn_at(size: int, experiment_id: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Start the server on the populated Cairn store with `size` runs and time both APIs."""
    folder = workdir / f"cairn-{size}"
    with running_server("cairn", str(folder), folder / "artifacts", workdir / "logs", args.workers) as server:
        return {
            "runs": size,
            "mlflow_client": time_api(mlflow_api(server, experiment_id), size, args),
            "native_client": time_api(native_api(server, experiment_id), size, args),
            "raw_requests": time_raw(server, experiment_id, size, args),
        }


def populate_all(args: argparse.Namespace, workdir: Path, systems: set[str]) -> dict[str, Any]:
    """Populate both Cairn stores while MLflow's is populated in a child process; nothing is timed."""
    out: dict[str, Any] = {"cairn": {}, "mlflow": None}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        pending = (
            pool.submit(populate_mlflow, workdir, args.small_runs, args.seed) if "mlflow" in systems else None
        )
        if "cairn" in systems:
            for size in (args.small_runs, args.runs):
                start = time.perf_counter()
                experiment_id = populate_cairn(workdir / f"cairn-{size}", size, args.seed)
                out["cairn"][size] = (experiment_id, time.perf_counter() - start)
        if pending is not None:
            out["mlflow"] = pending.result()
    return out


def measure_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Populate every store first; then measure each server in turn, nothing else running."""
    mlflow_http_environment()
    systems = wanted_systems(args)
    populated = populate_all(args, workdir, systems)
    data: dict[str, Any] = {"cairn_small": None, "cairn_big": None, "mlflow": None}
    for name, size in (("cairn_small", args.small_runs), ("cairn_big", args.runs)):
        if size in populated["cairn"]:
            experiment_id, populate_s = populated["cairn"][size]
            data[name] = cairn_at(size, experiment_id, workdir, args) | {"populate_s": populate_s}
    if populated["mlflow"] is not None:
        ml_experiment, ml_populate_s = populated["mlflow"]
        folder = workdir / "mlflow"
        with running_server(
            "mlflow", f"sqlite:///{folder / 'mlflow.db'}", folder / "served", workdir / "logs", args.workers
        ) as server:
            data["mlflow"] = {
                "runs": args.small_runs,
                "populate_s": ml_populate_s,
                "mlflow_client": time_api(mlflow_api(server, ml_experiment), args.small_runs, args),
                "raw_requests": time_raw(server, ml_experiment, args.small_runs, args),
            }
    return data


CLIENTS = {
    "mlflow_client": "MlflowClient",
    "native_client": "Cairn TrackingClient over HTTP",
    "raw_requests": "plain JSON requests (no client library)",
}


def build_rows(data: dict[str, Any], args: argparse.Namespace) -> list[Row]:
    """Latency and paging rows for each client: Cairn at both sizes, MLflow at the small size only."""

    def get(part_name: str, client: str, what: str) -> float | None:
        part = data[part_name]
        return float(part[client][what]["median"]) if part and client in part else None

    big, small = f"{args.runs:,}", f"{args.small_runs:,}"
    filtered = f"filtered + ordered search, max_results={MAX_RESULTS}: median of {args.repeats}"
    paging = f"page through all runs, max_results={PAGE_SIZE} per page: median of {args.paging_repeats}"
    mlflow_paging = get("mlflow", "mlflow_client", "paging_s")
    rows = []
    for what, label, unit in (("search_ms", filtered, "ms"), ("paging_s", paging, "s")):
        for client, name in CLIENTS.items():
            target = LATENCY_TARGET if what == "search_ms" and client != "raw_requests" else None
            note = "MLflow not populated at this size" if client == "mlflow_client" else ""
            rows.append(
                Row(f"{big} runs, {label}, {name}", unit, get("cairn_big", client, what), None, target, note)
            )
        for client, name in CLIENTS.items():
            target = None
            note = ""
            if what == "paging_s" and client == "mlflow_client" and mlflow_paging:
                target, note = Target("<=", mlflow_paging / PAGING_RATIO), "target = 20x faster than MLflow"
            rows.append(
                Row(
                    f"{small} runs, {label}, {name}",
                    unit,
                    get("cairn_small", client, what),
                    get("mlflow", client, what),
                    target,
                    note,
                )
            )
    rows.append(
        Row(
            f"{small} runs, {paging}: MlflowClient's own CPU time (client process)",
            "s",
            get("cairn_small", "mlflow_client", "paging_client_cpu_s"),
            get("mlflow", "mlflow_client", "paging_client_cpu_s"),
            note="the client's parsing alone bounds how fast MlflowClient can page",
        )
    )
    return rows


def cross_check(data: dict[str, Any]) -> bool | None:
    """True when both servers return the same ordered m1 values at the small N (same data, same query)."""
    if data["cairn_small"] is None or data["mlflow"] is None:
        return None
    ours = data["cairn_small"]
    expected = data["mlflow"]["mlflow_client"]["m1_values"]
    return all(
        part[client]["m1_values"] == expected
        for part in (ours, data["mlflow"])
        for client in ("mlflow_client", "native_client", "raw_requests")
        if client in part
    )


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    """Run the benchmark for the chosen systems."""
    data = measure_all(args, workdir)
    same = cross_check(data)
    for part in data.values():
        for client in ("mlflow_client", "native_client", "raw_requests"):
            if part and client in part:
                part[client].pop("m1_values")
    return Result(
        benchmark="server_search",
        title="Server 3. search_runs through the server",
        params=vars(args)
        | {"workdir": str(workdir), "output": str(args.output), "filter": FILTER, "order_by": ORDER_BY},
        rows=build_rows(data, args),
        notes=[
            "Every run has 10 params (p_i in v0..v9), 10 metrics (uniform in [0, 1)) and 5 tags from one "
            "seeded generator, so both systems hold identical data at the small N. Both back ends are "
            f"SQLite files; both servers run with `--workers {args.workers}`.",
            "Cairn's stores are filled before its server starts: one run made by TrackingClient, the rest "
            "bulk-inserted with SQL as copies of it (bench/run_population.py). MLflow's "
            f"{args.small_runs:,} runs are made through MlflowClient on its SQLite store (create_run, "
            "log_batch, set_terminated) before its server starts. MLflow is measured at "
            f"{args.small_runs:,} runs only; nothing is extrapolated.",
            "Timings are taken from the client: each is a full search_runs call returning run objects "
            "(the MLflow client parses JSON into protobuf and entities, Cairn's native client into its "
            "entities), after three untimed warm-up searches. Paging follows page tokens until the last "
            "page, without a filter, in each system's default order, and checks that every run was seen.",
            "The plain-JSON rows send the same runs/search requests with Python's http.client over one "
            "keep-alive connection and decode the answers with json.loads: the server's time plus "
            "little client work.",
            f"Cross-check: both servers returned the same ordered metrics.m1 values at the small N: {same}.",
        ],
        details=data | {"same_results_at_small_n": same},
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse flags, measure, print and return the JSON result."""
    parser = base_parser(__doc__ or "")
    parser.add_argument("--runs", type=int, default=5_000, help="Cairn runs at the big size (full: 100000)")
    parser.add_argument("--small-runs", type=int, default=500, help="runs for both systems (full: 5000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed searches per case (full: 20)")
    parser.add_argument(
        "--paging-repeats", type=int, default=1, help="timed page-throughs per case (full: 3)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated values")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (both systems)")
    args = parser.parse_args(argv)
    if not 0 < args.small_runs < args.runs:
        parser.error("--small-runs must be positive and below --runs")
    return run_main(parser, measure, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
