"""The artifact proxy in front of S3 (moto): the mlflow client and TrackingClient never see the bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.tracking.client import TrackingClient
from live_server import LiveServer, serve
from moto_server import MotoS3


@pytest.fixture
def s3_server(s3_bucket: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose artifact destination is `s3://<fresh bucket>/prefix`."""
    server = serve(str(tmp_path / "store"), f"s3://{s3_bucket}/prefix")  # type: ignore[arg-type]
    yield server
    server.stop()


@pytest.fixture
def mlflow_at(s3_server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    mlflow.set_tracking_uri(s3_server.url)
    yield mlflow
    mlflow.end_run()
    mlflow.set_tracking_uri(None)


def test_mlflow_client_round_trip_through_s3(
    mlflow_at: Any, s3_server: LiveServer, s3_bucket: str, moto_s3: MotoS3, tmp_path: Path
) -> None:
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "sub" / "w.bin").write_bytes(b"\x07" * 70_000)
    (tmp_path / "conf.yaml").write_text("a: 1\n")
    with mlflow_at.start_run() as run:
        mlflow_at.log_artifact(str(tmp_path / "conf.yaml"))
        mlflow_at.log_artifacts(str(local), "weights")
    run_id = run.info.run_id
    prefix = f"prefix/0/{run_id}/artifacts"
    assert moto_s3.keys(s3_bucket) == [f"{prefix}/conf.yaml", f"{prefix}/weights/sub/w.bin"]

    client = mlflow_at.MlflowClient(s3_server.url)
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [
        ("conf.yaml", False),
        ("weights", True),
    ]
    inner = mlflow_at.artifacts.list_artifacts(artifact_uri=f"{run.info.artifact_uri}/weights/sub")
    assert [(f.path, f.file_size) for f in inner] == [("sub/w.bin", 70_000)]

    out = Path(mlflow_at.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "dl")))
    assert (out / "weights" / "sub" / "w.bin").read_bytes() == b"\x07" * 70_000
    assert (out / "conf.yaml").read_text() == "a: 1\n"
    record = s3_server.services.store.get_artifact_records(run_id)["weights/sub/w.bin"]
    assert record.sha256 == hashlib.sha256(b"\x07" * 70_000).hexdigest()

    get_artifact_repository(run.info.artifact_uri).delete_artifacts("weights")
    assert moto_s3.keys(s3_bucket) == [f"{prefix}/conf.yaml"]


def test_tracking_client_round_trip_through_s3(
    s3_server: LiveServer, s3_bucket: str, moto_s3: MotoS3, tmp_path: Path
) -> None:
    client = TrackingClient(s3_server.url)
    run_id = client.create_run("0").info.run_id
    (tmp_path / "m.txt").write_text("metrics")
    client.log_artifact(run_id, tmp_path / "m.txt", "reports")
    client.log_bytes(run_id, b"\x00" * 5000, "raw/zeros.bin")
    prefix = f"prefix/0/{run_id}/artifacts"
    assert moto_s3.keys(s3_bucket) == [f"{prefix}/raw/zeros.bin", f"{prefix}/reports/m.txt"]

    (zeros,) = client.list_artifacts(run_id, "raw")
    assert (zeros.path, zeros.file_size) == ("raw/zeros.bin", 5000)
    assert zeros.sha256 == hashlib.sha256(b"\x00" * 5000).hexdigest()
    out = Path(client.download_artifacts(run_id, dst_path=tmp_path / "dl"))
    assert (out / "reports" / "m.txt").read_text() == "metrics"
    with client.artifact_store(run_id).open("raw/zeros.bin") as stream:
        assert stream.read() == b"\x00" * 5000

    client.artifact_store(run_id).delete("reports")
    assert moto_s3.keys(s3_bucket) == [f"{prefix}/raw/zeros.bin"]
    client.artifact_store(run_id).delete()
    assert moto_s3.keys(s3_bucket) == []


def test_s3_downloads_are_attachments_and_traversal_is_refused(
    s3_server: LiveServer, s3_bucket: str, moto_s3: MotoS3
) -> None:
    proxy = f"{s3_server.url}/api/2.0/mlflow-artifacts/artifacts"
    assert httpx.put(f"{proxy}/a/b.txt", content=b"bee").status_code == 200
    got = httpx.get(f"{proxy}/a/b.txt")
    assert got.content == b"bee"
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(f"{proxy}/a/missing.txt").status_code == 404
    assert httpx.get(f"{proxy}/a").status_code == 400
    escape = httpx.put(f"{proxy}/a/%2e%2e/%2e%2e/outside.txt", content=b"x")
    assert escape.status_code == 400
    assert moto_s3.keys(s3_bucket) == ["prefix/a/b.txt"]
