"""RegistryClient over every back end: versions from URIs, aliases, latest, lineage and the audit trail."""

from __future__ import annotations

import pytest

from cairn.entities import Dataset, DatasetInput, InputTag, ModelStage
from cairn.errors import InvalidArgument, NotFound
from cairn.registry.client import RegistryClient
from cairn.registry.lineage import lineage_of
from cairn.registry.model_uris import RegisteredModelUri
from cairn.tracking.client import TrackingClient


@pytest.fixture
def registry(client: TrackingClient) -> RegistryClient:
    return RegistryClient(tracking=client)


def finished_run(client: TrackingClient, with_inputs: bool = True) -> str:
    experiment_id = client.create_experiment("models")
    run = client.create_run(experiment_id, tags={"mlflow.source.git.commit": "abc123"})
    if with_inputs:
        dataset = Dataset(name="train", digest="d1", source_type="local", source='{"uri": "train.csv"}')
        client.log_inputs(
            run.info.run_id, [DatasetInput(dataset, (InputTag("mlflow.data.context", "training"),))]
        )
    client.log_text(run.info.run_id, "weights", "model/weights.txt")
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_version_from_a_run_uri_carries_the_run_and_resolves_by_alias(
    client: TrackingClient, registry: RegistryClient
) -> None:
    run_id = finished_run(client)
    registry.create_registered_model("fraud", description="first")
    version = registry.create_model_version("fraud", f"runs:/{run_id}/model")
    assert (version.version, version.run_id) == (1, run_id)
    registry.set_alias("fraud", "champion", 1)
    assert registry.get_version_by_alias("fraud", "champion").version == 1
    second = registry.create_model_version("fraud", f"runs:/{run_id}/model")
    registry.set_alias("fraud", "champion", second.version)
    assert registry.latest_version("fraud").version == 2
    location = registry.artifact_location("models:/fraud@champion")
    assert location.endswith(f"{run_id}/artifacts/model")
    assert registry.artifact_location("models:/fraud/1") == location
    assert registry.artifact_location("models:/fraud/latest") == location
    moves = [c for c in registry.changes("fraud") if c.action == "set_alias"]
    assert [(c.old_value, c.new_value) for c in moves] == [(None, "1"), ("1", "2")]
    assert all(c.actor == registry.actor for c in moves)


def test_unknown_model_alias_and_reserved_alias_are_refused_by_name(registry: RegistryClient) -> None:
    registry.create_registered_model("churn")
    with pytest.raises(NotFound, match="nope"):
        registry.get_registered_model("nope")
    with pytest.raises(NotFound, match="champion"):
        registry.get_version_by_alias("churn", "champion")
    with pytest.raises(NotFound, match="churn"):
        registry.latest_version("churn")
    with pytest.raises(InvalidArgument, match="latest"):
        registry.set_alias("churn", "latest", 1)
    with pytest.raises(InvalidArgument, match="version"):
        registry.get_model_version("churn", "one")


def test_sources_outside_the_store_are_refused(registry: RegistryClient) -> None:
    registry.create_registered_model("outside")
    for source in ("/etc", "file:///etc/passwd", "s3://someone-else/model", "https://example.com/m"):
        with pytest.raises(InvalidArgument):
            registry.create_model_version("outside", source)
    assert registry.search_model_versions("name = 'outside'") == []


def test_lineage_both_ways(client: TrackingClient, registry: RegistryClient) -> None:
    run_id = finished_run(client)
    registry.create_registered_model("lined")
    registry.create_model_version("lined", f"runs:/{run_id}/model")
    registry.create_model_version("lined", f"runs:/{run_id}/model")
    registry.set_alias("lined", "prod", 2)
    found = lineage_of(registry, "models:/lined@prod")
    assert found.version is not None and found.version.version == 2
    assert found.run is not None and found.run.info.run_id == run_id
    assert [(d.dataset.name, d.context) for d in found.datasets] == [("train", "training")]
    assert found.code == {"commit": "abc123"}
    assert [v.version for v in found.sibling_versions] == [1, 2]
    assert [v.version for v in registry.versions_for_run(run_id)] == [1, 2]


def test_legacy_stage_uri(client: TrackingClient, registry: RegistryClient) -> None:
    run_id = finished_run(client, with_inputs=False)
    registry.create_registered_model("staged")
    registry.create_model_version("staged", f"runs:/{run_id}/model")
    registry.store.transition_model_version_stage("staged", 1, ModelStage.PRODUCTION, False, "tester")
    assert registry.model_version_for(RegisteredModelUri("staged", stage=ModelStage.PRODUCTION)).version == 1
