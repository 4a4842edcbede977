from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import Cli

import cairn
from cairn.tracking.uri import forget_stores


@pytest.fixture(autouse=True)
def _fast_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CAIRN_CAPTURE_CODE", "false")
    monkeypatch.setenv("CAIRN_CAPTURE_ENVIRONMENT", "false")
    monkeypatch.delenv("CAIRN_TRACKING_URI", raising=False)
    yield
    forget_stores()


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    return str(tmp_path / "store")


@pytest.fixture
def client(store_uri: str) -> cairn.TrackingClient:
    return cairn.TrackingClient(store_uri)


@pytest.fixture
def run_cli(store_uri: str) -> Cli:
    return Cli(store_uri)
