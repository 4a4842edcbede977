"""Two `cairn server` replicas on one PostgreSQL database and one artifact folder, written to concurrently."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from runtime_process import ServerProcess

pytestmark = pytest.mark.postgres

API = "/api/2.0/mlflow"
THREADS = 6
RUNS = 3
BATCHES = 8
POINTS = 5
SINGLE_PARAMS = 3


@pytest.fixture
def replicas(postgres_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Both replicas start at once on the empty database, so they also race to create the schema."""
    args = ["server", "--backend-store-uri", postgres_url, "--artifacts-destination", str(tmp_path / "art")]
    servers = [ServerProcess(args, cwd=tmp_path) for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        statuses = [server.stop() for server in servers]
        assert statuses == [0, 0]


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, API + path, **kwargs)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    payload: dict[str, Any] = response.json()
    return payload


def write_from_one_client(url: str, thread: int, run_ids: list[str]) -> None:
    """Log this thread's metrics and params to every run: log-batch and log-parameter calls."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for run_id, batch in itertools.product(run_ids, range(BATCHES)):
            metrics = [
                {"key": "loss", "value": thread + k / 10, "timestamp": 1000 + batch, "step": step}
                for k, step in enumerate(expected_steps(thread, batch))
            ]
            params = [{"key": f"p_{thread}_{batch}", "value": str(batch)}]
            if batch == 0:
                params.append({"key": "shared", "value": "same everywhere"})
            call(
                client,
                "POST",
                "/runs/log-batch",
                json={"run_id": run_id, "metrics": metrics, "params": params},
            )
            if batch < SINGLE_PARAMS:
                body = {"run_id": run_id, "key": f"single_{thread}_{batch}", "value": "v"}
                call(client, "POST", "/runs/log-parameter", json=body)


def expected_steps(thread: int, batch: int) -> list[int]:
    return [thread * 10_000 + batch * POINTS + k for k in range(POINTS)]


def test_writes_through_two_replicas_are_neither_lost_nor_duplicated(
    replicas: list[ServerProcess],
) -> None:
    first, second = replicas
    with httpx.Client(base_url=first.url, timeout=60) as client:
        experiment_id = call(client, "POST", "/experiments/create", json={"name": "replicas"})[
            "experiment_id"
        ]
        run_ids = [
            call(client, "POST", "/runs/create", json={"experiment_id": experiment_id})["run"]["info"][
                "run_id"
            ]
            for _ in range(RUNS)
        ]
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(write_from_one_client, replicas[thread % 2].url, thread, run_ids)
            for thread in range(THREADS)
        ]
        for future in futures:
            future.result()

    all_steps = sorted(
        s for t, b in itertools.product(range(THREADS), range(BATCHES)) for s in expected_steps(t, b)
    )
    with httpx.Client(base_url=second.url, timeout=60) as client:
        for run_id in run_ids:
            history = call(
                client, "GET", "/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"}
            )
            assert sorted(point["step"] for point in history["metrics"]) == all_steps
            params = call(client, "GET", "/runs/get", params={"run_id": run_id})["run"]["data"]["params"]
            keys = [param["key"] for param in params]
            assert len(keys) == len(set(keys)) == THREADS * (BATCHES + SINGLE_PARAMS) + 1
            assert {"key": "shared", "value": "same everywhere"} in params

    path = "/api/2.0/mlflow-artifacts/artifacts/shared/notes.txt"
    assert httpx.put(first.url + path, content=b"written by the first replica").status_code == 200
    assert httpx.get(second.url + path).content == b"written by the first replica"
