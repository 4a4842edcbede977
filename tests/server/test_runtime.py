"""`cairn server --workers 2` as a real process: health, version, metrics, access log, memory, SIGTERM."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from runtime_process import ServerProcess, sample

import cairn

MIB = 1024 * 1024
BIG_ARTIFACT = "/api/2.0/mlflow-artifacts/artifacts/downloads/big.bin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("runtime")
    args = [
        "server",
        "--backend-store-uri",
        str(root / "store"),
        "--artifacts-destination",
        str(root / "art"),
    ]
    process = ServerProcess([*args, "--workers", "2"], cwd=root).wait_ready()
    yield process
    process.stop()


def scrape(server: ServerProcess) -> str:
    response = httpx.get(f"{server.url}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def fresh_get(url: str, **kwargs: object) -> httpx.Response:
    """A GET on a new connection, so that requests spread over the workers."""
    with httpx.Client(timeout=30) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]


def test_health_and_version(server: ServerProcess) -> None:
    health = fresh_get(f"{server.url}/health")
    assert health.status_code == 200
    assert health.json() == {"status": "OK"}
    assert fresh_get(f"{server.url}/version").json() == {"version": cairn.__version__}
    assert "server" not in health.headers  # uvicorn does not announce itself


def test_metrics_count_requests_by_route_template(server: ServerProcess) -> None:
    before = scrape(server)
    for _ in range(3):
        assert fresh_get(f"{server.url}/health").status_code == 200
    run_id = uuid.uuid4().hex
    assert fresh_get(f"{server.url}/api/v1/runs/{run_id}").status_code == 404
    missing = f"/no/such/page-{uuid.uuid4().hex}"
    assert fresh_get(server.url + missing).status_code == 404
    after = scrape(server)

    health = {"method": "GET", "route": "/health", "status": "200"}
    assert (
        sample(after, "cairn_http_requests_total", **health)
        == sample(before, "cairn_http_requests_total", **health) + 3
    )
    assert sample(after, "cairn_http_request_duration_seconds_count", **health) >= 3
    run_route = {"method": "GET", "route": "/api/v1/runs/{run_id}", "status": "404"}
    assert sample(after, "cairn_http_requests_total", **run_route) >= 1
    assert sample(after, "cairn_http_requests_total", route="<unmatched>", status="404") >= 1
    assert run_id not in after and missing not in after
    assert sample(after, "cairn_http_requests_in_flight") >= 1  # the scrape itself
    assert sample(after, "cairn_db_pool_size") > 0
    assert sample(after, "cairn_db_pool_checked_out") == 0


def test_access_log_lines_are_json(server: ServerProcess) -> None:
    request_id = f"trace-{uuid.uuid4().hex}"
    response = fresh_get(f"{server.url}/version", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id

    def logged() -> dict[str, object] | None:
        records = [json.loads(line) for line in server.stdout_lines()]
        return next((r for r in records if r["request_id"] == request_id), None)

    record = server.wait_for(logged)
    assert record["method"] == "GET"
    assert record["path"] == record["route"] == "/version"
    assert record["status"] == 200
    assert record["bytes"] == len(response.content)
    assert isinstance(record["duration_ms"], float)
    assert str(record["client"]).startswith("127.0.0.1:")
    assert str(record["time"]).endswith("+00:00")
    assert not any('"GET /version HTTP/1.1"' in line for line in server.stderr_lines())


def test_idle_two_worker_server_stays_under_300_mib(server: ServerProcess) -> None:
    assert server.tree_rss() < 300 * MIB


@pytest.fixture(scope="module")
def worker_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Top-level modules loaded by a worker once its app is built over an embedded store."""
    root = tmp_path_factory.mktemp("imports")
    code = (
        "import sys, cairn.cli.main, cairn.server.runtime\n"
        "from cairn.server.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "print(' '.join(sorted({name.partition('.')[0] for name in sys.modules})))"
    )
    env = {
        **os.environ,
        "CAIRN_SERVER_BACKEND_STORE_URI": str(root / "store"),
        "CAIRN_SERVER_ARTIFACTS_DESTINATION": str(root / "art"),
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return set(result.stdout.split())


@pytest.mark.parametrize("heavy", ["numpy", "pandas", "sklearn", "mlflow", "pyarrow", "matplotlib"])
def test_server_import_path_leaves_heavy_libraries_out(worker_modules: set[str], heavy: str) -> None:
    assert heavy not in worker_modules


def test_sigterm_lets_an_in_flight_download_finish_then_exits_0(server: ServerProcess) -> None:
    """Runs last: it stops the module's server."""
    data = random.Random(7).randbytes(48 * MIB)  # far more than the socket buffers hold
    upload = httpx.put(server.url + BIG_ARTIFACT, content=data, timeout=120)
    assert upload.status_code == 200, upload.text
    with httpx.stream("GET", server.url + BIG_ARTIFACT, timeout=120) as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()
        received = [next(chunks)]
        server.process.send_signal(signal.SIGTERM)
        # Both workers have begun their graceful shutdown before the rest of the body is read.
        server.wait_for(lambda: sum("Shutting down" in line for line in server.stderr_lines()) >= 2 or None)
        received.extend(chunks)
    body = b"".join(received)
    assert len(body) == len(data)
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert server.wait_exit() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", timeout=5)
