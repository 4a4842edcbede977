"""The MLflow artifact proxy and artifacts/list, through the real mlflow client and raw HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_server import LiveServer, serve

PROXY = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def mlflow_at(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The mlflow module pointed at the live server, failing fast instead of retrying."""
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(server.url)
    yield mlflow
    mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _new_run(server: LiveServer) -> tuple[str, str]:
    """A run in the default experiment: (run_id, its destination-relative artifact prefix)."""
    run = server.services.store.create_run("0", "tester", 0, "proxy-test")
    return run.info.run_id, server.services.proxy_prefix(run.info.artifact_uri)


def _dest(server: LiveServer) -> Path:
    return Path(server.services.config.artifacts_destination)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_mlflow_client_logs_lists_and_downloads(mlflow_at: Any, server: LiveServer, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "nested").mkdir(parents=True)
    (local / "a.txt").write_text("alpha")
    (local / "nested" / "b.bin").write_bytes(b"\x00\x01" * 1000)
    single = tmp_path / "model.json"
    single.write_text('{"k": 1}')

    with mlflow_at.start_run() as run:
        mlflow_at.log_artifact(str(single))
        mlflow_at.log_artifacts(str(local), "data")
    run_id = run.info.run_id
    assert run.info.artifact_uri == f"mlflow-artifacts:/0/{run_id}/artifacts"

    client = mlflow_at.MlflowClient(server.url)
    top = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)}
    assert top == {("data", True, None), ("model.json", False, 8)}
    nested = mlflow_at.artifacts.list_artifacts(artifact_uri=f"{run.info.artifact_uri}/data")
    assert [(f.path, f.is_dir) for f in nested] == [("data/a.txt", False), ("data/nested", True)]

    out = Path(mlflow_at.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "dl")))
    assert (out / "model.json").read_text() == '{"k": 1}'
    assert (out / "data" / "nested" / "b.bin").read_bytes() == b"\x00\x01" * 1000

    records = server.services.store.get_artifact_records(run_id)
    assert records["data/nested/b.bin"].sha256 == _sha(b"\x00\x01" * 1000)
    assert records["model.json"].file_size == 8


def test_mlflow_client_deletes_through_the_proxy(mlflow_at: Any, server: LiveServer, tmp_path: Path) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    (tmp_path / "f.txt").write_text("x")
    with mlflow_at.start_run() as run:
        mlflow_at.log_artifact(str(tmp_path / "f.txt"), "keep")
        mlflow_at.log_artifact(str(tmp_path / "f.txt"), "drop")
    repo = get_artifact_repository(run.info.artifact_uri)
    repo.delete_artifacts("drop")
    assert [f.path for f in repo.list_artifacts()] == ["keep"]
    assert not (_dest(server) / "0" / run.info.run_id / "artifacts" / "drop").exists()


