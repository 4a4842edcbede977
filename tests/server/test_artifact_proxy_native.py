"""Native artifact routes under /api/v1/runs/{run_id}/artifacts: streamed files with recorded digests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from live_server import LiveServer


def _new_run(server: LiveServer, experiment_id: str = "0") -> str:
    return server.services.store.create_run(experiment_id, "tester", 0, "native").info.run_id


def test_upload_answers_with_size_and_digest_and_records_them(live_server: LiveServer) -> None:
    run_id = _new_run(live_server)
    data = b"columns,rows\n1,2\n"
    answer = httpx.put(f"{live_server.url}/api/v1/runs/{run_id}/artifacts/tables/t.csv", content=data)
    assert answer.status_code == 200
    expected = {"path": "tables/t.csv", "is_dir": False, "file_size": len(data)}
    assert answer.json() == {**expected, "sha256": hashlib.sha256(data).hexdigest()}
    record = live_server.services.store.get_artifact_records(run_id)["tables/t.csv"]
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    on_disk = Path(live_server.services.config.artifacts_destination) / "0" / run_id / "artifacts"
    assert (on_disk / "tables" / "t.csv").read_bytes() == data


def test_list_download_and_delete(live_server: LiveServer) -> None:
    run_id = _new_run(live_server)
    base = f"{live_server.url}/api/v1/runs/{run_id}/artifacts"
    assert httpx.put(f"{base}/a.txt", content=b"aaa").status_code == 200
    assert httpx.put(f"{base}/d/b.txt", content=b"bb").status_code == 200
    listed = httpx.get(base).json()
    assert listed["root_uri"] == f"mlflow-artifacts:/0/{run_id}/artifacts"
    assert listed["files"] == [
        {"path": "a.txt", "is_dir": False, "file_size": 3, "sha256": hashlib.sha256(b"aaa").hexdigest()},
        {"path": "d", "is_dir": True, "file_size": None, "sha256": None},
    ]
    inner = httpx.get(base, params={"path": "d"}).json()["files"]
    assert [item["path"] for item in inner] == ["d/b.txt"]
    got = httpx.get(f"{base}/d/b.txt")
    assert got.content == b"bb"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert httpx.delete(f"{base}/d").status_code == 200
    assert [item["path"] for item in httpx.get(base).json()["files"]] == ["a.txt"]


def test_listing_ignores_a_stale_record(live_server: LiveServer) -> None:
    run_id = _new_run(live_server)
    base = f"{live_server.url}/api/v1/runs/{run_id}/artifacts"
    assert httpx.put(f"{base}/f.txt", content=b"first").status_code == 200
    target = Path(live_server.services.config.artifacts_destination) / "0" / run_id / "artifacts" / "f.txt"
    target.write_bytes(b"changed behind the server's back")
    (entry,) = httpx.get(base).json()["files"]
    assert entry["sha256"] is None
    assert entry["file_size"] == len(b"changed behind the server's back")


def test_unknown_runs_and_runs_not_served_here_are_404(live_server: LiveServer, tmp_path: Path) -> None:
    missing = httpx.get(f"{live_server.url}/api/v1/runs/{'b' * 32}/artifacts")
    assert missing.status_code == 404
    store = live_server.services.store
    elsewhere = store.create_experiment("elsewhere", artifact_location=(tmp_path / "direct").as_uri())
    run_id = _new_run(live_server, elsewhere)
    for method in ("GET", "PUT", "DELETE"):
        answer = httpx.request(
            method,
            f"{live_server.url}/api/v1/runs/{run_id}/artifacts/x.txt",
            content=b"x" if method == "PUT" else None,
        )
        assert answer.status_code == 404, method
        assert "not served by this server" in answer.json()["message"]
    assert not (tmp_path / "direct").exists()


def test_missing_files_and_folders(live_server: LiveServer) -> None:
    run_id = _new_run(live_server)
    base = f"{live_server.url}/api/v1/runs/{run_id}/artifacts"
    assert httpx.get(f"{base}/nope.txt").status_code == 404
    assert httpx.put(f"{base}/dir/f.txt", content=b"x").status_code == 200
    assert httpx.get(f"{base}/dir").status_code == 400
    assert httpx.put(f"{base}/", content=b"x").status_code == 400
