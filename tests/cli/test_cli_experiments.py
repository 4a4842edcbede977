import json

from cli_harness import Cli

import cairn


def _listed(run_cli: Cli, *args: str) -> dict[str, dict[str, object]]:
    result = run_cli.ok("experiments", "list", "--output", "json", *args)
    return {e["name"]: e for e in json.loads(result.stdout)}


def test_create_then_list_as_table_and_json(run_cli: Cli, tmp_path: object) -> None:
    created = run_cli.ok("experiments", "create", "fraud-model")
    assert created.stdout == "Created experiment 'fraud-model' with id 1\n"
    table = run_cli.ok("experiments", "list").stdout
    assert "fraud-model" in table and "Default" in table and "active" in table
    listed = _listed(run_cli)
    assert set(listed) == {"Default", "fraud-model"}
    exp = listed["fraud-model"]
    assert exp["experiment_id"] == "1"
    assert exp["lifecycle_stage"] == "active"
    assert str(exp["artifact_location"]).endswith("/artifacts/1")
    assert isinstance(exp["creation_time"], int) and exp["tags"] == {}


def test_create_with_artifact_location(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run_cli.ok("experiments", "create", "placed", "--artifact-location", "memory://bucket/placed")
    found = client.get_experiment_by_name("placed")
    assert found is not None and found.artifact_location == "memory://bucket/placed"


def test_duplicate_name_is_an_error(run_cli: Cli) -> None:
    run_cli.ok("experiments", "create", "twice")
    run_cli.fails("experiments", "create", "twice", message="Error: experiment 'twice' already exists")


def test_rename(run_cli: Cli, client: cairn.TrackingClient) -> None:
    experiment_id = client.create_experiment("old-name")
    result = run_cli.ok("experiments", "rename", experiment_id, "new-name")
    assert "new-name" in result.stdout
    assert set(_listed(run_cli)) == {"Default", "new-name"}
    run_cli.fails("experiments", "rename", "99", "x", message="Error: experiment 99 does not exist")


def test_delete_and_restore_move_between_views(run_cli: Cli, client: cairn.TrackingClient) -> None:
    experiment_id = client.create_experiment("short-lived")
    run_cli.ok("experiments", "delete", experiment_id)
    assert "short-lived" not in _listed(run_cli)
    assert set(_listed(run_cli, "--view", "deleted")) == {"short-lived"}
    assert set(_listed(run_cli, "--view", "all")) == {"Default", "short-lived"}
    run_cli.ok("experiments", "restore", experiment_id)
    assert _listed(run_cli)["short-lived"]["lifecycle_stage"] == "active"


def test_unknown_or_malformed_ids_exit_1(run_cli: Cli) -> None:
    run_cli.fails("experiments", "delete", "42", message="Error: experiment 42 does not exist")
    run_cli.fails(
        "experiments", "restore", "abc", message="Error: experiment_id 'abc' is not a valid experiment id"
    )


def test_filter(run_cli: Cli, client: cairn.TrackingClient) -> None:
    for name in ("fraud-a", "fraud-b", "churn"):
        client.create_experiment(name)
    assert set(_listed(run_cli, "--filter", "name LIKE 'fraud%'")) == {"fraud-a", "fraud-b"}


def test_bad_filter_exits_1_with_the_parser_message(run_cli: Cli) -> None:
    result = run_cli.fails("experiments", "list", "--filter", "name ===", message="Error: Invalid filter")
    assert result.stdout == ""


def test_max_results_notes_more_on_stderr(run_cli: Cli, client: cairn.TrackingClient) -> None:
    for name in ("a", "b", "c"):
        client.create_experiment(name)
    result = run_cli.ok("experiments", "list", "--output", "json", "--max-results", "2")
    assert len(json.loads(result.stdout)) == 2
    assert "More experiments match" in result.stderr


def test_table_shows_names_literally_not_as_markup(run_cli: Cli, client: cairn.TrackingClient) -> None:
    client.create_experiment("[bold]loud[/bold] [/oops]")
    assert "[bold]loud[/bold] [/oops]" in run_cli.ok("experiments", "list").stdout
