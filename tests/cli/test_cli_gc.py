from pathlib import Path

import pytest
from cli_harness import Cli

import cairn
from cairn.entities import Run
from cairn.errors import NotFound
from cairn.store.artifacts.roots import local_root


def _run_with_files(
    client: cairn.TrackingClient, experiment_id: str = "0", name: str = "r"
) -> tuple[Run, Path]:
    run = client.create_run(experiment_id, run_name=name)
    run_id = run.info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_metric(run_id, "acc", 0.5)
    client.log_text(run_id, "weights", "model/weights.txt")
    client.log_text(run_id, "notes", "notes.txt")
    client.set_terminated(run_id)
    root = local_root(run.info.artifact_uri)
    assert root is not None and (root / "model" / "weights.txt").is_file()
    return run, root


def _assert_purged(client: cairn.TrackingClient, run: Run, root: Path) -> None:
    with pytest.raises(NotFound):
        client.get_run(run.info.run_id)
    assert not root.exists()
    assert not root.parent.exists()  # the run's own folder goes too


def test_gc_purges_rows_and_artifacts_and_leaves_active_runs_alone(
    run_cli: Cli, client: cairn.TrackingClient
) -> None:
    doomed, doomed_root = _run_with_files(client, name="doomed")
    kept, kept_root = _run_with_files(client, name="kept")
    client.delete_run(doomed.info.run_id)
    result = run_cli.ok("gc", "--yes")
    assert f"Purged run {doomed.info.run_id}" in result.stdout
    assert "Purged 1 run(s) and 0 experiment(s)." in result.stdout
    _assert_purged(client, doomed, doomed_root)
    assert client.get_run(kept.info.run_id).data.params == {"lr": "0.1"}
    assert (kept_root / "model" / "weights.txt").read_text() == "weights"
    assert run_cli.ok("gc", "--yes").stdout == "Nothing to purge.\n"


def test_gc_asks_first(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run, root = _run_with_files(client)
    client.delete_run(run.info.run_id)
    refused = run_cli("gc", input="n\n")
    assert refused.exit_code == 1
    assert run.info.run_id in refused.stdout and "Aborted" in refused.stderr
    assert client.get_run(run.info.run_id).info.lifecycle_stage.value == "deleted"
    assert (root / "notes.txt").is_file()
    accepted = run_cli.ok("gc", input="y\n")
    assert f"Purged run {run.info.run_id}" in accepted.stdout
    _assert_purged(client, run, root)


def test_older_than(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run, root = _run_with_files(client)
    client.delete_run(run.info.run_id)
    assert run_cli.ok("gc", "--older-than", "30d", "--yes").stdout == "Nothing to purge.\n"
    assert client.get_run(run.info.run_id)
    run_cli.ok("gc", "--older-than", "0s", "--yes")
    _assert_purged(client, run, root)
    run_cli.fails("gc", "--older-than", "soon", message="Error: older_than 'soon' is not a duration")


def test_run_ids_limit_what_is_purged(run_cli: Cli, client: cairn.TrackingClient) -> None:
    first, first_root = _run_with_files(client, name="first")
    second, second_root = _run_with_files(client, name="second")
    client.delete_run(first.info.run_id)
    client.delete_run(second.info.run_id)
    run_cli.ok("gc", "--run-ids", f" {first.info.run_id} ,", "--yes")
    _assert_purged(client, first, first_root)
    assert (second_root / "notes.txt").is_file()


def test_run_ids_must_name_deleted_runs(run_cli: Cli, client: cairn.TrackingClient) -> None:
    active, root = _run_with_files(client)
    run_cli.fails(
        "gc", "--run-ids", active.info.run_id, "--yes", message="is active; delete it before purging"
    )
    missing = "a" * 32
    run_cli.fails("gc", "--run-ids", missing, "--yes", message=f"Error: run {missing} does not exist")
    run_cli.fails("gc", "--run-ids", ",", message="--run-ids", code=2)
    assert (root / "notes.txt").is_file()


def test_deleted_experiment_is_purged_after_its_runs(run_cli: Cli, client: cairn.TrackingClient) -> None:
    experiment_id = client.create_experiment("gone")
    run, root = _run_with_files(client, experiment_id)
    client.delete_experiment(experiment_id)
    result = run_cli.ok("gc", "--yes")
    assert result.stdout.index(f"Purged run {run.info.run_id}") < result.stdout.index(
        f"Purged experiment {experiment_id}"
    )
    _assert_purged(client, run, root)
    assert client.get_experiment_by_name("gone") is None
    run_cli.ok("experiments", "create", "gone")  # the name is free again
