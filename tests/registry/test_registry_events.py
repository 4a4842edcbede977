"""Audit-trail events that are not registry edits (server swaps, traffic decisions), on every back end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cairn.errors import InvalidArgument, NotFound
from cairn.registry.client import RegistryClient
from cairn.tracking.client import TrackingClient


@pytest.fixture
def registry(client: TrackingClient) -> RegistryClient:
    """A registry whose model `churn` has versions 1 and 2, with `champion` on version 1."""
    experiment_id = client.create_experiment("events")
    run = client.create_run(experiment_id)
    client.log_text(run.info.run_id, "weights", "model/weights.txt")
    client.set_terminated(run.info.run_id)
    found = RegistryClient(tracking=client)
    found.create_registered_model("churn")
    found.create_model_version("churn", f"runs:/{run.info.run_id}/model")
    found.create_model_version("churn", f"runs:/{run.info.run_id}/model")
    found.set_alias("churn", "champion", 1)
    return found


def _rows(registry: RegistryClient) -> list[tuple[Any, ...]]:
    return [
        (c.action, c.actor, c.version, c.field_name, c.old_value, c.new_value)
        for c in registry.changes("churn")
        if c.action.startswith(("serve_", "traffic_"))
    ]


def test_serving_events_are_recorded_without_changing_the_model(registry: RegistryClient) -> None:
    before = registry.get_registered_model("churn").last_updated_time
    registry.record_event(
        "churn", "serve_swap", version=2, field="alias:champion", old="1", new="2", actor="serving@h:7"
    )
    registry.record_event("churn", "traffic_start", field="traffic", new="canary sending 10%")
    registry.record_event("churn", "traffic_rollback", version="2", field="traffic", new="error rate 0.5")
    assert _rows(registry) == [
        ("serve_swap", "serving@h:7", 2, "alias:champion", "1", "2"),
        ("traffic_start", registry.actor, None, "traffic", None, "canary sending 10%"),
        ("traffic_rollback", registry.actor, 2, "traffic", None, "error rate 0.5"),
    ]
    assert registry.get_registered_model("churn").last_updated_time == before
    assert registry.get_version_by_alias("churn", "champion").version == 1


@pytest.mark.parametrize("action", ["set_alias", "create_version", "delete_model", "serve", ""])
def test_registry_edits_cannot_be_forged(registry: RegistryClient, action: str) -> None:
    with pytest.raises(InvalidArgument, match=f"action must be one of serve_swap, .*got {action!r}"):
        registry.record_event("churn", action, version=2, field="alias:champion", old="1", new="2")
    assert _rows(registry) == []
    assert [c.action for c in registry.changes("churn")].count("set_alias") == 1


def test_a_missing_model_or_version_and_bad_fields_are_refused_by_name(registry: RegistryClient) -> None:
    with pytest.raises(NotFound, match="'gone'"):
        registry.record_event("gone", "serve_swap", version=1, field="alias:champion")
    with pytest.raises(NotFound, match="no version 9"):
        registry.record_event("churn", "serve_swap", version=9, field="alias:champion")
    with pytest.raises(InvalidArgument, match="field is 301 characters; the limit is 300"):
        registry.record_event("churn", "traffic_start", field="f" * 301)
    with pytest.raises(InvalidArgument, match="new is 10001 characters"):
        registry.record_event("churn", "traffic_start", field="traffic", new="x" * 10_001)
    with pytest.raises(InvalidArgument, match="version must be a positive whole number"):
        registry.record_event("churn", "serve_swap", version="two", field="alias:champion")
    assert _rows(registry) == []


def test_the_native_route_answers_204_and_refuses_with_400_and_404(live_server: Any) -> None:
    store = str(live_server.url)
    registry = RegistryClient(store)
    registry.create_registered_model("routed")
    with httpx.Client(base_url=store, timeout=30) as http:
        path = "/api/v1/registered-models/routed/events"
        event = {"action": "traffic_start", "field": "traffic", "new": "why", "actor": "s@h:1"}
        ok = http.post(path, json=event)
        forged = http.post(path, json={"action": "set_alias", "field": "alias:champion", "new": "1"})
        unknown_field = http.post(path, json={"action": "traffic_start", "sneaky": 1})
        missing = http.post("/api/v1/registered-models/nope/events", json={"action": "serve_swap"})
    assert ok.status_code == 204
    assert forged.status_code == 400 and "set_alias" in forged.json()["message"]
    assert unknown_field.status_code == 400 and "sneaky" in unknown_field.json()["message"]
    assert missing.status_code == 404 and "'nope'" in missing.json()["message"]
    recorded = [(c.action, c.actor, c.new_value) for c in registry.changes("routed")]
    assert recorded == [("create_model", registry.actor, "routed"), ("traffic_start", "s@h:1", "why")]
