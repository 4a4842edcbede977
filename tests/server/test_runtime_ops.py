"""Operational routes and observability in-process: health with a database check, metrics, access log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from runtime_process import sample

from cairn.server.observability import ACCESS_LOGGER, retire_dead_workers
from live_server import LiveServer

EXPERIMENT_GET = "/2.0/mlflow/experiments/get"


def break_database(server: LiveServer) -> None:
    """Replace the SQLite file with garbage after dropping pooled connections: every query now fails."""
    engine = server.services.store.engine  # type: ignore[attr-defined]
    db_file = Path(engine.url.database)
    engine.dispose()
    for leftover in db_file.parent.glob(db_file.name + "-*"):
        leftover.unlink()
    db_file.write_bytes(b"this is not a database" * 100)


def wait_for_records(caplog: pytest.LogCaptureFixture, count: int) -> list[dict[str, object]]:
    """Access records are written just after the response is sent: wait for them to arrive."""
    deadline = time.monotonic() + 30
    while True:
        records = [r for r in caplog.records if r.name == ACCESS_LOGGER]
        if len(records) >= count or time.monotonic() > deadline:
            return [json.loads(r.getMessage()) for r in records]
        time.sleep(0.01)


def test_health_is_503_json_when_the_database_is_down(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.url}/health").status_code == 200
    break_database(live_server)
    response = httpx.get(f"{live_server.url}/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "UNAVAILABLE"
    assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert "database" in body["message"]
    assert "not a database" not in body["message"]  # details stay in the server log


def test_unexpected_error_is_500_json_with_headers_and_counted(live_server: LiveServer) -> None:
    break_database(live_server)
    response = httpx.get(f"{live_server.url}/api{EXPERIMENT_GET}", params={"experiment_id": "0"})
    assert response.status_code == 500
    assert response.json()["error_code"] == "INTERNAL_ERROR"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"] in response.json()["message"]
    metrics = httpx.get(f"{live_server.url}/metrics").text
    route = f"/api{EXPERIMENT_GET}"
    assert sample(metrics, "cairn_http_requests_total", method="GET", route=route, status="500") == 1


def test_route_templates_keep_each_prefix_and_drop_ids(live_server: LiveServer) -> None:
    for prefix in ("/api", "/ajax-api"):
        assert httpx.get(live_server.url + prefix + EXPERIMENT_GET, params={"experiment_id": "0"}).is_success
    key = f"folder-{uuid.uuid4().hex}/file.txt"
    artifact = f"{live_server.url}/api/2.0/mlflow-artifacts/artifacts/{key}"
    assert httpx.put(artifact, content=b"hello").status_code == 200
    assert httpx.get(artifact).content == b"hello"
    metrics = httpx.get(f"{live_server.url}/metrics").text
    for prefix in ("/api", "/ajax-api"):
        assert sample(metrics, "cairn_http_requests_total", route=prefix + EXPERIMENT_GET, status="200") == 1
    downloads = {"method": "GET", "route": "/api/2.0/mlflow-artifacts/artifacts/{path}", "status": "200"}
    assert sample(metrics, "cairn_http_requests_total", **downloads) == 1
    assert key.split("/")[0] not in metrics


def test_pool_gauges_follow_the_sql_engine(live_server: LiveServer) -> None:
    assert httpx.get(live_server.url + "/api" + EXPERIMENT_GET, params={"experiment_id": "0"}).is_success
    metrics = httpx.get(f"{live_server.url}/metrics").text
    pool = live_server.services.store.engine.pool  # type: ignore[attr-defined]
    assert sample(metrics, "cairn_db_pool_size") == pool.size()
    assert sample(metrics, "cairn_db_pool_checked_out") == pool.checkedout() == 0


def test_one_json_access_record_per_request(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    with httpx.Client(base_url=live_server.url) as client:
        client.get("/version", headers={"X-Request-ID": "req-1"})
        client.get("/nowhere", headers={"X-Request-ID": "req-2"})
        client.get("/health", headers={"Host": "evil.example", "X-Request-ID": "req-3"})
    records = {r["request_id"]: r for r in wait_for_records(caplog, 3)}
    assert records["req-1"]["route"] == "/version"
    assert records["req-1"]["status"] == 200
    assert records["req-2"]["route"] == "<unmatched>"
    assert records["req-2"]["status"] == 404
    assert records["req-3"]["status"] == 400  # refusals are logged too
    assert set(records["req-1"]) == {
        "time",
        "method",
        "path",
        "route",
        "status",
        "duration_ms",
        "bytes",
        "request_id",
        "client",
    }


def test_live_gauges_of_a_worker_that_died_are_retired(tmp_path: Path) -> None:
    code = (
        "from cairn.server.observability import ServerMetrics\n"
        "metrics = ServerMetrics()\n"
        "metrics.pool_size.inc(5)\n"
        "metrics.observe('GET', '/health', 200, 0.01)\n"
        "import os; print(os.getpid())\n"  # exits without close(), like a crashed worker
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    pid = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    dead = pid.stdout.strip()
    assert (tmp_path / f"gauge_livesum_{dead}.db").exists()
    retire_dead_workers(str(tmp_path))
    assert not (tmp_path / f"gauge_livesum_{dead}.db").exists()
    assert (tmp_path / f"counter_{dead}.db").exists()  # counters of dead workers still count
