"""Down-sampled metric histories: ends, minima and maxima survive; get-history-bulk-interval over HTTP."""

from __future__ import annotations

import math
import uuid
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.entities import MetricHistory
from cairn.server.mlflow.metric_sampling import sample_history
from live_server import LiveServer, serve

API = "/api/2.0/mlflow"


def history(values: list[float], steps: list[int] | None = None) -> MetricHistory:
    steps = steps if steps is not None else list(range(len(values)))
    return MetricHistory(
        "m", array("q", steps), array("q", [1000 + i for i in range(len(values))]), array("d", values)
    )


def wave(n: int) -> list[float]:
    return [math.sin(i / 7) for i in range(n)]


def test_short_history_is_returned_whole_in_step_order() -> None:
    points = sample_history(history([3.0, 1.0, 2.0], steps=[2, 0, 1]), 10)
    assert [(p.step, p.value) for p in points] == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_long_history_keeps_ends_and_extremes() -> None:
    values = wave(1000)
    values[137], values[604] = 50.0, -50.0
    points = sample_history(history(values), 40)
    assert len(points) <= 40
    assert len(points) >= 30
    steps = [p.step for p in points]
    assert steps == sorted(steps)
    assert steps[0] == 0 and steps[-1] == 999
    assert {137, 604} <= set(steps)
    assert max(p.value for p in points) == 50.0
    assert min(p.value for p in points) == -50.0


def test_every_interval_keeps_its_min_and_max() -> None:
    values = wave(400)
    points = sample_history(history(values), 22)  # first, last and 10 intervals of two points
    kept = {p.step for p in points}
    interior = list(range(1, 399))
    for chunk in range(10):
        members = [s for s in interior if min(int((s - 0) / 399 * 10), 9) == chunk]
        assert min(members, key=lambda s: values[s]) in kept
        assert max(members, key=lambda s: values[s]) in kept


def test_step_range_limits_the_points() -> None:
    points = sample_history(history(wave(100)), 1000, start_step=10, end_step=19)
    assert [p.step for p in points] == list(range(10, 20))


def test_tiny_budgets() -> None:
    data = history(wave(50))
    assert [p.step for p in sample_history(data, 1)] == [49]
    assert [p.step for p in sample_history(data, 2)] == [0, 49]
    assert [p.step for p in sample_history(data, 3)] == [0, 49]
    assert len(sample_history(data, 4)) == 4
    with pytest.raises(ValueError, match="max_points"):
        sample_history(data, 0)


def test_nan_points_do_not_hide_real_extremes_and_repeated_steps_work() -> None:
    values = [math.nan] * 200
    values[0], values[199], values[77] = 0.0, 0.0, 9.0
    points = sample_history(history(values, steps=[5] * 200), 6)
    assert len(points) <= 6
    assert 9.0 in [p.value for p in points]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-sampling")
    live = serve(str(root / "store"), root / "artifacts")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def call(http: httpx.Client, method: str, path: str, status: int = 200, **kwargs: Any) -> dict[str, Any]:
    response = http.request(method, API + path, **kwargs)
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    return payload


def run_with_points(http: httpx.Client, experiment_id: str, values: list[float]) -> str:
    run_id: str = call(http, "POST", "/runs/create", json={"experiment_id": experiment_id})["run"]["info"][
        "run_id"
    ]
    for start in range(0, len(values), 1000):
        metrics = [
            {"key": "loss", "value": values[i], "timestamp": i, "step": i}
            for i in range(start, min(start + 1000, len(values)))
        ]
        call(http, "POST", "/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    return run_id


def test_bulk_interval_down_samples_each_run_keeping_extremes(http: httpx.Client) -> None:
    experiment_id = call(http, "POST", "/experiments/create", json={"name": f"bulk-{uuid.uuid4().hex[:8]}"})[
        "experiment_id"
    ]
    spiky = wave(3000)
    spiky[1234], spiky[2345] = 99.0, -99.0
    first = run_with_points(http, experiment_id, spiky)
    second = run_with_points(http, experiment_id, [1.0, 2.0, 3.0])
    query = [("run_ids", first), ("run_ids", second), ("metric_key", "loss"), ("max_results", "50")]
    metrics = call(http, "GET", "/metrics/get-history-bulk-interval", params=query)["metrics"]
    by_run: dict[str, list[dict[str, Any]]] = {}
    for point in metrics:
        by_run.setdefault(point["run_id"], []).append(point)
    assert list(by_run) == [first, second]
    sampled = by_run[first]
    assert 40 <= len(sampled) <= 50
    assert sampled[0]["step"] == 0 and sampled[-1]["step"] == 2999
    assert {(p["step"], p["value"]) for p in sampled} >= {(1234, 99.0), (2345, -99.0)}
    assert [p["value"] for p in by_run[second]] == [1.0, 2.0, 3.0]

    ranged = [("run_ids", first), ("metric_key", "loss"), ("start_step", "100"), ("end_step", "109")]
    steps = [
        p["step"] for p in call(http, "GET", "/metrics/get-history-bulk-interval", params=ranged)["metrics"]
    ]
    assert steps == list(range(100, 110))


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([("metric_key", "loss")], "run_ids"),
        ([("run_ids", "a" * 32)], "metric_key"),
        ([("run_ids", f"{i:032x}") for i in range(101)] + [("metric_key", "loss")], "at most 100"),
        ([("run_ids", "a" * 32), ("metric_key", "loss"), ("max_results", "0")], "max_results"),
        ([("run_ids", "a" * 32), ("metric_key", "loss"), ("max_results", "2501")], "max_results"),
        ([("run_ids", "a" * 32), ("metric_key", "loss"), ("start_step", "5")], "end_step"),
        (
            [("run_ids", "a" * 32), ("metric_key", "loss"), ("start_step", "5"), ("end_step", "4")],
            "start_step",
        ),
    ],
)
def test_bulk_interval_rejects_bad_requests(
    http: httpx.Client, params: list[tuple[str, str]], fragment: str
) -> None:
    error = call(http, "GET", "/metrics/get-history-bulk-interval", status=400, params=params)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fragment in error["message"]
