"""The unchanged MLflow client's model registry against a live Cairn server, up to `models:/name@alias`."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from live_server import LiveServer, serve

# Importing mlflow.pyfunc warns about a type hint in mlflow's own response types (not our code).
pytestmark = pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("mlflow-registry")
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
    mlflow.set_registry_uri(None)
    mlflow.tracking.fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)


@pytest.fixture
def client(server: LiveServer) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_code(call: object, *args: object, **kwargs: object) -> str:
    assert callable(call)
    with pytest.raises(MlflowException) as caught:
        call(*args, **kwargs)
    return str(caught.value.error_code)


@pytest.fixture
def run_id(client: MlflowClient) -> str:
    experiment_id = client.create_experiment(unique("registry-exp"))
    return str(client.create_run(experiment_id).info.run_id)


def test_registered_model_lifecycle(client: MlflowClient) -> None:
    name = unique("model")
    created = client.create_registered_model(name, tags={"team": "fraud"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "fraud"})
    assert created.creation_timestamp > 0
    assert error_code(client.create_registered_model, name) == "RESOURCE_ALREADY_EXISTS"

    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "stage", "beta")
    client.delete_registered_model_tag(name, "team")
    found = client.get_registered_model(name)
    assert (found.description, found.tags) == ("second", {"stage": "beta"})

    client.rename_registered_model(name, name + "-renamed")
    assert client.get_registered_model(name + "-renamed").description == "second"
    assert error_code(client.get_registered_model, name) == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model(name + "-renamed")
    assert error_code(client.get_registered_model, name + "-renamed") == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models_filters_orders_and_pages(client: MlflowClient) -> None:
    prefix = unique("search")
    for suffix in ("a", "b", "c"):
        client.create_registered_model(f"{prefix}-{suffix}", tags={"letter": suffix})
    found = client.search_registered_models(f"name LIKE '{prefix}-%'", order_by=["name DESC"])
    assert [m.name for m in found] == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]
    tagged = client.search_registered_models(f"name LIKE '{prefix}%' AND tags.letter = 'b'")
    assert [m.name for m in tagged] == [f"{prefix}-b"]

    first = client.search_registered_models(f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"])
    assert [m.name for m in first] == [f"{prefix}-a", f"{prefix}-b"] and first.token
    rest = client.search_registered_models(
        f"name LIKE '{prefix}-%'", max_results=2, order_by=["name"], page_token=first.token
    )
    assert [m.name for m in rest] == [f"{prefix}-c"] and not rest.token
    assert error_code(client.search_registered_models, "name IS NULL") == "INVALID_PARAMETER_VALUE"


def test_model_versions_tags_stages_and_search(client: MlflowClient, run_id: str) -> None:
    name = unique("versions")
    client.create_registered_model(name)
    source = f"runs:/{run_id}/model"
    first = client.create_model_version(name, source, run_id=run_id, tags={"k": "v"}, description="one")
    second = client.create_model_version(name, source, run_id=run_id)
    assert (first.version, second.version) == ("1", "2")
    assert (first.status, first.current_stage, first.tags, first.run_id) == (
        "READY",
        "None",
        {"k": "v"},
        run_id,
    )

    client.update_model_version(name, "2", description="two")
    client.set_model_version_tag(name, "2", "quality", "good")
    client.delete_model_version_tag(name, "1", "k")
    got = client.get_model_version(name, "2")
    assert (got.description, got.tags) == ("two", {"quality": "good"})
    assert client.get_model_version(name, "1").tags == {}

    with pytest.warns(FutureWarning, match="stages"):
        client.transition_model_version_stage(name, "1", "Staging")
        moved = client.transition_model_version_stage(name, "2", "staging", archive_existing_versions=True)
        latest = client.get_latest_versions(name, stages=["Staging"])
    assert moved.current_stage == "Staging"
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert [v.version for v in latest] == ["2"]

    by_run = client.search_model_versions(f"name = '{name}' AND run_id = '{run_id}'")
    assert sorted(v.version for v in by_run) == ["1", "2"]
    download = client.get_model_version_download_uri(name, "1")
    assert download == f"{client.get_run(run_id).info.artifact_uri}/model"

    client.delete_model_version(name, "1")
    assert error_code(client.get_model_version, name, "1") == "RESOURCE_DOES_NOT_EXIST"
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["2"]


def test_aliases_set_move_resolve_and_delete(client: MlflowClient, run_id: str) -> None:
    name = unique("aliases")
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    client.set_registered_model_alias(name, "champion", "2")
    client.set_registered_model_alias(name, "challenger", "1")
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "1"}
    assert client.get_model_version(name, "2").aliases == ["champion"]

    client.delete_registered_model_alias(name, "champion")
    assert error_code(client.get_model_version_by_alias, name, "champion") == "RESOURCE_DOES_NOT_EXIST"
    for reserved in ("latest", "v3"):
        assert error_code(client.set_registered_model_alias, name, reserved, "1") == "INVALID_PARAMETER_VALUE"
    assert error_code(client.set_registered_model_alias, name, "gone", "9") == "RESOURCE_DOES_NOT_EXIST"


def test_errors_carry_mlflow_codes(client: MlflowClient, run_id: str) -> None:
    missing = unique("missing")
    with pytest.raises(MlflowException, match=f"Registered Model with name={missing} not found"):
        client.get_registered_model(missing)
    assert error_code(client.create_model_version, missing, f"runs:/{run_id}/m") == "RESOURCE_DOES_NOT_EXIST"
    name = unique("errors")
    client.create_registered_model(name)
    with pytest.raises(MlflowException, match=rf"Model Version \(name={name}, version=4\) not found"):
        client.get_model_version(name, "4")
    for source in ("/etc/passwd", "file:///etc/passwd", "s3://elsewhere/model", f"runs:/{run_id}/../x"):
        assert error_code(client.create_model_version, name, source) == "INVALID_PARAMETER_VALUE", source
    client.create_model_version(name, f"runs:/{run_id}/m")
    with pytest.warns(FutureWarning, match="stages"):
        code = error_code(client.transition_model_version_stage, name, "1", "Prod")
    assert code == "INVALID_PARAMETER_VALUE"


@pytest.mark.slow
def test_sklearn_model_logged_registered_aliased_and_loaded(client: MlflowClient) -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    features = rng.normal(size=(40, 3))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    name = unique("reg")
    mlflow.set_experiment(unique("e2e"))
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model, name="m", registered_model_name=name, pip_requirements=["scikit-learn"]
        )
    assert str(info.registered_model_version) == "1"
    version = client.get_model_version(name, "1")
    assert (version.source, version.run_id) == (f"models:/{info.model_id}", run.info.run_id)

    client.set_registered_model_alias(name, "champion", "1")
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))

    logged = mlflow.get_logged_model(info.model_id)
    assert (logged.name, logged.source_run_id, str(logged.status)) == ("m", run.info.run_id, "READY")
    assert logged.artifact_location.startswith(f"mlflow-artifacts:/{run.info.experiment_id}/models/")
    found = mlflow.search_logged_models(filter_string="name = 'm'", output_format="list")
    assert [m.model_id for m in found] == [info.model_id]

    again = mlflow.register_model(f"runs:/{run.info.run_id}/m", name)
    assert (again.version, again.source) == ("2", f"models:/{info.model_id}")
    reloaded = mlflow.pyfunc.load_model(f"models:/{name}/2")
    np.testing.assert_array_equal(reloaded.predict(features), model.predict(features))
    registrations = client.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert [entry["version"] for entry in json.loads(registrations)] == ["1", "2"]