def test_multipart_request_falls_back_to_a_single_put(
    mlflow_at: Any, server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1")
    (tmp_path / "big.bin").write_bytes(b"z" * 4096)
    with mlflow_at.start_run() as run:
        mlflow_at.log_artifact(str(tmp_path / "big.bin"))
    assert (_dest(server) / "0" / run.info.run_id / "artifacts" / "big.bin").read_bytes() == b"z" * 4096
    answer = httpx.post(f"{server.url}/api/2.0/mlflow-artifacts/mpu/create/x/y.bin", json={})
    assert answer.status_code == 404
    assert answer.json()["message"].startswith("Multipart upload is not supported")


def test_download_is_an_attachment_with_no_sniffing(server: LiveServer) -> None:
    data = b"<html><script>alert(1)</script></html>"
    put = httpx.put(f"{server.url}{PROXY}/x/page.html", content=data, headers={"Content-Type": "text/html"})
    assert put.status_code == 200
    assert put.json() == {}
    got = httpx.get(f"{server.url}{PROXY}/x/page.html")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith('attachment; filename="page.html"')
    assert got.headers["content-length"] == str(len(data))


def test_names_with_spaces_and_unicode_round_trip(server: LiveServer) -> None:
    name = "données été/100% sûr [v2].txt"
    url = f"{server.url}{PROXY}/u/" + httpx.URL(name).raw_path.decode()
    assert httpx.put(url, content=b"ok").status_code == 200
    assert (_dest(server) / "u" / "données été" / "100% sûr [v2].txt").read_bytes() == b"ok"
    got = httpx.get(url)
    assert got.content == b"ok"
    disposition = got.headers["content-disposition"]
    assert 'filename="100% s_r [v2].txt"' in disposition
    assert "filename*=UTF-8''100%25%20s%C3%BBr%20%5Bv2%5D.txt" in disposition


def test_listing_gives_names_relative_to_the_folder(server: LiveServer) -> None:
    for path, body in [("d/one.txt", b"1"), ("d/sub/two.txt", b"22")]:
        assert httpx.put(f"{server.url}{PROXY}/{path}", content=body).status_code == 200
    listed = httpx.get(f"{server.url}{PROXY}", params={"path": "d"}).json()
    assert listed == {
        "files": [{"path": "one.txt", "is_dir": False, "file_size": 1}, {"path": "sub", "is_dir": True}]
    }
    assert httpx.get(f"{server.url}{PROXY}", params={"path": "d/one.txt"}).json() == {"files": []}
    assert httpx.get(f"{server.url}{PROXY}", params={"path": "missing"}).json() == {"files": []}
    root = httpx.get(f"{server.url}{PROXY}").json()
    assert root == {"files": [{"path": "d", "is_dir": True}]}


def test_missing_files_folders_and_bad_writes_are_client_errors(server: LiveServer) -> None:
    assert httpx.put(f"{server.url}{PROXY}/f/a.txt", content=b"a").status_code == 200
    missing = httpx.get(f"{server.url}{PROXY}/f/nope.txt")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    folder = httpx.get(f"{server.url}{PROXY}/f")
    assert folder.status_code == 400
    assert "folder" in folder.json()["message"]
    over_folder = httpx.put(f"{server.url}{PROXY}/f", content=b"x")
    assert over_folder.status_code == 400
    under_file = httpx.put(f"{server.url}{PROXY}/f/a.txt/b.txt", content=b"x")
    assert under_file.status_code == 400
    assert (_dest(server) / "f" / "a.txt").read_bytes() == b"a"


def test_delete_files_and_folders_but_never_the_root(server: LiveServer) -> None:
    for path in ("k/a.txt", "k/b/c.txt", "other.txt"):
        assert httpx.put(f"{server.url}{PROXY}/{path}", content=b"x").status_code == 200
    assert httpx.delete(f"{server.url}{PROXY}/k/a.txt").status_code == 200
    assert httpx.delete(f"{server.url}{PROXY}/k/b").status_code == 200
    assert httpx.delete(f"{server.url}{PROXY}/k/never-there").status_code == 200
    root = httpx.delete(f"{server.url}{PROXY}/")
    assert root.status_code == 400
    assert "path" in root.json()["message"]
    assert sorted(p.name for p in _dest(server).rglob("*")) == ["k", "other.txt"]


def test_query_strings_are_refused_on_file_routes(server: LiveServer) -> None:
    for method in ("PUT", "GET", "DELETE"):
        answer = httpx.request(
            method, f"{server.url}{PROXY}/q.txt?x=1", content=b"data" if method == "PUT" else None
        )
        assert answer.status_code == 400, method
        assert "query" in answer.json()["message"]
    assert not (_dest(server) / "q.txt").exists()


def test_uploads_over_the_limit_get_413_and_leave_nothing(tmp_path: Path) -> None:
    small = serve(str(tmp_path / "store"), tmp_path / "dest", max_upload_bytes=1000)
    try:
        declared = httpx.put(f"{small.url}{PROXY}/big.bin", content=b"x" * 2000)
        assert declared.status_code == 413
        assert declared.json()["error_code"] == "REQUEST_TOO_LARGE"
        streamed = httpx.put(f"{small.url}{PROXY}/big.bin", content=iter([b"x" * 600, b"y" * 600]))
        assert streamed.status_code == 413
        assert httpx.put(f"{small.url}{PROXY}/ok.bin", content=b"x" * 1000).status_code == 200
    finally:
        small.stop()
    assert sorted(p.name for p in (tmp_path / "dest").rglob("*")) == ["ok.bin"]


def test_uploads_record_digests_only_for_existing_runs(server: LiveServer) -> None:
    run_id, prefix = _new_run(server)
    data = b"model weights"
    assert httpx.put(f"{server.url}{PROXY}/{prefix}/w/model.bin", content=data).status_code == 200
    ghost = "0/" + "f" * 32 + "/artifacts/x.bin"
    assert httpx.put(f"{server.url}{PROXY}/{ghost}", content=data).status_code == 200
    assert httpx.put(f"{server.url}{PROXY}/0/models/m-1/artifacts/x.bin", content=data).status_code == 200
    records = server.services.store.get_artifact_records(run_id)
    assert list(records) == ["w/model.bin"]
    assert records["w/model.bin"].sha256 == _sha(data)
    assert records["w/model.bin"].file_size == len(data)


@pytest.mark.parametrize("api", ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"])
def test_run_artifact_listing_is_relative_to_the_run(server: LiveServer, api: str) -> None:
    run_id, prefix = _new_run(server)
    for path in ("top.txt", "sub/inner.txt"):
        assert httpx.put(f"{server.url}{PROXY}/{prefix}/{path}", content=b"abc").status_code == 200
    root = httpx.get(f"{server.url}{api}/artifacts/list", params={"run_id": run_id}).json()
    assert root == {
        "root_uri": f"mlflow-artifacts:/{prefix}",
        "files": [{"path": "sub", "is_dir": True}, {"path": "top.txt", "is_dir": False, "file_size": 3}],
    }
    sub = httpx.get(f"{server.url}{api}/artifacts/list", params={"run_uuid": run_id, "path": "sub"}).json()
    assert sub["files"] == [{"path": "sub/inner.txt", "is_dir": False, "file_size": 3}]


def test_run_artifact_listing_errors(server: LiveServer) -> None:
    url = f"{server.url}/api/2.0/mlflow/artifacts/list"
    no_run = httpx.get(url)
    assert no_run.status_code == 400
    assert "run_id" in no_run.json()["message"]
    unknown = httpx.get(url, params={"run_id": "a" * 32})
    assert unknown.status_code == 404
    run_id, _ = _new_run(server)
    bad = httpx.get(url, params={"run_id": run_id, "path": "../path"})
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "../path" in bad.json()["message"]
