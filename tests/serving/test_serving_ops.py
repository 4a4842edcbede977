"""Parquet bodies, /metadata, /metrics, and a burst of malformed requests against a loopback server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scoring_server import serving

from cairn.models import LoadedModel
from cairn.serving.app import create_scoring_app

LIMIT = 8192
URI = "models:/churn/7"


@pytest.fixture(scope="module")
def client(sklearn_model: LoadedModel) -> Iterator[httpx.Client]:
    app = create_scoring_app(
        sklearn_model, max_body_bytes=LIMIT, model_name="churn", model_uri=URI, model_version="7"
    )
    with serving(app) as http:
        yield http


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.mark.parametrize("content_type", ["application/vnd.apache.parquet", "application/x-parquet"])
def test_parquet_predicts_like_in_process(
    client: httpx.Client, sklearn_model: LoadedModel, features: pd.DataFrame, content_type: str
) -> None:
    response = client.post(
        "/invocations", content=parquet_bytes(features), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": sklearn_model.predict(features).tolist()}


def test_bad_and_oversize_parquet_are_refused(client: httpx.Client) -> None:
    headers = {"Content-Type": "application/x-parquet"}
    garbage = client.post("/invocations", content=b"PAR1 not really", headers=headers)
    empty = client.post("/invocations", content=b"", headers=headers)
    big = pd.DataFrame({"a": [float(i) for i in range(4 * LIMIT)], "b": 1.0})
    oversize = client.post("/invocations", content=parquet_bytes(big), headers=headers)
    assert garbage.status_code == 400
    assert "not a valid Parquet file" in garbage.json()["message"]
    assert empty.status_code == 400
    assert "Parquet request body is empty" in empty.json()["message"]
    assert oversize.status_code == 413


def test_metadata_names_the_model_and_its_signature(client: httpx.Client, sklearn_model: LoadedModel) -> None:
    body = client.get("/metadata").json()
    assert body["model_uri"] == URI
    assert body["model_name"] == "churn"
    assert body["model_version"] == "7"
    assert body["flavor"] == "sklearn"
    assert sklearn_model.signature is not None
    assert body["signature"] == sklearn_model.signature.to_dict()


def test_metadata_without_registry_details(scaled_sum_model: LoadedModel) -> None:
    with serving(create_scoring_app(scaled_sum_model)) as http:
        body = http.get("/metadata").json()
    assert body["model_uri"] is None
    assert body["model_version"] is None
    assert body["signature"]["params"][0]["name"] == "scale"


def samples(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def count(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_latency_and_errors_by_route_and_version(
    sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    app = create_scoring_app(sklearn_model, model_name="churn", model_version="7")
    good = {"dataframe_split": features.to_dict(orient="split")}
    with serving(app) as http:
        for _ in range(3):
            assert http.post("/invocations", json=good).status_code == 200
        assert http.post("/invocations", json={"dataframe_records": [{"a": 1.0}]}).status_code == 400
        assert http.post("/v2/models/churn/infer", json={"inputs": 1}).status_code == 400
        assert http.get("/nowhere").status_code == 404
        found = samples(http)
    total = "cairn_serving_requests_total"
    assert count(found, total, route="/invocations", status="200", model_version="7") == 3
    assert count(found, total, route="/invocations", status="400", model_version="7") == 1
    assert count(found, total, route="/v2/models/{name}/infer", status="400", model_version="7") == 1
    assert count(found, total, route="unmatched", status="404", model_version="7") == 1
    latency = "cairn_serving_request_seconds_count"
    assert count(found, latency, route="/invocations", model_version="7") == 4
    errors = "cairn_serving_prediction_errors_total"
    assert count(found, errors, kind="bad_input", model_version="7") == 2
    assert count(found, errors, kind="model_error", model_version="7") == 0


def test_every_app_has_its_own_registry(sklearn_model: LoadedModel, broken_model: LoadedModel) -> None:
    with (
        serving(create_scoring_app(broken_model)) as broken,
        serving(create_scoring_app(sklearn_model)) as ok,
    ):
        assert broken.post("/invocations", json={"inputs": [[1.0]]}).status_code == 500
        broken_found, ok_found = samples(broken), samples(ok)
    errors = "cairn_serving_prediction_errors_total"
    assert count(broken_found, errors, kind="model_error", model_version="unversioned") == 1
    assert count(ok_found, errors, kind="model_error", model_version="unversioned") == 0


def malformed_requests() -> list[dict[str, Any]]:
    """One of each kind of bad request, with the status each must get."""
    good_tensor = {"name": "a", "shape": [1], "datatype": "FP64", "data": [1.0]}
    json_type = {"Content-Type": "application/json"}
    return [
        {"path": "/invocations", "content": b'{"inputs": [1,', "headers": json_type, "status": 400},
        {"path": "/invocations", "content": b"[" * 5000, "headers": json_type, "status": 400},
        {
            "path": "/invocations",
            "content": b"a,b\n1,2\n",
            "headers": {"Content-Type": "text/plain"},
            "status": 415,
        },
        {"path": "/invocations", "content": b"0" * (LIMIT + 1), "headers": json_type, "status": 413},
        {
            "path": "/invocations",
            "content": json.dumps({"dataframe_records": [{"a": 1.0, "z": 2.0}]}).encode(),
            "headers": json_type,
            "status": 400,
        },
        {
            "path": "/invocations",
            "content": b"\xff\xfe",
            "headers": {"Content-Type": "text/csv"},
            "status": 400,
        },
        {
            "path": "/v2/models/churn/infer",
            "content": json.dumps({"inputs": [{**good_tensor, "shape": [2]}]}).encode(),
            "headers": json_type,
            "status": 400,
        },
        {
            "path": "/v2/models/churn/infer",
            "content": json.dumps({"inputs": [{**good_tensor, "datatype": "FP128"}]}).encode(),
            "headers": json_type,
            "status": 400,
        },
        {"path": "/v2/models/churn/infer", "content": b"{nope", "headers": json_type, "status": 400},
        {"path": "/v2/models/other/infer", "content": b"{}", "headers": json_type, "status": 404},
    ]


def test_a_burst_of_malformed_requests_leaves_the_server_up_and_correct(
    client: httpx.Client, sklearn_model: LoadedModel, features: pd.DataFrame
) -> None:
    kinds = malformed_requests()
    burst = [kinds[i % len(kinds)] for i in range(200)]

    def send(request: dict[str, Any]) -> tuple[int, int]:
        response = client.post(request["path"], content=request["content"], headers=request["headers"])
        return request["status"], response.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(send, burst))
    assert [got for _, got in outcomes] == [wanted for wanted, _ in outcomes]
    assert client.get("/health").status_code == 200
    response = client.post("/invocations", json={"dataframe_split": features.to_dict(orient="split")})
    assert response.status_code == 200
    assert response.json() == {"predictions": sklearn_model.predict(features).tolist()}
    infer = client.post(
        "/v2/models/churn/infer",
        json={
            "inputs": [
                {"name": c, "shape": [6], "datatype": "FP64", "data": features[c].tolist()} for c in "ab"
            ]
        },
    )
    assert infer.json()["outputs"][0]["data"] == sklearn_model.predict(features).tolist()
