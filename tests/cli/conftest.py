from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import cairn
from cairn.cli.main import cli
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


class Cli:
    """Runs `cairn --tracking-uri <store> ...` in-process with click's CliRunner."""

    def __init__(self, store_uri: str) -> None:
        self.store_uri = store_uri
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(cli, ["--tracking-uri", self.store_uri, *args], input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.output, result.stderr, result.exception)
        return result

    def fails(self, *args: str, message: str, code: int = 1) -> Result:
        result = self(*args)
        assert result.exit_code == code, (result.output, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr + result.output
        return result


@pytest.fixture
def run_cli(store_uri: str) -> Cli:
    return Cli(store_uri)
