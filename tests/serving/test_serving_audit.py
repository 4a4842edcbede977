"""A server's swaps and traffic decisions in the registry's audit trail: off the request path, best effort."""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from champion_registry import BODY, FEATURES, LABELS, NAME, champion_registry, wait_until
from scoring_server import serving

import cairn
import cairn.sklearn
from cairn.errors import InvalidArgument
from cairn.models.package import load_model
from cairn.models.remote import fetch_model
from cairn.registry.client import RegistryClient
from cairn.serving.alias_follower import (
    AliasFollower,
    FollowOptions,
    RegistryEventRecorder,
    serving_actor,
)
from cairn.serving.app import create_scoring_app
from cairn.serving.entrypoint import ServeSettings, build_app
from cairn.serving.model_slot import ModelSlot
from cairn.serving.traffic import TrafficPolicy, TrafficRouter


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryClient]:
    """An embedded store whose model `m` has version 1 (LABELS) and 2 (LABELS flipped), champion on 1."""
    yield champion_registry(tmp_path, monkeypatch, "serving-audit")
    cairn.set_tracking_uri(None)


@pytest.fixture
def warnings_heard() -> Iterator[list[str]]:
    """Warnings of the recorder's logger, heard directly (whatever the logging set-up of other tests)."""
    heard: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: heard.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("cairn.serving.follow")
    logger.addHandler(handler)
    yield heard
    logger.removeHandler(handler)


def _uri(registry: RegistryClient) -> str:
    return registry.tracking.tracking_uri


def _package(registry: RegistryClient, version: int) -> Path:
    return fetch_model(f"models:/{NAME}/{version}", tracking_uri=_uri(registry))


def _events(registry: RegistryClient) -> list[tuple[object, ...]]:
    return [
        (c.action, c.actor, c.version, c.field_name, c.old_value, c.new_value)
        for c in registry.changes(NAME)
        if c.action.startswith(("serve_", "traffic_"))
    ]


def _count(metrics: str, outcome: str) -> float:
    match = re.search(rf'cairn_serving_registry_events_total{{outcome="{outcome}"}} (\S+)', metrics)
    return 0.0 if match is None else float(match.group(1))


def test_the_actor_names_this_worker_process() -> None:
    assert serving_actor() == f"serving@{socket.gethostname()}:{os.getpid()}"


def test_a_served_registry_model_records_its_swap_and_its_traffic_policy(registry: RegistryClient) -> None:
    settings = ServeSettings(
        str(_package(registry, 1)),
        model_name=NAME,
        model_uri=f"models:/{NAME}@champion",
        model_version="1",
        follow=FollowOptions(_uri(registry), NAME, "champion", poll_seconds=0.1),
        challenger_dir=str(_package(registry, 2)),
        challenger_version="2",
        traffic_policy="mode: shadow",
    )
    with serving(build_app(settings), lifespan="on") as http:
        assert http.post("/invocations", json=BODY).json()["predictions"] == list(LABELS)
        registry.set_alias(NAME, "champion", 2)
        wait_until(lambda: http.get("/metadata").json()["model_version"] == "2", "the swap")
        wait_until(lambda: _count(http.get("/metrics").text, "recorded") == 2, "both events recorded")
        metrics = http.get("/metrics").text
    actor = serving_actor()
    [start, swap] = _events(registry)
    assert start[:5] == ("traffic_start", actor, None, "traffic", None)
    assert "shadow copying every request" in str(start[5]) and "challenger version 2" in str(start[5])
    assert swap == ("serve_swap", actor, 2, "alias:champion", "1", "2")
    assert _count(metrics, "failed") == 0 and _count(metrics, "dropped") == 0


