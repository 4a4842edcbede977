"""Raw HTTP against the MLflow-compatible tracking routes: request parsing, response shapes, error codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_server import LiveServer, serve

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-http")
    live = serve(str(root / "store"), root / "artifacts")
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = http.post(API + path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload: dict[str, Any] = response.json()
    return payload


def get(http: httpx.Client, path: str, params: Any, status: int = 200) -> dict[str, Any]:
    response = http.get(API + path, params=params)
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    return payload


def new_run(http: httpx.Client) -> str:
    experiment_id = post(http, "/experiments/create", {"name": f"http-{uuid.uuid4().hex[:8]}"})[
        "experiment_id"
    ]
    run_id: str = post(http, "/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]
    return run_id


def test_missing_required_field(http: httpx.Client) -> None:
    error = post(http, "/experiments/create", {}, status=400)
    assert error == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "Missing value for required parameter 'name'",
    }


def test_wrong_type_names_value_and_field(http: httpx.Client) -> None:
    error = post(http, "/experiments/create", {"name": 123}, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert error["message"].startswith("Invalid value 123 for parameter 'name' supplied")
    run_id = new_run(http)
    body = {"run_id": run_id, "key": "k", "value": 1.0, "timestamp": 0, "step": "foo"}
    error = post(http, "/runs/log-metric", body, status=400)
    assert error["message"].startswith("Invalid value foo for parameter 'step' supplied")


def test_client_chosen_artifact_location_is_refused(http: httpx.Client) -> None:
    body = {"name": f"loc-{uuid.uuid4().hex[:8]}", "artifact_location": "file:///etc"}
    error = post(http, "/experiments/create", body, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "artifact_location" in error["message"]
    assert get(http, "/experiments/get-by-name", {"experiment_name": body["name"]}, status=404)


def test_duplicate_experiment_is_400_already_exists(http: httpx.Client) -> None:
    name = f"dup-{uuid.uuid4().hex[:8]}"
    post(http, "/experiments/create", {"name": name})
    error = post(http, "/experiments/create", {"name": name}, status=400)
    assert error["error_code"] == "RESOURCE_ALREADY_EXISTS"


def test_missing_experiment_and_run_are_404(http: httpx.Client) -> None:
    error = get(http, "/experiments/get-by-name", {"experiment_name": "no-such-experiment"}, status=404)
    assert error["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    error = get(http, "/experiments/get", {"experiment_id": "987654"}, status=404)
    assert error == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "No Experiment with id=987654 exists",
    }
    missing = uuid.uuid4().hex
    error = get(http, "/runs/get", {"run_id": missing}, status=404)
    assert error == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run with id={missing} not found"}


def test_bad_filter_is_400_with_position(http: httpx.Client) -> None:
    run_id = new_run(http)
    experiment_id = get(http, "/runs/get", {"run_id": run_id})["run"]["info"]["experiment_id"]
    body = {"experiment_ids": [experiment_id], "filter": "metrics.acc >> 1"}
    error = post(http, "/runs/search", body, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "position" in error["message"]


def test_run_shape_has_both_ids_and_int64_numbers(http: httpx.Client) -> None:
    run_id = new_run(http)
    post(
        http,
        "/runs/log-metric",
        {"run_id": run_id, "key": "nan", "value": "NaN", "timestamp": "7", "step": 2},
    )
    post(http, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    run = get(http, "/runs/get", {"run_id": run_id})["run"]
    info = run["info"]
    assert info["run_id"] == info["run_uuid"] == run_id
    assert info["status"] == "RUNNING"
    assert info["lifecycle_stage"] == "active"
    assert isinstance(info["start_time"], int)
    assert "end_time" not in info
    assert info["artifact_uri"] == f"mlflow-artifacts:/{info['experiment_id']}/{run_id}/artifacts"
    assert run["data"]["metrics"] == [{"key": "nan", "value": "NaN", "timestamp": 7, "step": 2}]
    assert run["data"]["params"] == [{"key": "p", "value": "1"}]
    assert run["inputs"] == {}
    finished = post(http, "/runs/update", {"run_id": run_id, "status": 3, "end_time": 99})["run_info"]
    assert (finished["status"], finished["end_time"]) == ("FINISHED", 99)


def test_create_run_defaults_and_name_rules(http: httpx.Client) -> None:
    run = post(http, "/runs/create", {})["run"]
    assert run["info"]["experiment_id"] == "0"
    assert run["info"]["user_id"] == "unknown"
    assert run["info"]["run_name"]
    assert {"key": "mlflow.runName", "value": run["info"]["run_name"]} in run["data"]["tags"]
    tagged = post(http, "/runs/create", {"tags": [{"key": "mlflow.runName", "value": "from-tag"}]})["run"]
    assert tagged["info"]["run_name"] == "from-tag"
    body = {"run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}
    assert "run_name" in post(http, "/runs/create", body, status=400)["message"]


def test_camel_case_names_and_run_uuid_alias(http: httpx.Client) -> None:
    experiment_id = post(http, "/experiments/create", {"name": f"camel-{uuid.uuid4().hex[:8]}"})[
        "experiment_id"
    ]
    run = post(http, "/runs/create", {"experimentId": experiment_id, "runName": "camel", "startTime": 5})[
        "run"
    ]
    assert (run["info"]["run_name"], run["info"]["start_time"]) == ("camel", 5)
    run_id = run["info"]["run_id"]
    post(http, "/runs/log-metric", {"run_uuid": run_id, "key": "m", "value": 1, "timestamp": 1})
    post(http, "/runs/set-tag", {"runUuid": run_id, "key": "t", "value": "v"})
    data = get(http, "/runs/get", {"run_uuid": run_id})["run"]["data"]
    assert [m["key"] for m in data["metrics"]] == ["m"]
    assert {"key": "t", "value": "v"} in data["tags"]


def test_both_spellings_of_a_field_are_refused(http: httpx.Client) -> None:
    body = {"experiment_id": "0", "experimentId": "0"}
    error = post(http, "/runs/create", body, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "experiment_id" in error["message"] and "experimentId" in error["message"]
    other = uuid.uuid4().hex
    error = post(
        http, "/runs/log-parameter", {"run_id": new_run(http), "run_uuid": other, "key": "k"}, status=400
    )
    assert "run_uuid" in error["message"]


def test_get_query_string_lists_and_enums(http: httpx.Client) -> None:
    prefix = uuid.uuid4().hex[:8]
    ids = [post(http, "/experiments/create", {"name": f"q-{prefix}-{n}"})["experiment_id"] for n in "abc"]
    post(http, "/experiments/delete", {"experiment_id": ids[2]})
    params = [
        ("filter", f"name LIKE 'q-{prefix}-%'"),
        ("order_by", "name DESC"),
        ("order_by", "experiment_id ASC"),
        ("view_type", "ALL"),
        ("max_results", "2"),
    ]
    page = get(http, "/experiments/search", params)
    assert [e["experiment_id"] for e in page["experiments"]] == [ids[2], ids[1]]
    rest = get(http, "/experiments/search", [*params, ("page_token", page["next_page_token"])])
    assert [e["experiment_id"] for e in rest["experiments"]] == [ids[0]]
    assert "next_page_token" not in rest
    active = get(http, "/experiments/search", [("filter", f"name LIKE 'q-{prefix}-%'"), ("view_type", "1")])
    assert sorted(e["experiment_id"] for e in active["experiments"]) == sorted(ids[:2])
    error = get(http, "/experiments/search", {"view_type": "SOME"}, status=400)
    assert "view_type" in error["message"]


def test_unknown_endpoint_is_404_endpoint_not_found(http: httpx.Client) -> None:
    for method, path in [
        ("POST", "/api/2.0/mlflow/no-such/thing"),
        ("GET", "/ajax-api/2.0/mlflow/runs/nothing"),
    ]:
        response = http.request(method, path, json={})
        assert response.status_code == 404
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_ajax_prefix_serves_the_same_routes(http: httpx.Client) -> None:
    response = http.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert response.status_code == 200
    assert response.json()["experiment"]["name"] == "Default"


def test_post_without_json_content_type_is_400(http: httpx.Client) -> None:
    response = http.post(
        API + "/experiments/create", content=b'{"name": "x"}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    response = http.post(
        API + "/experiments/create", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_double_encoded_body_is_accepted(http: httpx.Client) -> None:
    name = f"double-{uuid.uuid4().hex[:8]}"
    body = json.dumps(json.dumps({"name": name}))
    response = http.post(
        API + "/experiments/create", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert get(http, "/experiments/get-by-name", {"experiment_name": name})["experiment"]["name"] == name


@pytest.mark.parametrize(
    ("metrics", "params", "tags", "limit"),
    [
        (1001, 0, 0, "at most 1000 metrics"),
        (0, 101, 0, "at most 100 params"),
        (0, 0, 101, "at most 100 tags"),
        (900, 100, 100, "at most 1000 metrics, params and tags in total"),
    ],
)
def test_log_batch_limits(http: httpx.Client, metrics: int, params: int, tags: int, limit: str) -> None:
    run_id = new_run(http)
    body = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": i, "timestamp": i, "step": i} for i in range(metrics)],
        "params": [{"key": f"p{i}", "value": "v"} for i in range(params)],
        "tags": [{"key": f"t{i}", "value": "v"} for i in range(tags)],
    }
    error = post(http, "/runs/log-batch", body, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert limit in error["message"]
    assert get(http, "/runs/get", {"run_id": run_id})["run"]["data"]["metrics"] == []


def test_log_batch_metric_needs_a_timestamp(http: httpx.Client) -> None:
    body = {
        "run_id": new_run(http),
        "metrics": [{"key": "m", "value": 1, "timestamp": 1}, {"key": "m", "value": 2}],
    }
    error = post(http, "/runs/log-batch", body, status=400)
    assert error["message"] == "Missing value for required parameter 'metrics[1].timestamp'"


def test_logging_to_a_deleted_run_and_changing_a_param_are_400(http: httpx.Client) -> None:
    run_id = new_run(http)
    post(http, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    error = post(http, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "2"}, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    post(http, "/runs/delete", {"run_id": run_id})
    error = post(http, "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"}, status=400)
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    error = post(http, "/runs/delete-tag", {"run_id": new_run(http), "key": "none"}, status=404)
    assert error["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_metric_history_whole_and_paged(http: httpx.Client) -> None:
    run_id = new_run(http)
    points = [{"key": "loss", "value": i / 10, "timestamp": 100 + i, "step": i} for i in range(7)]
    post(http, "/runs/log-batch", {"run_id": run_id, "metrics": points})
    whole = get(http, "/metrics/get-history", {"run_id": run_id, "metric_key": "loss"})
    assert whole == {"metrics": points}
    pages, token = [], None
    while True:
        query = {
            "run_id": run_id,
            "metric_key": "loss",
            "max_results": 3,
            **({"page_token": token} if token else {}),
        }
        page = get(http, "/metrics/get-history", query)
        pages.append([m["step"] for m in page["metrics"]])
        token = page.get("next_page_token")
        if not token:
            break
    assert pages == [[0, 1, 2], [3, 4, 5], [6]]
    assert get(http, "/metrics/get-history", {"run_id": run_id, "metric_key": "none"}) == {"metrics": []}
    error = get(http, "/metrics/get-history", {"run_id": run_id, "metric_key": "loss", "max_results": 0}, 400)
    assert "max_results" in error["message"]


def test_log_model_appends_to_the_history_tag(http: httpx.Client) -> None:
    run_id = new_run(http)
    for path in ("model", "model2"):
        model: dict[str, Any] = {
            "artifact_path": path,
            "flavors": {"python_function": {}},
            "utc_time_created": "t",
            "run_id": run_id,
        }
        post(http, "/runs/log-model", {"run_id": run_id, "model_json": json.dumps(model)})
    tags = {t["key"]: t["value"] for t in get(http, "/runs/get", {"run_id": run_id})["run"]["data"]["tags"]}
    assert [entry["artifact_path"] for entry in json.loads(tags["mlflow.log-model.history"])] == [
        "model",
        "model2",
    ]
    error = post(http, "/runs/log-model", {"run_id": run_id, "model_json": '{"flavors": {}}'}, status=400)
    assert "artifact_path" in error["message"]
    assert post(http, "/runs/log-model", {"run_id": run_id, "model_json": "[1"}, status=400)["message"]


def test_search_runs_limits(http: httpx.Client) -> None:
    error = post(http, "/runs/search", {"experiment_ids": ["0"], "max_results": 50_001}, status=400)
    assert "max_results" in error["message"]
    assert "runs" in post(http, "/runs/search", {"experiment_ids": ["0"], "max_results": 50_000})


def test_experiment_tag_deletion_rules(http: httpx.Client) -> None:
    experiment_id = post(http, "/experiments/create", {"name": f"etag-{uuid.uuid4().hex[:8]}"})[
        "experiment_id"
    ]
    post(http, "/experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "k", "value": "v"})
    post(http, "/experiments/delete", {"experiment_id": experiment_id})
    error = post(
        http, "/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": "k"}, 400
    )
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    post(http, "/experiments/restore", {"experiment_id": experiment_id})
    post(http, "/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": "k"})
    assert get(http, "/experiments/get", {"experiment_id": experiment_id})["experiment"]["tags"] == []
    error = post(http, "/experiments/delete-experiment-tag", {"experiment_id": "987654", "key": "k"}, 404)
    assert error["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_bare_nan_and_infinity_literals_are_accepted_and_malformed_json_is_400(
    http: httpx.Client, server: LiveServer
) -> None:
    run_id = new_run(http)
    body = f'{{"run_id": "{run_id}", "metrics": [{{"key": "n", "value": NaN, "timestamp": 1}}, '
    body += '{"key": "i", "value": -Infinity, "timestamp": 1}]}'
    response = http.post(
        f"{server.url}/api/2.0/mlflow/runs/log-batch",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    metrics = {
        m["key"]: m["value"] for m in get(http, "/runs/get", {"run_id": run_id})["run"]["data"]["metrics"]
    }
    assert metrics == {"n": "NaN", "i": "-Infinity"}
    broken = http.post(
        f"{server.url}/api/2.0/mlflow/runs/log-batch",
        content=b'{"run_id": ',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["message"]
