import json

from cli_harness import Cli

import cairn
from cairn.entities import Dataset, DatasetInput
from cairn.registry.client import RegistryClient


def _registered(client: cairn.TrackingClient, name: str = "fraud", versions: int = 2) -> str:
    experiment_id = client.create_experiment("training")
    run = client.create_run(experiment_id, tags={"mlflow.source.git.commit": "c0ffee"})
    run_id = run.info.run_id
    client.log_inputs(
        run_id, [DatasetInput(Dataset(name="train.csv", digest="abc", source_type="local", source="{}"))]
    )
    client.log_text(run_id, "weights", "model/weights.txt")
    client.set_terminated(run_id)
    registry = RegistryClient(tracking=client)
    registry.create_registered_model(name, description="detects fraud")
    for _ in range(versions):
        registry.create_model_version(name, f"runs:/{run_id}/model")
    return run_id


def test_list_show_and_versions(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run_id = _registered(client)
    listed = run_cli.ok("models", "list").stdout
    assert "fraud" in listed and "detects fraud" in listed
    [model] = json.loads(run_cli.ok("models", "list", "--output", "json").stdout)
    assert model["name"] == "fraud" and model["description"] == "detects fraud"
    shown = json.loads(run_cli.ok("models", "show", "fraud", "--output", "json").stdout)
    assert shown["aliases"] == {}
    versions = json.loads(run_cli.ok("models", "versions", "fraud", "--output", "json").stdout)
    assert [v["version"] for v in versions] == [2, 1]
    assert all(v["run_id"] == run_id for v in versions)
    assert run_id in run_cli.ok("models", "versions", "fraud").stdout


def test_alias_set_move_delete_and_history(run_cli: Cli, client: cairn.TrackingClient) -> None:
    _registered(client)
    assert (
        "fraud@champion -> version 1" in run_cli.ok("models", "alias", "set", "fraud", "champion", "1").stdout
    )
    run_cli.ok("models", "alias", "set", "fraud", "champion", "2")
    assert json.loads(run_cli.ok("models", "show", "fraud", "--output", "json").stdout)["aliases"] == {
        "champion": 2
    }
    run_cli.ok("models", "alias", "delete", "fraud", "champion")
    changes = json.loads(run_cli.ok("models", "history", "fraud", "--output", "json").stdout)
    alias_moves = [(c["action"], c["old_value"], c["new_value"]) for c in changes if "alias" in c["action"]]
    assert alias_moves == [("set_alias", None, "1"), ("set_alias", "1", "2"), ("delete_alias", "2", None)]
    assert "set_alias" in run_cli.ok("models", "history").stdout


def test_lineage_prints_the_chain(run_cli: Cli, client: cairn.TrackingClient) -> None:
    run_id = _registered(client, versions=1)
    run_cli.ok("models", "alias", "set", "fraud", "prod", "1")
    text = run_cli.ok("models", "lineage", "models:/fraud@prod").stdout
    assert run_id in text and "train.csv" in text and "c0ffee" in text
    chain = json.loads(run_cli.ok("models", "lineage", "models:/fraud/1", "--output", "json").stdout)
    assert chain["run"]["info"]["run_id"] == run_id
    assert chain["datasets"] == [{"name": "train.csv", "digest": "abc", "context": None}]
    assert chain["code"] == {"commit": "c0ffee"}
    assert chain["versions_from_run"] == ["fraud/1"]


def test_bad_input_is_a_clear_error(run_cli: Cli, client: cairn.TrackingClient) -> None:
    _registered(client, versions=1)
    run_cli.fails("models", "show", "ghost", message="ghost")
    run_cli.fails("models", "versions", "ghost", message="ghost")
    run_cli.fails("models", "alias", "set", "fraud", "latest", "1", message="latest")
    run_cli.fails("models", "alias", "set", "fraud", "champion", "9", message="9")
    run_cli.fails("models", "alias", "delete", "fraud", "nope", message="nope")
    run_cli.fails("models", "lineage", "models:/fraud@nope", message="nope")
    run_cli.fails("models", "lineage", "s3://bucket/x", message="model_uri")
