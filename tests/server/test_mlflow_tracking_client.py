"""The unchanged MLflow client against a live Cairn server: experiments, runs, params, metrics, tags."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from live_server import LiveServer, serve


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-client")
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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_set_experiment_creates_it_and_get_by_name_finds_it(client: MlflowClient) -> None:
    name = unique("exp")
    assert client.get_experiment_by_name(name) is None
    experiment = mlflow.set_experiment(name)
    assert experiment.name == name
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"
    found = client.get_experiment_by_name(name)
    assert found is not None and found.experiment_id == experiment.experiment_id
    assert mlflow.set_experiment(name).experiment_id == experiment.experiment_id


def test_params_metrics_and_tags_of_a_finished_run(client: MlflowClient) -> None:
    mlflow.set_experiment(unique("log"))
    with mlflow.start_run(run_name="trainer") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"depth": 3, "kind": "tree"})
        for step, loss in enumerate([0.9, 0.5, 0.7]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metrics({"acc": 0.8, "f1": 0.6}, step=4)
        mlflow.set_tag("team", "vision")
        mlflow.set_tag("scratch", "x")
        client.delete_tag(run.info.run_id, "scratch")
    stored = client.get_run(run.info.run_id)
    assert stored.info.run_name == "trainer"
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.data.params == {"alpha": "0.5", "depth": "3", "kind": "tree"}
    assert stored.data.metrics == {"loss": 0.7, "acc": 0.8, "f1": 0.6}
    assert stored.data.tags["team"] == "vision"
    assert "scratch" not in stored.data.tags
    assert stored.data.tags["mlflow.runName"] == "trainer"
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.7)]


def test_nested_run_carries_its_parent(client: MlflowClient) -> None:
    mlflow.set_experiment(unique("nested"))
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        pass
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_run(parent.info.run_id).info.run_name  # a generated name


def test_changing_a_param_is_invalid_parameter_value() -> None:
    mlflow.set_experiment(unique("param"))
    with mlflow.start_run():
        mlflow.log_param("lr", "0.1")
        mlflow.log_param("lr", "0.1")  # the same value again is fine
        with pytest.raises(MlflowException) as caught:
            mlflow.log_param("lr", "0.2")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_batch_beyond_one_request_is_split_and_fully_stored(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(unique("batch"))
    run_id = client.create_run(experiment_id).info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(1500)]
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(120)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    run = client.get_run(run_id)
    assert len(run.data.params) == 150
    assert sum(key.startswith("t") for key in run.data.tags) == 120
    assert run.data.metrics["m"] == 1499.0
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [float(i) for i in range(1500)]


def test_log_batch_with_a_bad_metric_is_rejected(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(unique("badbatch"))
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(MlflowException) as caught:
        client.log_batch(run_id, metrics=[Metric("bad key!", 1.0, 0, 0)])
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "bad key!" in caught.value.message


def _three_runs(client: MlflowClient) -> tuple[str, list[str]]:
    experiment_id = client.create_experiment(unique("search"))
    ids = []
    for index, (model, acc) in enumerate([("rf", 0.7), ("rf", 0.9), ("lr", 0.95)]):
        run = client.create_run(experiment_id, start_time=1000 + index, run_name=f"run{index}")
        client.log_param(run.info.run_id, "model", model)
        client.log_metric(run.info.run_id, "acc", acc)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return experiment_id, ids


def test_search_runs_dataframe_filters_and_orders(client: MlflowClient) -> None:
    experiment_id, ids = _three_runs(client)
    frame = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string="params.model = 'rf' AND metrics.acc > 0.5",
        order_by=["metrics.acc DESC"],
    )
    assert list(frame["run_id"]) == [ids[1], ids[0]]
    assert list(frame["metrics.acc"]) == [0.9, 0.7]
    assert list(frame["params.model"]) == ["rf", "rf"]
    assert list(frame["tags.mlflow.runName"]) == ["run1", "run0"]
    assert list(frame["status"]) == ["FINISHED", "FINISHED"]


def test_search_runs_across_pages(client: MlflowClient) -> None:
    experiment_id, ids = _three_runs(client)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = client.search_runs(
            [experiment_id], max_results=2, page_token=token, order_by=["attributes.start_time ASC"]
        )
        seen.extend(run.info.run_id for run in page)
        pages += 1
        token = page.token
        if not token:
            break
    assert seen == ids
    assert pages == 2


def test_search_experiments_rename_delete_and_restore(client: MlflowClient) -> None:
    prefix = unique("catalog")
    first = client.create_experiment(f"{prefix}-a", tags={"owner": "ana"})
    second = client.create_experiment(f"{prefix}-b")
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"])
    assert [e.experiment_id for e in found] == [first, second]
    assert found[0].tags == {"owner": "ana"}
    client.rename_experiment(second, f"{prefix}-c")
    assert client.get_experiment(second).name == f"{prefix}-c"

    client.delete_experiment(first)
    assert client.get_experiment(first).lifecycle_stage == "deleted"
    active = client.search_experiments(filter_string=f"name LIKE '{prefix}-%'")
    assert [e.experiment_id for e in active] == [second]
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{prefix}-%'"
    )
    assert [e.experiment_id for e in deleted] == [first]
    client.restore_experiment(first)
    assert client.get_experiment(first).lifecycle_stage == "active"


def test_experiment_tags_set_and_delete(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(unique("tags"))
    client.set_experiment_tag(experiment_id, "stage", "dev")
    assert client.get_experiment(experiment_id).tags == {"stage": "dev"}
    client.delete_experiment_tag(experiment_id, "stage")
    assert client.get_experiment(experiment_id).tags == {}
    with pytest.raises(MlflowException) as caught:
        client.delete_experiment_tag(experiment_id, "stage")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_and_restore_run(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(unique("lifecycle"))
    run_id = client.create_run(experiment_id).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([experiment_id]) == []
    assert [
        r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    ] == [run_id]
    with pytest.raises(MlflowException) as caught:
        client.log_metric(run_id, "loss", 1.0)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    client.log_metric(run_id, "loss", 1.0)
    assert client.get_run(run_id).data.metrics == {"loss": 1.0}


def test_nan_and_infinities_round_trip(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(unique("nan"))
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "nan", math.nan)
    client.log_metric(run_id, "pos", math.inf)
    client.log_batch(run_id, metrics=[Metric("neg", -math.inf, 5, 0)])
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pos"] >= 1.797e308
    assert metrics["neg"] <= -1.797e308
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)


def test_end_run_records_the_status() -> None:
    mlflow.set_experiment(unique("status"))
    with mlflow.start_run() as failed:
        mlflow.end_run(status="FAILED")
    with pytest.raises(RuntimeError), mlflow.start_run() as crashed:
        raise RuntimeError("training blew up")
    client = MlflowClient()
    assert client.get_run(failed.info.run_id).info.status == "FAILED"
    assert client.get_run(crashed.info.run_id).info.status == "FAILED"
    with mlflow.start_run() as running:
        assert client.get_run(running.info.run_id).info.status == "RUNNING"
        assert client.get_run(running.info.run_id).info.end_time is None
