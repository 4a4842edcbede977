import json
import math

import pytest
from cli_harness import Cli

import cairn
from cairn.entities import Run


def _run(
    client: cairn.TrackingClient,
    experiment_id: str,
    name: str,
    acc: float,
    params: dict[str, str] | None = None,
) -> Run:
    run = client.create_run(experiment_id, run_name=name, tags={"team": "risk"})
    client.log_params(run.info.run_id, params or {"lr": "0.1"})
    client.log_metric(run.info.run_id, "acc", acc, step=3)
    client.set_terminated(run.info.run_id)
    return client.get_run(run.info.run_id)


def _json_runs(run_cli: Cli, *args: str) -> list[dict[str, dict[str, object]]]:
    result = run_cli.ok("runs", "list", "--output", "json", *args)
    runs: list[dict[str, dict[str, object]]] = json.loads(
        result.stdout, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}")
    )
    return runs


def test_list_defaults_to_the_default_experiment(run_cli: Cli, client: cairn.TrackingClient) -> None:
    default_run = _run(client, "0", "in-default", 0.5)
    _run(client, client.create_experiment("other"), "elsewhere", 0.9)
    table = run_cli.ok("runs", "list").stdout
    assert default_run.info.run_id in table
    assert "in-default" in table and "FINISHED" in table
    assert "metrics.acc" in table and "params.lr" in table and "0.5" in table
    assert "elsewhere" not in table


def test_list_json_has_full_runs(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run = _run(client, client.create_experiment("exp"), "full", 0.8, {"lr": "0.01", "model": "cnn"})
    [listed] = _json_runs(run_cli, "--experiment", "exp")
    assert listed["info"]["run_id"] == run.info.run_id
    assert listed["info"]["run_name"] == "full"
    assert listed["info"]["status"] == "FINISHED"
    assert listed["info"]["experiment_id"] == "1"
    assert listed["info"]["end_time"] == run.info.end_time
    assert listed["data"] == {
        "params": {"lr": "0.01", "model": "cnn"},
        "metrics": {"acc": 0.8},
        "tags": dict(run.data.tags),
    }
    assert listed["data"]["tags"]["team"] == "risk"  # type: ignore[index]


def test_experiments_by_id_or_name_repeatable(run_cli: Cli, client: cairn.TrackingClient) -> None:
    first = client.create_experiment("first")
    client.create_experiment("second")
    _run(client, first, "one", 0.1)
    _run(client, "2", "two", 0.2)
    names = {
        r["info"]["run_name"] for r in _json_runs(run_cli, "--experiment", first, "--experiment", "second")
    }
    assert names == {"one", "two"}
    run_cli.fails("runs", "list", "--experiment", "nope", message="Error: experiment 'nope' does not exist")


def test_filter_order_by_and_max_results(run_cli: Cli, client: cairn.TrackingClient) -> None:
    for name, acc in (("low", 0.2), ("high", 0.9), ("mid", 0.6)):
        _run(client, "0", name, acc)
    ordered = _json_runs(run_cli, "--order-by", "metrics.acc DESC")
    assert [r["info"]["run_name"] for r in ordered] == ["high", "mid", "low"]
    filtered = _json_runs(run_cli, "--filter", "metrics.acc > 0.5", "--order-by", "metrics.acc ASC")
    assert [r["info"]["run_name"] for r in filtered] == ["mid", "high"]
    limited = run_cli.ok(
        "runs", "list", "--output", "json", "--order-by", "metrics.acc DESC", "--max-results", "1"
    )
    assert [r["info"]["run_name"] for r in json.loads(limited.stdout)] == ["high"]
    assert "More runs match" in limited.stderr


def test_nan_metric_is_valid_json(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run = client.create_run("0", run_name="nan")
    client.log_metrics(run.info.run_id, {"loss": math.nan, "up": math.inf})
    client.flush()
    [listed] = _json_runs(run_cli)
    assert listed["data"]["metrics"] == {"loss": "NaN", "up": "Infinity"}
    assert "nan" in run_cli.ok("runs", "list").stdout


def test_bad_filter_exits_1_with_the_message(run_cli: Cli) -> None:
    result = run_cli.fails("runs", "list", "--filter", "metrics.acc >", message="Error: Invalid filter")
    assert "expected a value" in result.stderr
    run_cli.fails("runs", "list", "--order-by", "metrics.acc SIDEWAYS", message="Error: Invalid order_by")


def test_show_as_tables_and_json(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run = _run(client, "0", "shown", 0.7, {"depth": "6"})
    table = run_cli.ok("runs", "show", run.info.run_id).stdout
    for text in ("shown", "FINISHED", "depth", "acc", "0.7", "team", "risk", run.info.artifact_uri):
        assert text in table
    shown = json.loads(run_cli.ok("runs", "show", run.info.run_id, "--output", "json").stdout)
    assert shown["info"]["run_id"] == run.info.run_id
    assert shown["data"]["params"] == {"depth": "6"}
    assert shown["data"]["metrics"] == {"acc": 0.7}


def test_unknown_run_exits_1(run_cli: Cli) -> None:
    missing = "f" * 32
    for command in ("show", "delete", "restore"):
        result = run_cli.fails("runs", command, missing, message=f"Error: run {missing} does not exist")
        assert result.stdout == ""
    run_cli.fails("runs", "show", "../etc", message="Error: run_id '../etc' is not a valid run id")


def test_delete_and_restore(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run = _run(client, "0", "doomed", 0.3)
    run_id = run.info.run_id
    assert "Deleted run" in run_cli.ok("runs", "delete", run_id).stdout
    assert _json_runs(run_cli) == []
    [deleted] = _json_runs(run_cli, "--view", "deleted")
    assert deleted["info"]["lifecycle_stage"] == "deleted"
    assert len(_json_runs(run_cli, "--view", "all")) == 1
    run_cli.ok("runs", "restore", run_id)
    assert [r["info"]["run_id"] for r in _json_runs(run_cli)] == [run_id]
