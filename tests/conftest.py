"""Shared fixtures: tracking back ends (SQLite, a throwaway PostgreSQL cluster) and clean fluent state."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

import cairn
from cairn.settings import Settings
from cairn.tracking import uri as tracking_uri_state
from cairn.tracking.active_run import run_stack
from cairn.tracking.client import TrackingClient
from pg_cluster import PostgresCluster, pg_tools_available

BACKENDS = ["sqlite", "postgres"]
_db_names = itertools.count()


@pytest.fixture(autouse=True)
def _quiet_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests skip code/environment capture unless they turn it on; it is tested on its own."""
    monkeypatch.setenv("CAIRN_CAPTURE_CODE", "false")
    monkeypatch.setenv("CAIRN_CAPTURE_ENVIRONMENT", "false")
    for name in (
        "CAIRN_TRACKING_URI",
        "CAIRN_EXPERIMENT_NAME",
        "CAIRN_EXPERIMENT_ID",
        "CAIRN_SYSTEM_METRICS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _clean_fluent_state() -> Iterator[None]:
    yield
    while run_stack():
        cairn.end_run()
    cairn.set_tracking_uri(None)
    tracking_uri_state.forget_stores()


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the whole session; each test gets its own database."""
    if not pg_tools_available():
        pytest.fail("initdb/pg_ctl are not on PATH; PostgreSQL tests cannot run")
    with PostgresCluster(tmp_path_factory.mktemp("pg")) as cluster:
        yield cluster


@pytest.fixture
def postgres_url(pg_cluster: PostgresCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL for one test."""
    name = f"t{next(_db_names)}"
    url = pg_cluster.create_database(name)
    yield url
    tracking_uri_state.forget_stores()
    pg_cluster.drop_database(name)


def _store_uri(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return str(tmp_path / "store")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=BACKENDS)
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tracking URI for each back end; artifacts go under tmp_path."""
    monkeypatch.setenv("CAIRN_ARTIFACT_ROOT", (tmp_path / "artifacts").as_uri())
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return _store_uri(request.param, tmp_path, request)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Fast settings for tests: no capture, short flush interval."""
    return Settings(
        artifact_root=(tmp_path / "artifacts").as_uri(),
        flush_interval=0.1,
        capture_code=False,
        capture_environment=False,
    )


@pytest.fixture
def client(tracking_uri: str, settings: Settings) -> TrackingClient:
    """A TrackingClient on each back end."""
    return TrackingClient(tracking_uri, settings=settings)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[object]:
    """A live Cairn server on an embedded store in tmp_path."""
    from live_server import serve

    server = serve(str(tmp_path / "server-store"), tmp_path / "server-artifacts")
    yield server
    server.stop()
