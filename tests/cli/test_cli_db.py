from pathlib import Path

from cli_harness import Cli
from click.testing import CliRunner

from cairn.cli.main import cli
from cairn.store.sql.schema import HEAD_REVISION


def test_current_on_a_missing_database_creates_nothing(run_cli: Cli, store_uri: str) -> None:
    result = run_cli.ok("db", "current")
    assert result.stdout.endswith(": revision none\n")
    assert not Path(store_uri).exists()


def test_upgrade_prints_before_and_after(run_cli: Cli, store_uri: str) -> None:
    first = run_cli.ok("db", "upgrade")
    assert first.stdout.endswith(f"revision none -> {HEAD_REVISION}\n")
    assert (Path(store_uri) / "cairn.db").is_file()
    assert run_cli.ok("db", "current").stdout.endswith(f"revision {HEAD_REVISION}\n")
    again = run_cli.ok("db", "upgrade", "--revision", "head")
    assert again.stdout.endswith(f"revision {HEAD_REVISION} -> {HEAD_REVISION}\n")


def test_opening_a_store_through_other_commands_also_migrates(run_cli: Cli) -> None:
    run_cli.ok("experiments", "list")
    assert run_cli.ok("db", "current").stdout.endswith(f"revision {HEAD_REVISION}\n")


def test_sqlite_url(tmp_path: Path) -> None:
    db_file = tmp_path / "nested" / "meta.db"
    result = CliRunner().invoke(cli, ["--tracking-uri", f"sqlite:///{db_file}", "db", "upgrade"])
    assert result.exit_code == 0, result.stdout
    assert str(db_file) in result.stdout
    assert db_file.is_file()


def test_unknown_revision_is_an_error(run_cli: Cli) -> None:
    run_cli.fails("db", "upgrade", "--revision", "no-such-rev", message="Error: cannot upgrade")
