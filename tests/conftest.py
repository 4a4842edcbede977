"""Shared fixtures: tracking back ends (SQLite, throwaway PostgreSQL, a live server) and clean state."""

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

BACKENDS = ["sqlite", "postgres", "rest"]
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
def _private_data_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dataset hash and blob caches live in the test's own folder, never in the user's home."""
    monkeypatch.setenv("CAIRN_HASH_CACHE", str(tmp_path / "cache" / "hashes.sqlite"))
    monkeypatch.setenv("CAIRN_DATA_CACHE", str(tmp_path / "cache" / "data"))


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
    if backend == "rest":
        server = request.getfixturevalue("live_server")
        return str(server.url)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=BACKENDS)
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tracking URI for each back end (for "rest", a live server's URL); artifacts go under tmp_path."""
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
    tracking_uri_state.forget_stores()  # flush and close clients of this server while it still answers
    server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[object]:
    """moto's S3 server for the whole session (see tests/moto_server.py)."""
    from moto_server import MotoS3

    server = MotoS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(moto_s3: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A fresh, empty bucket on the moto server, with AWS_* variables pointing every S3 client at it."""
    from moto_server import S3_ENV, MotoS3

    assert isinstance(moto_s3, MotoS3)
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_s3.endpoint_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_s3.create_bucket()
