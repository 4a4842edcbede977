"""The MLflow-compatible registry routes over raw HTTP: JSON shapes, statuses, error codes, hostile input."""

from __future__ import annotations

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
    root: Path = tmp_path_factory.mktemp("mlflow-registry-http")
    live = serve(str(root / "store"), root / "artifacts", max_body_bytes=100_000)
    yield live
    live.stop()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as session:
        yield session


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    return str(body["message"])


@pytest.fixture
def run(http: httpx.Client) -> dict[str, Any]:
    created = ok(http.post(f"{API}/runs/create", json={"experiment_id": "0"}))
    info: dict[str, Any] = created["run"]["info"]
    return info


@pytest.fixture
def model(http: httpx.Client, run: dict[str, Any]) -> str:
    """A registered model with version 1 made from the run."""
    name = f"http-{uuid.uuid4().hex[:8]}"
    ok(http.post(f"{API}/registered-models/create", json={"name": name}))
    body = {"name": name, "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]}
    ok(http.post(f"{API}/model-versions/create", json=body))
    return name


def test_json_shapes_match_mlflow(http: httpx.Client, model: str, run: dict[str, Any]) -> None:
    ok(http.post(f"{API}/registered-models/alias", json={"name": model, "alias": "champion", "version": "1"}))
    registered = ok(http.get(f"{API}/registered-models/get", params={"name": model}))["registered_model"]
    assert registered["aliases"] == [{"alias": "champion", "version": "1"}]
    assert "description" not in registered and registered["tags"] == []
    assert [v["version"] for v in registered["latest_versions"]] == ["1"]
    version = ok(http.get(f"{API}/model-versions/get", params={"name": model, "version": "1"}))[
        "model_version"
    ]
    assert version["version"] == "1" and version["status"] == "READY" and version["current_stage"] == "None"
    assert version["run_id"] == run["run_id"] and version["aliases"] == ["champion"]
    assert isinstance(version["creation_timestamp"], int) and "status_message" not in version
    uri = ok(http.get(f"{API}/model-versions/get-download-uri", params={"name": model, "version": "1"}))
    assert uri == {"artifact_uri": f"{run['artifact_uri']}/model"}


def test_download_uri_of_logged_model_and_artifact_sources(http: httpx.Client, model: str) -> None:
    logged = ok(http.post(f"{API}/logged-models", json={"experiment_id": "0", "name": "m"}))["model"]["info"]
    for source, expected in (
        (f"models:/{logged['model_id']}", logged["artifact_uri"]),
        ("mlflow-artifacts:/0/abc/artifacts/model", "mlflow-artifacts:/0/abc/artifacts/model"),
        (f"models:/{model}/1", None),
    ):
        created = ok(http.post(f"{API}/model-versions/create", json={"name": model, "source": source}))
        version = created["model_version"]["version"]
        uri = ok(
            http.get(f"{API}/model-versions/get-download-uri", params={"name": model, "version": version})
        )
        first = ok(http.get(f"{API}/model-versions/get-download-uri", params={"name": model, "version": "1"}))
        assert uri["artifact_uri"] == (expected or first["artifact_uri"])
    assert created["model_version"]["version"] == "4"


def test_delete_routes_take_json_bodies(http: httpx.Client, model: str) -> None:
    ok(http.post(f"{API}/registered-models/set-tag", json={"name": model, "key": "k", "value": "v"}))
    ok(http.request("DELETE", f"{API}/registered-models/delete-tag", json={"name": model, "key": "k"}))
    no_type = http.request(
        "DELETE", f"{API}/registered-models/delete", content=b'{"name": "%s"}' % model.encode()
    )
    assert "Content-Type" in refused(no_type, 400, "INVALID_PARAMETER_VALUE")
    ok(http.request("DELETE", f"{API}/model-versions/delete", json={"name": model, "version": "1"}))
    ok(http.request("DELETE", f"{API}/registered-models/delete", json={"name": model}))
    refused(http.get(f"{API}/registered-models/get", params={"name": model}), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("version", ["abc", "0", "-1", "1.5", " ", "99999999999", "1e3", "0x1", "١"])
def test_bad_version_strings_are_400(http: httpx.Client, model: str, version: str) -> None:
    answer = http.get(f"{API}/model-versions/get", params={"name": model, "version": version})
    assert "version" in refused(answer, 400, "INVALID_PARAMETER_VALUE")
    alias = {"name": model, "alias": "a", "version": version}
    refused(http.post(f"{API}/registered-models/alias", json=alias), 400, "INVALID_PARAMETER_VALUE")


def test_non_string_fields_are_400(http: httpx.Client, model: str) -> None:
    for body in ({"name": model, "alias": "a", "version": 1}, {"name": ["x"], "alias": "a", "version": "1"}):
        refused(http.post(f"{API}/registered-models/alias", json=body), 400, "INVALID_PARAMETER_VALUE")
    stage = {"name": model, "version": "1", "stage": "Staging", "archive_existing_versions": "maybe"}
    refused(http.post(f"{API}/model-versions/transition-stage", json=stage), 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v1", "V12", "a/b", "a b", "x" * 300])
def test_reserved_and_malformed_aliases_are_400(http: httpx.Client, model: str, alias: str) -> None:
    body = {"name": model, "alias": alias, "version": "1"}
    refused(http.post(f"{API}/registered-models/alias", json=body), 400, "INVALID_PARAMETER_VALUE")


def test_unknown_entities_are_404(http: httpx.Client, model: str) -> None:
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    for method, path, args in (
        ("GET", "registered-models/get", {"name": missing}),
        ("GET", "model-versions/get", {"name": model, "version": "7"}),
        ("GET", "model-versions/get-download-uri", {"name": missing, "version": "1"}),
        ("GET", "registered-models/alias", {"name": model, "alias": "nobody"}),
        ("GET", "registered-models/get-latest-versions", {"name": missing}),
        ("POST", "registered-models/rename", {"name": missing, "new_name": missing + "x"}),
        ("PATCH", "model-versions/update", {"name": model, "version": "9", "description": "d"}),
        ("DELETE", "registered-models/delete-tag", {"name": model, "key": "absent"}),
        ("DELETE", "registered-models/alias", {"name": model, "alias": "nobody"}),
        ("POST", "model-versions/create", {"name": missing, "source": "runs:/" + "a" * 32 + "/m"}),
    ):
        if method == "GET":
            answer = http.get(f"{API}/{path}", params=args)
        else:
            answer = http.request(method, f"{API}/{path}", json=args)
        refused(answer, 404, "RESOURCE_DOES_NOT_EXIST")


def test_conflicts_are_400_resource_already_exists(http: httpx.Client, model: str) -> None:
    other = model + "-other"
    ok(http.post(f"{API}/registered-models/create", json={"name": other}))
    for path, body in (("create", {"name": model}), ("rename", {"name": other, "new_name": model})):
        refused(http.post(f"{API}/registered-models/{path}", json=body), 400, "RESOURCE_ALREADY_EXISTS")


@pytest.mark.parametrize(
    "source",
    [
        "/etc/passwd",
        "file:///etc/passwd",
        "s3://someone-else/model",
        "http://169.254.169.254/latest",
        "mlflow-artifacts:/0/../../etc",
        "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
        "runs:/" + "a" * 32 + "/../other",
        "models:/other@champion",
        "mlflow-artifacts:/0/x\\..\\y",
        "",
    ],
)
def test_sources_outside_the_store_are_400(http: httpx.Client, model: str, source: str) -> None:
    answer = http.post(f"{API}/model-versions/create", json={"name": model, "source": source})
    refused(answer, 400, "INVALID_PARAMETER_VALUE")


def test_hostile_names_and_bodies(http: httpx.Client) -> None:
    for name in ("a/b", "..", "x:y", "a@b", "tab\there", "n" * 1000):
        refused(
            http.post(f"{API}/registered-models/create", json={"name": name}), 400, "INVALID_PARAMETER_VALUE"
        )
    big = {"name": "big", "description": "d" * 200_000}
    assert http.post(f"{API}/registered-models/create", json=big).status_code == 413
    for raw in (b"[1, 2]", b"{not json", b'"\\"nested\\""'):
        answer = http.post(
            f"{API}/registered-models/create", content=raw, headers={"Content-Type": "application/json"}
        )
        refused(answer, 400, "INVALID_PARAMETER_VALUE")
    search = http.get(f"{API}/registered-models/search", params={"filter": "name = 'a' OR name = 'b'"})
    refused(search, 400, "INVALID_PARAMETER_VALUE")


def test_ajax_prefix_and_both_latest_versions_methods(http: httpx.Client, model: str) -> None:
    ajax = "/ajax-api/2.0/mlflow"
    assert (
        ok(http.get(f"{ajax}/registered-models/get", params={"name": model}))["registered_model"]["name"]
        == model
    )
    by_post = ok(
        http.post(f"{API}/registered-models/get-latest-versions", json={"name": model, "stages": ["None"]})
    )
    by_get = ok(http.get(f"{API}/registered-models/get-latest-versions", params={"name": model}))
    assert (
        [v["version"] for v in by_post["model_versions"]]
        == [v["version"] for v in by_get["model_versions"]]
        == ["1"]
    )
    bad_stage = http.get(
        f"{API}/registered-models/get-latest-versions", params={"name": model, "stages": "Prod"}
    )
    assert "stage" in refused(bad_stage, 400, "INVALID_PARAMETER_VALUE")
