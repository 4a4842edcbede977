"""The scoring app's routes, input formats and errors, served by uvicorn on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from scoring_server import serving

import cairn
from cairn.errors import InvalidArgument
from cairn.models import LoadedModel
from cairn.serving.app import create_scoring_app

LIMIT = 4096


@pytest.fixture(scope="module")
def client(sklearn_model: LoadedModel) -> Iterator[httpx.Client]:
    with serving(create_scoring_app(sklearn_model, max_body_bytes=LIMIT)) as http:
        yield http


@pytest.fixture(scope="module")
def expected(sklearn_model: LoadedModel, features: pd.DataFrame) -> list[Any]:
    return [int(value) for value in sklearn_model.predict(features)]


def post_json(client: httpx.Client, payload: object) -> httpx.Response:
    return client.post(
        "/invocations", content=json.dumps(payload), headers={"Content-Type": "application/json"}
    )


@pytest.mark.parametrize("path", ["/ping", "/health"])
def test_health_routes_answer_once_loaded(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_version_names_cairn_and_the_flavor(client: httpx.Client) -> None:
    body = client.get("/version").json()
    assert body["cairn_version"] == cairn.__version__
    assert body["flavor"] == "sklearn"


def request_bodies(features: pd.DataFrame) -> dict[str, object]:
    return {
        "dataframe_split": {"dataframe_split": features.to_dict(orient="split")},
        "dataframe_split_without_index": {
            "dataframe_split": {"columns": list(features.columns), "data": features.to_numpy().tolist()}
        },
        "dataframe_records": {"dataframe_records": features.to_dict(orient="records")},
        "instances_as_rows": {"instances": features.to_dict(orient="records")},
        "inputs_as_columns": {"inputs": features.to_dict(orient="list")},
    }


@pytest.mark.parametrize(
    "form",
    [
        "dataframe_split",
        "dataframe_split_without_index",
        "dataframe_records",
        "instances_as_rows",
        "inputs_as_columns",
    ],
)
def test_json_forms_predict_like_in_process(
    client: httpx.Client, features: pd.DataFrame, expected: list[Any], form: str
) -> None:
    response = post_json(client, request_bodies(features)[form])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": expected}


def test_csv_predicts_like_in_process(
    client: httpx.Client, features: pd.DataFrame, expected: list[Any]
) -> None:
    response = client.post(
        "/invocations",
        content=features.to_csv(index=False),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_dataframe_output_is_records_and_params_reach_the_model(scaled_sum_model: LoadedModel) -> None:
    with serving(create_scoring_app(scaled_sum_model)) as client:
        rows = [{"x": 1.0, "y": 2.0}, {"x": 5.0, "y": 6.5}]
        plain = post_json(client, {"dataframe_records": rows})
        scaled = post_json(client, {"dataframe_records": rows, "params": {"scale": 2}})
        unknown = post_json(client, {"dataframe_records": rows, "params": {"scael": 2}})
    assert plain.json() == {"predictions": [{"total": 3.0, "label": "low"}, {"total": 11.5, "label": "high"}]}
    assert scaled.json() == {
        "predictions": [{"total": 6.0, "label": "low"}, {"total": 23.0, "label": "high"}]
    }
    assert unknown.status_code == 400
    assert "scael" in unknown.json()["message"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"dataframe_records": [{"a": 1.0}]}, "'b'"),
        ({"dataframe_records": [{"a": 1.0, "b": "high"}]}, "'b'"),
        ({"instances": [1], "inputs": [1]}, "several inputs (instances, inputs)"),
        ({"data": [[1, 2]]}, "unknown top-level key(s) data"),
        ({}, "has no input"),
    ],
)
def test_bad_input_is_400_naming_the_problem(client: httpx.Client, payload: object, fragment: str) -> None:
    response = post_json(client, payload)
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert fragment in body["message"]


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/invocations", content=b'{"inputs": [1,', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "not valid JSON" in response.json()["message"]


def test_malformed_csv_is_400(client: httpx.Client) -> None:
    response = client.post("/invocations", content=b"", headers={"Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "CSV request body is empty" in response.json()["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_unsupported_content_type_is_415(client: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/invocations", content=b"a,b\n1,2\n", headers=headers)
    assert response.status_code == 415
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert "application/json, text/csv" in body["message"]


def test_body_over_the_limit_is_413_by_declared_length(client: httpx.Client) -> None:
    payload = json.dumps({"inputs": [0.5] * LIMIT})
    response = client.post("/invocations", content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {
        "error_code": "REQUEST_TOO_LARGE",
        "message": f"request body exceeds {LIMIT} bytes",
    }


def test_body_over_the_limit_is_413_when_streamed(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"inputs": ['
        for _ in range(LIMIT // 8):
            yield b"0.12345,"
        yield b"0]}"

    response = client.post("/invocations", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_model_failure_is_500_naming_the_error(broken_model: LoadedModel) -> None:
    with serving(create_scoring_app(broken_model)) as client:
        response = post_json(client, {"dataframe_records": [{"x": 1}]})
    assert response.status_code == 500
    body = response.json()
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "RuntimeError: the model broke" in body["message"]


def test_unknown_routes_answer_json(client: httpx.Client) -> None:
    missing = client.get("/predict")
    wrong_method = client.get("/invocations")
    assert missing.status_code == 404
    assert missing.json() == {"error_code": "ENDPOINT_NOT_FOUND", "message": "No endpoint GET /predict"}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_body_limit_must_be_positive(sklearn_model: LoadedModel) -> None:
    with pytest.raises(InvalidArgument, match="max_body_bytes must be at least 1"):
        create_scoring_app(sklearn_model, max_body_bytes=0)
