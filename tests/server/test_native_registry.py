"""The native registry API (`/api/v1`) and RestStore's RegistryStore over it, checked against SqlStore."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.entities import LoggedModelStatus, ModelStage, ModelVersionStatus
from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.store.registry_protocols import RegistryStore
from cairn.store.rest import RestStore
from cairn.store.sql import SqlStore
from live_server import LiveServer, serve

V1 = "/api/v1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("native-registry")
    live = serve(str(root / "store"), root / "artifacts")
    yield live
    live.stop()


@pytest.fixture(params=["sql", "rest"])
def store(request: pytest.FixtureRequest, server: LiveServer, tmp_path: Path) -> Iterator[Any]:
    """The same registry assertions run on the SQL store and on a RestStore talking to the server."""
    opened: Any = (
        SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}", "mlflow-artifacts:")
        if request.param == "sql"
        else RestStore(server.url)
    )
    yield opened
    opened.close()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_run(store: Any) -> str:
    return str(store.create_run("0", "tester", 1, unique("run")).info.run_id)


def test_registered_models(store: RegistryStore) -> None:
    name = unique("model")
    created = store.create_registered_model(name, "alice", "first", {"team": "fraud"})
    assert (created.name, created.user_id, created.description, dict(created.tags)) == (
        name,
        "alice",
        "first",
        {"team": "fraud"},
    )
    with pytest.raises(AlreadyExists):
        store.create_registered_model(name, "alice")
    store.update_registered_model(name, "second", "bob")
    store.set_registered_model_tag(name, "stage", "beta", "bob")
    store.delete_registered_model_tag(name, "team", "bob")
    with pytest.raises(NotFound):
        store.delete_registered_model_tag(name, "team", "bob")
    renamed = store.rename_registered_model(name, name + "-new", "bob")
    assert (renamed.description, dict(renamed.tags)) == ("second", {"stage": "beta"})
    with pytest.raises(NotFound, match=name):
        store.get_registered_model(name)

    page = store.search_registered_models(f"name LIKE '{name}%'", max_results=10, order_by=["name DESC"])
    assert [m.name for m in page] == [name + "-new"] and page.token is None
    store.delete_registered_model(name + "-new", "bob")
    assert list(store.search_registered_models(f"name = '{name}-new'")) == []


def test_versions_stages_and_lineage(store: RegistryStore) -> None:
    name, run_id = unique("versions"), new_run(store)
    store.create_registered_model(name, "alice")
    first = store.create_model_version(
        name, f"runs:/{run_id}/model", "alice", tags={"k": "v"}, description="one"
    )
    second = store.create_model_version(
        name, f"runs:/{run_id}/model", "alice", status=ModelVersionStatus.PENDING_REGISTRATION
    )
    assert (first.version, first.run_id, dict(first.tags), first.description) == (
        1,
        run_id,
        {"k": "v"},
        "one",
    )
    assert second.status is ModelVersionStatus.PENDING_REGISTRATION

    updated = store.update_model_version(name, 2, "bob", status=ModelVersionStatus.READY, status_message="ok")
    assert (updated.status, updated.status_message, updated.description) == (
        ModelVersionStatus.READY,
        "ok",
        "",
    )
    store.set_model_version_tag(name, 2, "quality", "good", "bob")
    store.delete_model_version_tag(name, 1, "k", "bob")
    assert dict(store.get_model_version(name, 2).tags) == {"quality": "good"}

    store.transition_model_version_stage(name, 1, ModelStage.PRODUCTION, False, "bob")
    store.transition_model_version_stage(name, 2, ModelStage.PRODUCTION, True, "bob")
    assert store.get_model_version(name, 1).stage is ModelStage.ARCHIVED
    assert [v.version for v in store.get_latest_versions(name, [ModelStage.PRODUCTION])] == [2]
    assert sorted(v.version for v in store.get_latest_versions(name)) == [1, 2]

    found = store.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [v.version for v in found] == [1, 2]
    assert [(v.name, v.version) for v in store.find_versions_for_run(run_id)] == [(name, 1), (name, 2)]
    store.delete_model_version(name, 1, "bob")
    with pytest.raises(NotFound):
        store.get_model_version(name, 1)
    with pytest.raises(InvalidArgument, match="source"):
        store.create_model_version(name, "/etc/passwd", "bob")


def test_aliases_and_audit_trail(store: RegistryStore) -> None:
    name, run_id = unique("aliases"), new_run(store)
    store.create_registered_model(name, "alice")
    for _ in range(2):
        store.create_model_version(name, f"runs:/{run_id}/model", "alice")
    store.set_registered_model_alias(name, "champion", 1, "alice")
    store.set_registered_model_alias(name, "champion", 2, "bob")
    assert store.get_model_version_by_alias(name, "champion").version == 2
    assert dict(store.get_registered_model(name).aliases) == {"champion": 2}
    for reserved in ("latest", "v2"):
        with pytest.raises(InvalidArgument, match=reserved):
            store.set_registered_model_alias(name, reserved, 1, "alice")
    store.delete_registered_model_alias(name, "champion", "carol")
    with pytest.raises(NotFound, match="champion"):
        store.get_model_version_by_alias(name, "champion")

    changes = store.get_registry_changes(name)
    moves = [(c.actor, c.old_value, c.new_value) for c in changes if c.field_name == "alias:champion"]
    assert moves == [("alice", None, "1"), ("bob", "1", "2"), ("carol", "2", None)]
    first_page = store.get_registry_changes(name, max_results=2)
    assert len(first_page) == 2 and first_page.token
    rest = store.get_registry_changes(name, max_results=100, page_token=first_page.token)
    assert [c.change_id for c in [*first_page, *rest]] == [c.change_id for c in changes]


def test_logged_models_and_run_outputs(store: RegistryStore) -> None:
    run_id = new_run(store)
    model = store.create_logged_model("0", "clf", run_id, "classifier", {"alpha": "1"}, {"team": "a"})
    assert model.status is LoggedModelStatus.PENDING and model.artifact_uri.endswith(
        f"{model.model_id}/artifacts"
    )
    store.log_logged_model_params(model.model_id, {"depth": "2"})
    tagged = store.set_logged_model_tags(model.model_id, {"stage": "beta"})
    assert dict(tagged.tags) == {"team": "a", "stage": "beta"}
    store.delete_logged_model_tag(model.model_id, "team")
    ready = store.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    assert ready.status is LoggedModelStatus.READY and dict(ready.params) == {"alpha": "1", "depth": "2"}

    store.log_run_outputs(run_id, [(model.model_id, 4)])
    assert store.get_run_outputs(run_id) == [(model.model_id, 4)]
    found = store.search_logged_models(
        ["0"], f"name = 'clf' AND source_run_id = '{run_id}'", 10, [("name", True)]
    )
    assert [m.model_id for m in found] == [model.model_id]
    name = unique("from-logged")
    store.create_registered_model(name, "alice")
    version = store.create_model_version(name, f"models:/{model.model_id}", "alice")
    assert (version.model_id, version.run_id) == (model.model_id, run_id)
    assert (name, 1) in store.get_logged_model(model.model_id).registrations
    store.delete_logged_model(model.model_id)
    with pytest.raises(NotFound):
        store.get_logged_model(model.model_id)


def test_native_http_statuses(http: httpx.Client) -> None:
    name = unique("native")
    created = http.post(f"{V1}/registered-models", json={"name": name, "actor": "alice"})
    assert created.status_code == 201 and created.json()["user_id"] == "alice"
    duplicate = http.post(f"{V1}/registered-models", json={"name": name})
    assert (duplicate.status_code, duplicate.json()["error_code"]) == (409, "RESOURCE_ALREADY_EXISTS")
    assert http.get(f"{V1}/registered-models/{name}-absent").status_code == 404
    assert http.post(f"{V1}/registered-models", json={"name": "x", "colour": "red"}).status_code == 400
    for version in ("abc", "0", "-3", "99999999999"):
        answer = http.get(f"{V1}/registered-models/{name}/versions/{version}")
        assert answer.status_code == 400 and "version" in answer.json()["message"]
    assert http.get(f"{V1}/registered-models/{name}/versions/3").status_code == 404
    alias = http.put(f"{V1}/registered-models/{name}/aliases/latest", json={"version": 1})
    assert alias.status_code == 400
    assert (
        http.get(f"{V1}/registered-models", params={"filter_string": f"name = '{name}'"}).json()[
            "registered_models"
        ][0]["name"]
        == name
    )
    deleted = http.delete(f"{V1}/registered-models/{name}", params={"actor": "dave"})
    assert deleted.status_code == 204
    changes = http.get(f"{V1}/registry-changes", params={"name": name}).json()["changes"]
    assert [(c["action"], c["actor"]) for c in changes][-1][1] == "dave"
    assert http.get(f"{V1}/logged-models/m-{'0' * 32}").status_code == 404


def test_mlflow_routes_record_the_unknown_actor(http: httpx.Client) -> None:
    name = unique("mlflow-actor")
    assert http.post("/api/2.0/mlflow/registered-models/create", json={"name": name}).status_code == 200
    changes = http.get(f"{V1}/registry-changes", params={"name": name}).json()["changes"]
    assert [c["actor"] for c in changes] == ["unknown"]
    assert http.get(f"{V1}/registered-models/{name}").json()["user_id"] == "unknown"


def test_openapi_documents_the_registry(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/api/v1/registered-models/{name}/aliases/{alias}", "/api/v1/logged-models/search"} <= set(paths)
    assert not any(
        "/2.0/mlflow/registered-models" in path or "/2.0/mlflow/logged-models" in path for path in paths
    )


def test_registry_client_works_against_a_server(server: LiveServer) -> None:
    from cairn.registry.client import RegistryClient

    client = RegistryClient(server.url)
    name = unique("remote")
    run_id = client.tracking.create_run("0").info.run_id
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_id}/model")
    client.set_alias(name, "champion", "1")
    assert client.get_version_by_alias(name, "champion").version == 1
    assert client.artifact_location(f"models:/{name}@champion").endswith(f"/{run_id}/artifacts/model")
    assert [v.version for v in client.versions_for_run(run_id)] == [1]
