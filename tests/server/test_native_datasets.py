"""The native dataset API (`/api/v1/datasets`, `/api/v1/dataset-blobs`) on the wire; blobs via the proxy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.entities import DatasetStorage, DatasetVersionDraft
from cairn.errors import InvalidArgument
from cairn.store.rest import RestStore
from cairn.store.rest.artifacts import RestArtifactStore
from live_server import LiveServer

V1 = "/api/v1"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def body(content: str = "a", **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "digest": sha(content),
        "row_count": 3,
        "schema": {"columns": [{"name": "x", "type": "int64"}]},
        "profile": {"row_count": 3},
        "source": "memory",
        "source_type": "pandas",
        "storage": "copy",
        "manifest_digest": sha("manifest"),
        "file_count": 1,
        "size_bytes": 10,
    }
    values.update(fields)
    return values


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as session:
        yield session


@pytest.fixture
def rest(live_server: LiveServer) -> Iterator[RestStore]:
    store = RestStore(live_server.url)
    yield store
    store.close()


def test_versions_travel_as_json_objects_and_repeat_logging_is_not_created(http: httpx.Client) -> None:
    first = http.post(f"{V1}/datasets/iris/versions", json=body(created_by="alice"))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["created"] is True
    version = answer["dataset_version"]
    assert version["schema"] == {"columns": [{"name": "x", "type": "int64"}]}
    assert (version["version"], version["created_by"], version["status"]) == (1, "alice", "READY")
    assert (version["profile"], version["validations"], version["aliases"]) == ({"row_count": 3}, [], [])
    repeat = http.post(f"{V1}/datasets/iris/versions", json=body()).json()
    assert repeat == {"dataset_version": version, "created": False}
    anonymous = http.post(f"{V1}/datasets/iris/versions", json=body("b")).json()["dataset_version"]
    assert anonymous["created_by"] == "unknown"
    assert http.get(f"{V1}/datasets/iris/versions/1").json() == version
    assert http.get(f"{V1}/datasets/iris/latest").json()["version"] == 2
    found = http.get(f"{V1}/datasets/iris/find", params={"digest": sha("a"), "storage": "copy"}).json()
    assert found == {"dataset_version": version}
    missing = http.get(f"{V1}/datasets/iris/find", params={"digest": sha("a"), "storage": "reference"})
    assert missing.json() == {"dataset_version": None}
    listed = http.get(f"{V1}/datasets").json()
    assert [(d["name"], d["latest_version"]) for d in listed["datasets"]] == [("iris", 2)]
    assert listed["next_page_token"] is None


def test_errors_map_to_statuses_and_name_the_problem(http: httpx.Client) -> None:
    missing = http.get(f"{V1}/datasets/ghost/versions/1")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST" and "ghost" in missing.json()["message"]
    bad_digest = http.post(f"{V1}/datasets/iris/versions", json=body(digest="ABC"))
    assert bad_digest.status_code == 400 and "digest" in bad_digest.json()["message"]
    unknown_field = http.post(f"{V1}/datasets/iris/versions", json=body(colour="blue"))
    assert unknown_field.status_code == 400 and "colour" in unknown_field.json()["message"]
    schema_as_text = http.post(f"{V1}/datasets/iris/versions", json=body(schema="{}"))
    assert schema_as_text.status_code == 400 and "schema" in schema_as_text.json()["message"]
    assert http.get(f"{V1}/datasets").json()["datasets"] == []
    http.post(f"{V1}/datasets/iris/versions", json=body())
    http.post(f"{V1}/datasets/iris/versions/1/erase", json={"erasure": {"where": "id = 1"}})
    conflict = http.post(f"{V1}/datasets/iris/aliases/golden", json={"version": 1})
    assert conflict.status_code == 409 and "ERASED" in conflict.json()["message"]
    too_many = http.post(f"{V1}/dataset-blobs/missing", json={"digests": [sha("x")] * 10_001})
    assert too_many.status_code == 400
    bad_version = http.get(f"{V1}/datasets/iris/versions/one")
    assert bad_version.status_code == 400 and "version" in bad_version.json()["message"]


def test_rest_store_names_bad_paths_before_sending(rest: RestStore) -> None:
    with pytest.raises(InvalidArgument, match="'a/b'"):
        rest.get_dataset_version("a/b", 1)
    with pytest.raises(InvalidArgument, match="alias"):
        rest.get_dataset_version_by_alias("iris", "../golden")
    with pytest.raises(InvalidArgument, match="version"):
        rest.get_dataset_version("iris", 0)


def test_blob_lists_longer_than_one_request_are_split(rest: RestStore) -> None:
    digests = [sha(f"blob {i}") for i in range(10_050)]
    assert rest.missing_dataset_blobs(digests) == set(digests)
    rest.record_dataset_blobs([(d, 1) for d in digests[5:]])
    assert rest.missing_dataset_blobs(digests) == set(digests[:5])
    rest.forget_dataset_blobs(digests[10_000:])
    assert rest.missing_dataset_blobs(digests) == set(digests[:5] + digests[10_000:])


def test_dataset_blobs_go_through_the_artifact_proxy(rest: RestStore, live_server: LiveServer) -> None:
    root = rest.dataset_artifact_root()
    assert root == "mlflow-artifacts:/datasets"
    blobs = RestArtifactStore.from_uri(root, live_server.url)
    data = b"col\n1\n2\n"
    digest = hashlib.sha256(data).hexdigest()
    info = blobs.log_bytes(data, f"blobs/{digest[:2]}/{digest}")
    assert info.sha256 == digest and info.file_size == len(data)
    with blobs.open(f"blobs/{digest[:2]}/{digest}") as stream:
        assert stream.read() == data
    on_disk = (
        Path(live_server.services.config.artifacts_destination) / "datasets" / "blobs" / digest[:2] / digest
    )
    assert on_disk.read_bytes() == data


def test_the_rest_store_reads_back_what_it_wrote(rest: RestStore) -> None:
    draft = DatasetVersionDraft(
        name="wine",
        digest=sha("w"),
        row_count=1,
        schema={"columns": []},
        profile=None,
        source="s3://bucket/wine.csv",
        source_type="csv",
        storage=DatasetStorage.REFERENCE,
        manifest_digest=sha("m"),
        file_count=1,
        size_bytes=5,
        tags={"owner": "data"},
        pii={"findings": [{"column": "email", "kind": "email", "share": 1.0}]},
    )
    version, created = rest.create_dataset_version(draft, "carol")
    assert created and version.storage is DatasetStorage.REFERENCE and version.pii == draft.pii
    rest.set_dataset_alias("wine", "golden", 1)
    assert rest.get_dataset_version_by_alias("wine", "golden") == rest.get_dataset_version("wine", 1)


def test_openapi_documents_the_dataset_routes(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths[f"{V1}/datasets/{{name}}/versions"])
    assert {"get", "post", "delete"} <= set(paths[f"{V1}/datasets/{{name}}/aliases/{{alias}}"])
    assert "post" in paths[f"{V1}/dataset-blobs/missing"]
