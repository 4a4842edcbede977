"""The unchanged MLflow client logging dataset inputs to a live Cairn server, and searching by them."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.data.pandas_dataset import from_pandas
from mlflow.entities import Dataset as MlflowDataset
from mlflow.entities import DatasetInput as MlflowDatasetInput
from mlflow.entities import InputTag as MlflowInputTag

from cairn.entities import Dataset, DatasetInput, InputTag, RunInputs
from cairn.server.mlflow.inputs import run_inputs_json
from live_server import LiveServer, serve

LOG_INPUTS = "/api/2.0/mlflow/runs/log-inputs"

# mlflow's pandas digest calls DataFrame.all() positionally, which pandas 3 warns about (not our code).
pytestmark = pytest.mark.filterwarnings(
    "ignore:Starting with pandas version 4.0 all arguments:pandas.errors.Pandas4Warning"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-inputs")
    live = serve(str(root / "store"), root / "artifacts")
    yield live
    live.stop()


@pytest.fixture(autouse=True)
def _mlflow_against_server(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(server.url)
    yield
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    mlflow.tracking.fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture
def client(server: LiveServer) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)


@pytest.fixture
def experiment_id() -> str:
    return str(mlflow.set_experiment(f"inputs-{uuid.uuid4().hex[:8]}").experiment_id)


def _frame(rows: int) -> pd.DataFrame:
    # No integer columns: mlflow warns about those when it infers the schema.
    return pd.DataFrame({"x": [i / 2 for i in range(rows)], "label": [f"c{i % 2}" for i in range(rows)]})


def _post(server: LiveServer, body: dict[str, Any], path: str = LOG_INPUTS) -> httpx.Response:
    return httpx.post(server.url + path, json=body, timeout=30)


def _inputs(client: MlflowClient, run_id: str) -> list[MlflowDatasetInput]:
    inputs = client.get_run(run_id).inputs
    assert inputs is not None
    return list(inputs.dataset_inputs)


def _searched(experiment_id: str, filter_string: str) -> set[str]:
    found = mlflow.search_runs([experiment_id], filter_string=filter_string)
    assert isinstance(found, pd.DataFrame)
    return set(found["run_id"]) if len(found) else set()


def test_log_input_from_pandas_is_read_back_by_get_run(client: MlflowClient, experiment_id: str) -> None:
    dataset = from_pandas(_frame(5), name="iris-train")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
    inputs = _inputs(client, run.info.run_id)
    assert len(inputs) == 1
    stored = inputs[0].dataset
    assert (stored.name, stored.digest, stored.source_type) == (
        "iris-train",
        dataset.digest,
        dataset.source._get_source_type(),
    )
    assert stored.schema is not None and stored.profile is not None
    assert json.loads(stored.schema) == json.loads(dataset.to_dict()["schema"])
    assert json.loads(stored.profile) == {"num_rows": 5, "num_elements": 10}
    assert json.loads(stored.source) == json.loads(dataset.source.to_json())
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training", "split": "train"}


def test_search_runs_by_dataset_name_digest_and_context(client: MlflowClient, experiment_id: str) -> None:
    train = from_pandas(_frame(4), name="houses")
    holdout = from_pandas(_frame(3), name="houses-holdout")
    with mlflow.start_run() as first:
        mlflow.log_input(train, context="training")
    with mlflow.start_run() as second:
        mlflow.log_input(train, context="training")
        mlflow.log_input(holdout, context="evaluation")
    with mlflow.start_run():
        mlflow.log_param("no", "inputs")
    a, b = first.info.run_id, second.info.run_id
    assert _searched(experiment_id, "datasets.name = 'houses'") == {a, b}
    assert _searched(experiment_id, "datasets.name LIKE '%holdout'") == {b}
    assert _searched(experiment_id, f"datasets.digest = '{holdout.digest}'") == {b}
    assert _searched(experiment_id, "datasets.context = 'evaluation'") == {b}
    assert _searched(experiment_id, "datasets.context IN ('training', 'evaluation')") == {a, b}
    assert _searched(experiment_id, "datasets.name = 'nothing'") == set()
    (searched,) = client.search_runs([experiment_id], "datasets.context = 'evaluation'")
    assert searched.inputs is not None
    names = {i.dataset.name for i in searched.inputs.dataset_inputs}
    assert names == {"houses", "houses-holdout"}


def test_logging_the_same_dataset_again_keeps_one_input_and_merges_tags(
    client: MlflowClient, experiment_id: str
) -> None:
    dataset = from_pandas(_frame(2), name="twice")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training", tags={"pass": "2"})
    (only,) = _inputs(client, run.info.run_id)
    assert {t.key: t.value for t in only.tags} == {"mlflow.data.context": "training", "pass": "2"}


def test_client_log_inputs_with_entities(client: MlflowClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    dataset = MlflowDataset(name="raw", digest="abc", source_type="s3", source='{"uri": "s3://b/raw"}')
    client.log_inputs(run_id, [MlflowDatasetInput(dataset, [MlflowInputTag("mlflow.data.context", "eval")])])
    (only,) = _inputs(client, run_id)
    assert (only.dataset.name, only.dataset.source_type, only.dataset.schema) == ("raw", "s3", None)
    assert [(t.key, t.value) for t in only.tags] == [("mlflow.data.context", "eval")]


def _body(run_id: str, **dataset: Any) -> dict[str, Any]:
    fields = {"name": "d", "digest": "1", "source_type": "local", "source": "{}", **dataset}
    return {"run_id": run_id, "datasets": [{"dataset": fields, "tags": [{"key": "k", "value": "v"}]}]}


def test_bad_requests_are_400_and_name_the_field(server: LiveServer, client: MlflowClient) -> None:
    run_id = client.create_run("0").info.run_id
    cases = [
        (_body(run_id, name="n" * 501), "datasets[0].dataset.name"),
        (_body(run_id, digest="d" * 37), "datasets[0].dataset.digest"),
        (_body(run_id, name=""), "datasets[0].dataset.name"),
        (_body(run_id, source=7), "datasets[0].dataset.source"),
        ({"run_id": run_id, "datasets": [{"tags": []}]}, "datasets[0].dataset"),
        ({"datasets": []}, "run_id"),
        ({"run_id": run_id, "models": [{"model_id": "m-1"}]}, "models"),
    ]
    for body, field in cases:
        response = _post(server, body)
        assert response.status_code == 400, (field, response.text)
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert field in response.json()["message"]
    assert _inputs(client, run_id) == []


def test_unknown_and_deleted_runs(server: LiveServer, client: MlflowClient) -> None:
    missing = _post(server, _body("0" * 32))
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    run_id = client.create_run("0").info.run_id
    client.delete_run(run_id)
    deleted = _post(server, _body(run_id))
    assert deleted.status_code == 400
    assert run_id in deleted.json()["message"]


def test_ajax_alias_and_empty_request(server: LiveServer, client: MlflowClient) -> None:
    run_id = client.create_run("0").info.run_id
    assert _post(server, {"run_id": run_id}).json() == {}
    response = _post(server, _body(run_id), path="/ajax-api/2.0/mlflow/runs/log-inputs")
    assert (response.status_code, response.json()) == (200, {})
    assert [i.dataset.name for i in _inputs(client, run_id)] == ["d"]


def test_run_inputs_json_matches_the_protobuf_shape() -> None:
    assert run_inputs_json(RunInputs()) == {}
    full = Dataset("d", "1", "local", "{}", schema="s", profile="p")
    bare = Dataset("e", "2", "code", "{}")
    shaped = run_inputs_json(RunInputs((DatasetInput(full, (InputTag("k", "v"),)), DatasetInput(bare))))
    assert shaped == {
        "dataset_inputs": [
            {
                "dataset": {
                    "name": "d",
                    "digest": "1",
                    "source_type": "local",
                    "source": "{}",
                    "schema": "s",
                    "profile": "p",
                },
                "tags": [{"key": "k", "value": "v"}],
            },
            {"dataset": {"name": "e", "digest": "2", "source_type": "code", "source": "{}"}},
        ]
    }
