"""The native /api/v1 API spoken over raw HTTP: OpenAPI, error shapes, pagination and metric histories."""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cairn.server.native import models
from cairn.store.wire_format import decode_history
from live_server import LiveServer

API = "/api/v1"


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def _run(http: httpx.Client, experiment_id: str = "0", name: str = "r") -> dict[str, Any]:
    body = {"experiment_id": experiment_id, "user_id": "ana", "start_time": 1, "run_name": name}
    response = http.post(f"{API}/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, Any] = response.json()
    return run


def test_openapi_documents_every_native_resource(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    paths = document["paths"]
    expected = {
        f"{API}/experiments": {"get", "post"},
        f"{API}/experiments/search": {"post"},
        f"{API}/experiments/by-name": {"get"},
        f"{API}/experiments/{{experiment_id}}": {"get", "patch", "delete"},
        f"{API}/experiments/{{experiment_id}}/restore": {"post"},
        f"{API}/experiments/{{experiment_id}}/tags/{{key}}": {"put", "delete"},
        f"{API}/runs": {"post"},
        f"{API}/runs/search": {"post"},
        f"{API}/runs/{{run_id}}": {"get", "patch", "delete"},
        f"{API}/runs/{{run_id}}/log-batch": {"post"},
        f"{API}/runs/{{run_id}}/inputs": {"post"},
        f"{API}/runs/{{run_id}}/tags/{{key}}": {"delete"},
        f"{API}/runs/heartbeat": {"post"},
        f"{API}/runs/fail-stale": {"post"},
        f"{API}/runs/{{run_id}}/metrics/{{key}}/history": {"get"},
        f"{API}/metrics/ingest": {"post"},
        f"{API}/runs/{{run_id}}/artifact-records": {"get", "post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    ingest = paths[f"{API}/metrics/ingest"]["post"]
    assert "application/x-cairn-metrics" in ingest["requestBody"]["content"]
    history = paths[f"{API}/runs/{{run_id}}/metrics/{{key}}/history"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "application/octet-stream"} <= set(history)
    assert "ErrorBody" in document["components"]["schemas"]


def test_not_found_bad_request_and_conflict_shapes(http: httpx.Client) -> None:
    missing = http.get(f"{API}/experiments/12345")
    assert missing.status_code == 404
    assert missing.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "experiment 12345 does not exist",
    }

    bad = http.post(f"{API}/experiments", json={"name": 5})
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "name" in bad.json()["message"]
    typo = http.post(f"{API}/experiments", json={"name": "x", "tgas": {}})
    assert typo.status_code == 400 and "tgas" in typo.json()["message"]
    placed = http.post(f"{API}/experiments", json={"name": "x", "artifact_location": "file:///etc"})
    assert placed.status_code == 400 and "artifact_location" in placed.json()["message"]

    assert http.post(f"{API}/experiments", json={"name": "dup"}).status_code == 201
    taken = http.post(f"{API}/experiments", json={"name": "dup"})
    assert taken.status_code == 409 and taken.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"

    run_id = _run(http)["info"]["run_id"]
    batch = f"{API}/runs/{run_id}/log-batch"
    assert http.post(batch, json={"params": [{"key": "lr", "value": "1"}]}).status_code == 204
    changed = http.post(batch, json={"params": [{"key": "lr", "value": "2"}]})
    assert changed.status_code == 409
    assert changed.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "lr" in changed.json()["message"]

    unknown = http.get(f"{API}/no-such-thing")
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_experiment_listing_pages_through_everything(http: httpx.Client) -> None:
    for name in ("a", "b", "c", "d"):
        assert http.post(f"{API}/experiments", json={"name": name, "tags": {"k": name}}).status_code == 201
    names: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"max_results": 2, "order_by": ["name ASC"]}
        if token:
            params["page_token"] = token
        page = models.ExperimentPage.model_validate(http.get(f"{API}/experiments", params=params).json())
        names += [e.name for e in page.experiments]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert names == ["Default", "a", "b", "c", "d"] and pages == 3
    found = http.post(f"{API}/experiments/search", json={"filter_string": "tags.k = 'c'"}).json()
    assert [e["name"] for e in found["experiments"]] == ["c"] and found["next_page_token"] is None
    bad = http.get(f"{API}/experiments", params={"page_token": "garbage"})
    assert bad.status_code == 400 and "page_token" in bad.json()["message"]


def test_run_search_pages_and_run_shapes(http: httpx.Client) -> None:
    created = [_run(http, name=f"run-{i}") for i in range(5)]
    models.RunModel.model_validate(created[0])
    seen: list[str] = []
    body: dict[str, Any] = {"experiment_ids": ["0"], "max_results": 2, "order_by": ["run_name ASC"]}
    while True:
        page = models.RunPage.model_validate(http.post(f"{API}/runs/search", json=body).json())
        seen += [r.info.run_name for r in page.runs]
        if page.next_page_token is None:
            break
        body["page_token"] = page.next_page_token
    assert seen == [f"run-{i}" for i in range(5)]


def test_metric_history_as_json_and_binary(http: httpx.Client) -> None:
    run_id = _run(http)["info"]["run_id"]
    points = [math.nan, math.inf, -math.inf, 2.5, -0.0]
    metrics = [
        {"key": "train/loss", "value": _json_float(v), "timestamp": 100 + i, "step": i}
        for i, v in enumerate(points)
    ]
    assert http.post(f"{API}/runs/{run_id}/log-batch", json={"metrics": metrics}).status_code == 204
    url = f"{API}/runs/{run_id}/metrics/train%2Floss/history"
    as_json = http.get(url).json()
    assert as_json == {
        "key": "train/loss",
        "steps": [0, 1, 2, 3, 4],
        "timestamps": [100, 101, 102, 103, 104],
        "values": ["NaN", "Infinity", "-Infinity", 2.5, -0.0],
    }
    models.MetricHistoryModel.model_validate(as_json)
    binary = http.get(url, headers={"Accept": "application/octet-stream"})
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.content[:4] == b"CMH1" and struct.unpack_from("<Q", binary.content, 4) == (5,)
    history = decode_history("train/loss", binary.content)
    assert history.values.tobytes() == array("d", points).tobytes()  # NaN and -0.0 bit for bit
    assert list(history.steps) == [0, 1, 2, 3, 4]
    latest = http.get(f"{API}/runs/{run_id}").json()["data"]["metrics"]
    assert latest == [{"key": "train/loss", "value": -0.0, "timestamp": 104, "step": 4}]
    missing = http.get(f"{API}/runs/{'f' * 32}/metrics/m/history")
    assert missing.status_code == 404


def test_run_update_tags_and_artifact_records(http: httpx.Client) -> None:
    run_id = _run(http)["info"]["run_id"]
    info = http.patch(f"{API}/runs/{run_id}", json={"status": "FINISHED", "end_time": 9}).json()
    assert (info["status"], info["end_time"]) == ("FINISHED", 9)
    bad_status = http.patch(f"{API}/runs/{run_id}", json={"status": "DONE"})
    assert bad_status.status_code == 400 and "status" in bad_status.json()["message"]
    tags = [{"key": "a/b", "value": "1"}]
    assert http.post(f"{API}/runs/{run_id}/log-batch", json={"tags": tags}).status_code == 204
    assert http.delete(f"{API}/runs/{run_id}/tags/a%2Fb").status_code == 204
    again = http.delete(f"{API}/runs/{run_id}/tags/a%2Fb")
    assert again.status_code == 404 and "a/b" in again.json()["message"]
    files = [{"path": "model/w.bin", "is_dir": False, "file_size": 3, "sha256": "ab" * 32}]
    records = f"{API}/runs/{run_id}/artifact-records"
    assert http.post(records, json={"files": files}).status_code == 204
    assert http.get(records, params={"prefix": "model"}).json() == {"files": files}
    assert http.get(records, params={"prefix": "other"}).json() == {"files": []}


def _json_float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
