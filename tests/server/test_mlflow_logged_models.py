"""MLflow 3's logged-model endpoints, run outputs and `runs/log-model`, via the MLflow client and HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus
from mlflow.exceptions import MlflowException

from cairn.store.rest import RestStore
from live_server import LiveServer, serve

API = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-logged-models")
    live = serve(str(root / "store"), root / "artifacts")
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def _mlflow_against_server(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(server.url)
    yield
    mlflow.set_tracking_uri(None)


@pytest.fixture
def client(server: LiveServer) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


@pytest.fixture
def experiment_id(client: MlflowClient) -> str:
    return str(client.create_experiment(f"logged-{uuid.uuid4().hex[:8]}"))


def test_create_tag_param_finalize_and_delete(client: MlflowClient, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    model = client.create_logged_model(
        experiment_id,
        name="clf",
        source_run_id=run.info.run_id,
        params={"alpha": "0.5"},
        tags={"team": "fraud"},
        model_type="classifier",
    )
    assert model.model_id.startswith("m-") and len(model.model_id) == 34
    assert (model.name, model.model_type, model.source_run_id) == ("clf", "classifier", run.info.run_id)
    assert str(model.status) == "PENDING" and model.params == {"alpha": "0.5"}
    assert model.artifact_location == f"mlflow-artifacts:/{experiment_id}/models/{model.model_id}/artifacts"

    client.set_logged_model_tags(model.model_id, {"stage": "beta"})
    client.delete_logged_model_tag(model.model_id, "team")
    client.log_model_params(model.model_id, {"depth": "3"})
    ready = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert str(ready.status) == "READY"
    got = client.get_logged_model(model.model_id)
    assert got.tags["stage"] == "beta" and "team" not in got.tags
    assert got.params == {"alpha": "0.5", "depth": "3"}

    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as caught:
        client.get_logged_model(model.model_id)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_filters_and_orders(client: MlflowClient, experiment_id: str) -> None:
    ids = [client.create_logged_model(experiment_id, name=name).model_id for name in ("a", "b", "c")]
    client.finalize_logged_model(ids[1], LoggedModelStatus.READY)
    by_name = client.search_logged_models([experiment_id], filter_string="name = 'b'")
    assert [m.model_id for m in by_name] == [ids[1]]
    ordered = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": False}]
    )
    assert [m.name for m in ordered] == ["c", "b", "a"]
    page = client.search_logged_models([experiment_id], max_results=2, order_by=[{"field_name": "name"}])
    assert [m.name for m in page] == ["a", "b"] and page.token
    rest = client.search_logged_models(
        [experiment_id], max_results=2, order_by=[{"field_name": "name"}], page_token=page.token
    )
    assert [m.name for m in rest] == ["c"]


def test_run_outputs_are_recorded(server: LiveServer, client: MlflowClient, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    model = client.create_logged_model(experiment_id, name="out", source_run_id=run.info.run_id)
    client.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, step=3)])
    store = RestStore(server.url)
    try:
        assert store.get_run_outputs(run.info.run_id) == [(model.model_id, 3)]
    finally:
        store.close()


def test_artifact_directories_list_uploaded_files(
    client: MlflowClient, http: httpx.Client, experiment_id: str, tmp_path: Path
) -> None:
    model = client.create_logged_model(experiment_id, name="files")
    (tmp_path / "sub").mkdir()
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "sub" / "weights.bin").write_bytes(b"\x00" * 10)
    client.log_model_artifacts(model.model_id, str(tmp_path))

    url = f"{API}/logged-models/{model.model_id}/artifacts/directories"
    root = http.get(url).json()
    assert root["root_uri"] == model.artifact_location
    assert sorted((f["path"], f["is_dir"]) for f in root["files"]) == [("MLmodel", False), ("sub", True)]
    inner = http.get(url, params={"artifact_directory_path": "sub"}).json()
    assert inner["files"] == [{"path": "sub/weights.bin", "is_dir": False, "file_size": 10}]
    assert [f.path for f in client.list_logged_model_artifacts(model.model_id)] == ["MLmodel", "sub"]

    for hostile in ("../..", "sub/../../x", "/etc", "%2e%2e/x", "a\\b"):
        answer = http.get(url, params={"artifact_directory_path": hostile})
        assert answer.status_code == 400, hostile
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_http_errors_are_4xx_with_mlflow_codes(http: httpx.Client, experiment_id: str) -> None:
    unknown = "m-" + "0" * 32
    missing = http.get(f"{API}/logged-models/{unknown}")
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    created = http.post(f"{API}/logged-models", json={"experiment_id": experiment_id}).json()["model"]
    model_id = created["info"]["model_id"]
    assert created["info"]["name"] and created["info"]["status"] == "LOGGED_MODEL_PENDING"

    for body in (
        {"status": "DONE"},
        {"status": 9},
        {},
        {"model_id": unknown, "status": "LOGGED_MODEL_READY"},
    ):
        answer = http.patch(f"{API}/logged-models/{model_id}", json=body)
        assert answer.status_code == 400, body
    by_number = http.patch(f"{API}/logged-models/{model_id}", json={"status": 2}).json()
    assert by_number["model"]["info"]["status"] == "LOGGED_MODEL_READY"

    search = f"{API}/logged-models/search"
    assert (
        http.post(
            search, json={"experiment_ids": [experiment_id], "datasets": [{"dataset_name": "d"}]}
        ).status_code
        == 400
    )
    assert (
        http.post(
            search, json={"experiment_ids": [experiment_id], "order_by": [{"ascending": True}]}
        ).status_code
        == 400
    )
    assert http.post(f"{API}/logged-models", json={"name": "no-experiment"}).status_code == 400
    no_tag = http.delete(f"{API}/logged-models/{model_id}/tags/absent.key")
    assert no_tag.status_code == 404 and no_tag.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    outputs = http.post(f"{API}/runs/outputs", json={"run_id": "f" * 32, "models": [{"model_id": model_id}]})
    assert outputs.status_code == 404


def test_log_model_records_the_model_history_tag(
    client: MlflowClient, http: httpx.Client, experiment_id: str
) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    model_json = {
        "artifact_path": "m",
        "flavors": {"python_function": {}},
        "utc_time_created": "2024",
        "run_id": run_id,
    }
    for _ in range(2):
        answer = http.post(
            f"{API}/runs/log-model", json={"run_id": run_id, "model_json": json.dumps(model_json)}
        )
        assert answer.status_code == 200 and answer.json() == {}
    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert history == [model_json, model_json]
    for bad in ("not json", "[]", json.dumps({"artifact_path": "m"})):
        answer = http.post(f"{API}/runs/log-model", json={"run_id": run_id, "model_json": bad})
        assert answer.status_code == 400 and "model_json" in answer.json()["message"]
