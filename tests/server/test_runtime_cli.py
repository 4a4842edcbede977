"""`cairn ui` and `cairn server` command lines: embedded defaults, start-up failure, option checks."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from runtime_process import ServerProcess, cairn_command

from cairn.cli.main import cli
from cairn.cli.server import default_allowed_hosts
from cairn.errors import InvalidArgument
from cairn.server.runtime import RuntimeOptions, log_config


def test_ui_serves_the_embedded_store_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    server = ServerProcess(["ui"], cwd=tmp_path).wait_ready()
    try:
        assert httpx.get(f"{server.url}/health").json() == {"status": "OK"}
        created = httpx.post(
            f"{server.url}/api/2.0/mlflow/experiments/create", json={"name": "from-the-ui"}, timeout=30
        )
        assert created.status_code == 200, created.text
    finally:
        status = server.stop()
    assert status == 0
    assert (tmp_path / "cairn-store" / "cairn.db").is_file()
    assert any("with 1 worker(s)" in line for line in server.stderr_lines())


def test_a_store_that_cannot_open_stops_the_server_instead_of_restarting_workers(tmp_path: Path) -> None:
    args = ["server", "--backend-store-uri", "bogus://nowhere", "--artifacts-destination", str(tmp_path)]
    result = subprocess.run(
        [*cairn_command(), *args, "--workers", "2", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )
    assert result.returncode == 1
    assert "unsupported scheme 'bogus'" in result.stderr
    assert "the server could not start (status 3)" in result.stderr


def test_wildcard_origin_is_refused() -> None:
    args = ["server", "--backend-store-uri", "s", "--artifacts-destination", "a", "--allowed-origins", "*"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert "every website" in result.output


def test_server_needs_its_store_and_destination() -> None:
    result = CliRunner().invoke(cli, ["server", "--artifacts-destination", "a"], env={})
    assert result.exit_code == 2
    assert "--backend-store-uri" in result.output


def test_both_commands_are_listed() -> None:
    output = CliRunner().invoke(cli, ["--help"]).output
    assert "server" in output and "ui" in output


@pytest.mark.parametrize(
    ("host", "extra"),
    [
        ("127.0.0.1", None),
        ("0.0.0.0", None),
        ("::", None),
        ("10.1.2.3", "10.1.2.3"),
        ("fe80::1", "[fe80::1]"),
    ],
)
def test_default_allowed_hosts_add_a_specific_listening_address(host: str, extra: str | None) -> None:
    hosts = default_allowed_hosts(host)
    assert {"localhost", "127.0.0.1", "[::1]"} <= set(hosts)
    assert (extra in hosts) if extra else len(hosts) == 3


@pytest.mark.parametrize("options", [{"workers": 0}, {"port": 70000}, {"graceful_timeout": -1.0}])
def test_runtime_options_are_checked(options: dict[str, float]) -> None:
    with pytest.raises(InvalidArgument):
        RuntimeOptions(**options)  # type: ignore[arg-type]


def test_log_config_sends_json_access_lines_to_stdout() -> None:
    config = log_config()
    access = config["loggers"]["cairn.server.access"]
    assert access["propagate"] is False
    handler = config["handlers"][access["handlers"][0]]
    assert handler["stream"] == "ext://sys.stdout"
    assert config["formatters"][handler["formatter"]] == {"format": "%(message)s"}