def test_a_local_package_or_an_unknown_registry_records_nothing(
    registry: RegistryClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a guessed default store (./cairn-store) would appear
    package = str(_package(registry, 1))
    challenger = str(_package(registry, 2))
    for settings in (
        ServeSettings(package, challenger_dir=challenger, traffic_policy="mode: shadow"),
        ServeSettings(
            package, model_uri=f"models:/{NAME}/1", challenger_dir=challenger, traffic_policy="mode: shadow"
        ),
    ):
        with serving(build_app(settings)) as http:
            metrics = http.get("/metrics").text
        assert "cairn_serving_registry_events" not in metrics
    recorded = ServeSettings(
        package,
        model_uri=f"models:/{NAME}/1",
        tracking_uri=_uri(registry),
        challenger_dir=challenger,
        traffic_policy="mode: shadow",
    )
    with serving(build_app(recorded)) as http:
        wait_until(lambda: _count(http.get("/metrics").text, "recorded") == 1, "the start decision")
    assert [event[0] for event in _events(registry)] == ["traffic_start"]
    assert not (tmp_path / "cairn-store").exists()


def test_a_canary_rollback_is_recorded_with_its_reason(registry: RegistryClient) -> None:
    recorder = RegistryEventRecorder(registry, NAME, "serving@test:1")
    policy = TrafficPolicy(mode="canary", challenger_share=1.0, max_p99_ms=1e-9, window=3, min_requests=2)
    champion = ModelSlot(load_model(_package(registry, 1)), "1")
    challenger = ModelSlot(load_model(_package(registry, 2)), "2")
    router = TrafficRouter(champion, challenger, policy, on_decision=recorder.decided)
    served = [router.score(FEATURES, None)[1] for _ in range(4)]
    assert recorder.flush()
    recorder.close()
    assert served == ["challenger", "challenger", "champion", "champion"]
    [start, rollback] = _events(registry)
    assert start[:4] == ("traffic_start", "serving@test:1", None, "traffic")
    assert rollback[:5] == ("traffic_rollback", "serving@test:1", None, "traffic", None)
    assert "p99 latency" in str(rollback[5]) and "challenger version 2 gets no more traffic" in str(
        rollback[5]
    )
    assert recorder.counts() == {"recorded": 2, "failed": 0, "dropped": 0}


def test_the_follower_tells_its_listener_of_each_swap(registry: RegistryClient) -> None:
    recorder = RegistryEventRecorder(registry, NAME, "serving@test:2")
    slot = ModelSlot(load_model(_package(registry, 1)), "1")
    follower = AliasFollower(
        registry, NAME, "champion", slot, on_swap=lambda old, new: recorder.swapped("champion", old, new)
    )
    assert follower.poll_once() is False
    registry.set_alias(NAME, "champion", 2)
    assert follower.poll_once() is True
    registry.set_alias(NAME, "champion", 1)
    assert follower.poll_once() is True
    recorder.close()
    assert [event[4:] for event in _events(registry)] == [("1", "2"), ("2", "1")]
    assert [event[2] for event in _events(registry)] == [2, 1]


def test_a_failed_write_is_a_warning_and_a_metric_and_never_fails_a_request(
    registry: RegistryClient, warnings_heard: list[str]
) -> None:
    recorder = RegistryEventRecorder(registry, "ghost", "serving@test:3")
    app = create_scoring_app(load_model(_package(registry, 1)), registry_events=recorder)
    with serving(app) as http:
        recorder.decided("start", "canary sending 10%")
        assert recorder.flush()
        answer = http.post("/invocations", json=BODY)
        metrics = http.get("/metrics").text
    recorder.close()
    assert answer.status_code == 200
    assert _count(metrics, "failed") == 1 and _count(metrics, "recorded") == 0
    assert any("could not record traffic_start for ghost" in m and "'ghost'" in m for m in warnings_heard)


def test_a_full_queue_drops_and_counts_instead_of_waiting(registry: RegistryClient) -> None:
    recorder = RegistryEventRecorder(registry, NAME, "serving@test:4", max_queue=1)
    recorder.close()  # nothing writes any more: the first event fills the queue, the second is dropped
    recorder.decided("start", "one")
    recorder.decided("start", "two")
    assert recorder.counts() == {"recorded": 0, "failed": 0, "dropped": 1}
    with pytest.raises(InvalidArgument, match="max_queue must be at least 1, got 0"):
        RegistryEventRecorder(registry, NAME, "serving@test:4", max_queue=0)
