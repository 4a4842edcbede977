import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_harness import Cli
from click.testing import CliRunner

import cairn
from cairn.cli.main import cli

CAIRN_SCRIPT = Path(sys.executable).parent / "cairn"
COMMANDS = [
    [],
    ["experiments"],
    ["experiments", "list"],
    ["experiments", "create"],
    ["experiments", "rename"],
    ["experiments", "delete"],
    ["experiments", "restore"],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["runs", "delete"],
    ["runs", "restore"],
    ["db"],
    ["db", "upgrade"],
    ["db", "current"],
    ["gc"],
]


def _env(store_uri: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update(CAIRN_CAPTURE_CODE="false", CAIRN_CAPTURE_ENVIRONMENT="false")
    if store_uri is not None:
        env["CAIRN_TRACKING_URI"] = store_uri
    return env


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "cairn")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: cairn")
    lines = [line for line in result.output.splitlines()[1:] if line.strip()]
    assert lines and not lines[0].strip().startswith("Options:")  # a description comes first


def test_help_does_not_open_a_store(tmp_path: Path) -> None:
    store = tmp_path / "never"
    result = CliRunner().invoke(cli, ["--tracking-uri", str(store), "runs", "list", "--help"])
    assert result.exit_code == 0
    assert not store.exists()


def test_importing_the_cli_stays_light() -> None:
    code = (
        "import sys, cairn.cli.main\n"
        "names = ('sqlalchemy', 'rich', 'pandas', 'alembic', 'numpy', 'fsspec')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    assert out.stdout.strip() == "[]"


def test_usage_errors_exit_2(run_cli: Cli) -> None:
    result = run_cli("runs", "list", "--no-such-option")
    assert result.exit_code == 2
    assert "No such option" in result.stderr
    assert run_cli("runs", "list", "--output", "xml").exit_code == 2
    assert run_cli("runs", "show").exit_code == 2


def test_unsupported_tracking_uri_is_an_error_not_a_traceback(run_cli: Cli) -> None:
    result = CliRunner().invoke(cli, ["--tracking-uri", "ftp://host/x", "experiments", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert "unsupported scheme 'ftp'" in result.stderr


def test_tracking_uri_comes_from_the_environment(store_uri: str, client: cairn.TrackingClient) -> None:
    client.create_experiment("from-env")
    result = CliRunner().invoke(
        cli, ["experiments", "list", "--output", "json"], env={"CAIRN_TRACKING_URI": store_uri}
    )
    assert result.exit_code == 0, result.output
    assert "from-env" in [e["name"] for e in json.loads(result.stdout)]


def test_bad_setting_in_the_environment_is_reported(run_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAIRN_FLUSH_INTERVAL", "soon")
    run_cli.fails("experiments", "list", message="Error: CAIRN_FLUSH_INTERVAL must be a number")


def test_console_script_in_a_real_process(store_uri: str) -> None:
    assert CAIRN_SCRIPT.exists(), "the cairn console script is not installed in this environment"
    created = subprocess.run(
        [str(CAIRN_SCRIPT), "--tracking-uri", store_uri, "experiments", "create", "cli-proc"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().endswith("with id 1")
    client = cairn.TrackingClient(store_uri)
    run = client.create_run("1", run_name="proc-run")
    client.log_metric(run.info.run_id, "acc", 0.75)
    client.set_terminated(run.info.run_id)
    listed = subprocess.run(
        [str(CAIRN_SCRIPT), "runs", "list", "--experiment", "cli-proc", "--output", "json"],
        capture_output=True,
        text=True,
        env=_env(store_uri),
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [(r["info"]["run_name"], r["data"]["metrics"]["acc"]) for r in runs] == [("proc-run", 0.75)]


def test_python_m_reports_errors_with_exit_1(store_uri: str) -> None:
    missing = "0123456789abcdef0123456789abcdef"
    proc = subprocess.run(
        [sys.executable, "-m", "cairn.cli.main", "--tracking-uri", store_uri, "runs", "show", missing],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"Error: run {missing} does not exist\n"
    assert proc.stdout == ""
    usage = subprocess.run(
        [sys.executable, "-m", "cairn.cli", "gc", "--bogus"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert usage.returncode == 2
    assert "No such option '--bogus'" in usage.stderr
