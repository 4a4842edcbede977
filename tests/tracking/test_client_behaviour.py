"""The tracking behaviour suite: one set of expectations, run against every back end."""

from __future__ import annotations

import math
import time

import pytest

from cairn.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from cairn.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from cairn.tracking.client import TrackingClient


def _run(client: TrackingClient, experiment_id: str = "0", **kwargs: object) -> str:
    return client.create_run(experiment_id, **kwargs).info.run_id  # type: ignore[arg-type]


# Experiments


def test_default_experiment_exists(client: TrackingClient) -> None:
    default = client.get_experiment("0")
    assert default.name == "Default"
    assert default.lifecycle_stage is LifecycleStage.ACTIVE


def test_experiment_create_get_rename_delete_restore(client: TrackingClient) -> None:
    exp_id = client.create_experiment("alpha", tags={"team": "nlp"})
    exp = client.get_experiment(exp_id)
    assert (exp.name, dict(exp.tags)) == ("alpha", {"team": "nlp"})
    assert exp.artifact_location.endswith(f"/{exp_id}")
    client.rename_experiment(exp_id, "beta")
    assert client.get_experiment_by_name("beta") is not None
    assert client.get_experiment_by_name("alpha") is None
    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage is LifecycleStage.DELETED
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage is LifecycleStage.ACTIVE


def test_experiment_name_conflicts_and_bad_names(client: TrackingClient) -> None:
    client.create_experiment("dup")
    with pytest.raises(AlreadyExists, match="dup"):
        client.create_experiment("dup")
    other = client.create_experiment("other")
    with pytest.raises(AlreadyExists):
        client.rename_experiment(other, "dup")
    assert client.get_experiment(other).name == "other"
    with pytest.raises(InvalidArgument, match="experiment name"):
        client.create_experiment("")
    with pytest.raises(InvalidArgument, match="500"):
        client.create_experiment("x" * 501)
    with pytest.raises(NotFound, match="12345"):
        client.get_experiment("12345")
    with pytest.raises(InvalidArgument, match="experiment_id"):
        client.get_experiment("../etc")


def test_search_experiments_filter_order_and_pages(client: TrackingClient) -> None:
    for name in ("exp-a", "exp-b", "exp-c", "other"):
        client.create_experiment(name, tags={"kind": "x" if name.startswith("exp") else "y"})
    found = client.search_experiments(filter_string="name LIKE 'exp-%'", order_by=["name DESC"])
    assert [e.name for e in found] == ["exp-c", "exp-b", "exp-a"]
    tagged = client.search_experiments(filter_string="tags.kind = 'y'")
    assert [e.name for e in tagged] == ["other"]
    names: list[str] = []
    token = None
    while True:
        page = client.search_experiments(max_results=2, order_by=["name ASC"], page_token=token)
        names += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert names == sorted(["Default", "exp-a", "exp-b", "exp-c", "other"])
    with pytest.raises(InvalidArgument, match="page_token"):
        client.search_experiments(page_token="not-a-token")


# Runs


def test_run_lifecycle(client: TrackingClient) -> None:
    run = client.create_run("0", run_name="first", tags={"team": "cv"})
    info = run.info
    assert info.status is RunStatus.RUNNING and info.run_name == "first"
    assert run.data.tags["team"] == "cv" and run.data.tags["mlflow.runName"] == "first"
    assert info.artifact_uri.endswith(f"/{info.run_id}/artifacts")
    client.set_terminated(info.run_id, "FINISHED")
    ended = client.get_run(info.run_id).info
    assert ended.status is RunStatus.FINISHED and ended.end_time is not None
    client.delete_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage is LifecycleStage.DELETED
    client.restore_run(info.run_id)
    assert client.get_run(info.run_id).info.lifecycle_stage is LifecycleStage.ACTIVE


def test_generated_run_names_and_unknown_runs(client: TrackingClient) -> None:
    name = client.create_run("0").info.run_name
    assert name and len(name.split("-")) == 3
    with pytest.raises(NotFound):
        client.get_run("0" * 32)
    with pytest.raises(InvalidArgument, match="run_id"):
        client.get_run("../../etc/passwd")
    with pytest.raises(NotFound):
        client.create_run("999")


def test_deleted_experiment_refuses_new_runs(client: TrackingClient) -> None:
    exp_id = client.create_experiment("gone")
    client.delete_experiment(exp_id)
    with pytest.raises(InvalidArgument, match="deleted"):
        client.create_run(exp_id)


# Params and tags


def test_params_are_immutable(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", 0.1)  # the same value again is fine
    with pytest.raises(Conflict, match="lr"):
        client.log_param(run_id, "lr", 0.2)
    assert client.get_run(run_id).data.params == {"lr": "0.1"}


def test_failed_batch_changes_nothing(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_param(run_id, "a", 1)
    with pytest.raises(Conflict):
        client.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, 1, 0)],
            params=[Param("b", "2"), Param("a", "changed")],
            tags=[RunTag("t", "v")],
        )
    data = client.get_run(run_id).data
    assert data.params == {"a": "1"}
    assert "t" not in data.tags and "m" not in data.metrics
    assert len(client.get_metric_history(run_id, "m")) == 0


def test_tags_set_replace_delete(client: TrackingClient) -> None:
    run_id = _run(client)
    client.set_tag(run_id, "stage", "dev")
    client.set_tags(run_id, {"stage": "prod", "owner": "ana"})
    tags = client.get_run(run_id).data.tags
    assert tags["stage"] == "prod" and tags["owner"] == "ana"
    client.delete_tag(run_id, "owner")
    assert "owner" not in client.get_run(run_id).data.tags
    with pytest.raises(NotFound, match="owner"):
        client.delete_tag(run_id, "owner")


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "empty"), ("a" * 251, "250"), ("bad\nkey", "characters"), ("../up", "path"), ("/abs", "path")],
)
def test_bad_keys_are_refused_with_the_field_named(client: TrackingClient, key: str, message: str) -> None:
    run_id = _run(client)
    with pytest.raises(InvalidArgument, match=message):
        client.log_param(run_id, key, 1)
    with pytest.raises(InvalidArgument, match="metric key"):
        client.log_metric(run_id, key, 1.0)
    with pytest.raises(InvalidArgument, match="tag key"):
        client.set_tag(run_id, key, "v")


def test_value_limits(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_param(run_id, "long", "x" * 6000)
    with pytest.raises(InvalidArgument, match="6000"):
        client.log_param(run_id, "longer", "x" * 6001)
    with pytest.raises(InvalidArgument, match="8000"):
        client.set_tag(run_id, "t", "x" * 8001)
    with pytest.raises(InvalidArgument, match="number"):
        client.log_metric(run_id, "m", "1.0")  # type: ignore[arg-type]


# Metrics


def test_metrics_are_buffered_then_durable(client: TrackingClient) -> None:
    run_id = _run(client)
    for step in range(100):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    client.flush()
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert history[-1].value == pytest.approx(0.01)
    assert client.get_run(run_id).data.metrics["loss"] == pytest.approx(0.01)


def test_background_flush_writes_without_being_asked(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_metric(run_id, "m", 3.0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(client.store.get_metric_history(run_id, "m")) == 1:
            break
        time.sleep(0.02)
    assert len(client.store.get_metric_history(run_id, "m")) == 1


def test_nan_and_infinities_are_stored_faithfully(client: TrackingClient) -> None:
    run_id = _run(client)
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1.5]):
        client.log_metric(run_id, "odd", value, step=step)
    client.log_metric(run_id, "last_nan", math.nan)
    values = [m.value for m in client.get_metric_history(run_id, "odd")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]
    metrics = client.get_run(run_id).data.metrics
    assert metrics["odd"] == 1.5 and math.isnan(metrics["last_nan"])


def test_latest_metric_is_highest_step_not_last_logged(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_metric(run_id, "acc", 0.9, step=10)
    client.flush()
    client.log_metric(run_id, "acc", 0.1, step=2)
    client.flush()
    assert client.get_run(run_id).data.metrics["acc"] == 0.9
    assert [m.value for m in client.get_metric_history(run_id, "acc")] == [0.9, 0.1]


def test_metric_columns_bulk_path(client: TrackingClient) -> None:
    import numpy as np

    run_id = _run(client)
    values = np.linspace(0, 1, 50_000)
    assert client.log_metric_columns(run_id, "bulk", values) == 50_000
    history = client.get_metric_history(run_id, "bulk")
    assert len(history) == 50_000
    cols = history.to_numpy()
    assert np.array_equal(cols["value"], values) and np.array_equal(cols["step"], np.arange(50_000))
    with pytest.raises(InvalidArgument, match="same length"):
        client.log_metric_columns(run_id, "bulk", [1.0, 2.0], steps=[1])


def test_many_small_flushes_make_few_chunks(client: TrackingClient) -> None:
    run_id = _run(client)
    for step in range(300):
        client.log_metric(run_id, "slow", float(step), step=step)
        if step % 10 == 0:
            client.flush()
    client.flush()
    history = client.get_metric_history(run_id, "slow")
    assert [m.step for m in history] == list(range(300))


def test_history_of_unknown_run_and_key(client: TrackingClient) -> None:
    run_id = _run(client)
    assert len(client.get_metric_history(run_id, "never")) == 0
    with pytest.raises(NotFound):
        client.get_metric_history("f" * 32, "m")


def test_logging_to_a_deleted_run_fails_and_keeps_other_runs_points(client: TrackingClient) -> None:
    alive, doomed = _run(client), _run(client)
    client.log_metric(doomed, "m", 1.0)
    client.log_metric(alive, "m", 2.0)
    client.delete_run(doomed)
    with pytest.raises(InvalidArgument, match="deleted"):
        client.flush()
    assert [m.value for m in client.get_metric_history(alive, "m")] == [2.0]


# Search


@pytest.fixture
def populated(client: TrackingClient) -> tuple[TrackingClient, str, dict[str, str]]:
    exp = client.create_experiment("search")
    ids = {}
    for i, (model, team) in enumerate([("rf", "NLP"), ("gbm", "nlp"), ("rf", "cv"), ("lin", "cv")]):
        run = client.create_run(exp, run_name=f"run-{i}", start_time=1_000 + i)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", 0.5 + i / 10, 0, 0)] if i != 3 else [],
            params=[Param("model", model)],
            tags=[RunTag("team", team)],
        )
        ids[f"run-{i}"] = run.info.run_id
    client.set_terminated(ids["run-0"], "FINISHED")
    return client, exp, ids


def _names(client: TrackingClient, exp: str, filter_string: str, order: list[str] | None = None) -> list[str]:
    return [r.info.run_name for r in client.search_runs([exp], filter_string, order_by=order)]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.55", {"run-1", "run-2"}),
        ("metrics.acc >= 0.5 AND params.model = 'rf'", {"run-0", "run-2"}),
        ("params.model != 'rf'", {"run-1", "run-3"}),
        ("tags.team = 'nlp'", {"run-1"}),
        ("tags.team LIKE 'nl%'", {"run-1"}),
        ("tags.team ILIKE 'NL%'", {"run-0", "run-1"}),
        ("attributes.status = 'FINISHED'", {"run-0"}),
        ("status = 'running'", {"run-1", "run-2", "run-3"}),
        ("run_name IN ('run-1', 'run-3')", {"run-1", "run-3"}),
        ("params.model NOT IN ('rf', 'gbm')", {"run-3"}),
        ("metrics.acc IS NULL", {"run-3"}),
        ("start_time >= 1002", {"run-2", "run-3"}),
        ("tags.`mlflow.runName` = 'run-2'", {"run-2"}),
        ("metrics.missing > 0", set()),
    ],
)
def test_search_filters(
    populated: tuple[TrackingClient, str, dict[str, str]], filter_string: str, expected: set[str]
) -> None:
    client, exp, _ = populated
    assert set(_names(client, exp, filter_string)) == expected


def test_search_order_missing_values_last_and_default_order(
    populated: tuple[TrackingClient, str, dict[str, str]],
) -> None:
    client, exp, _ = populated
    assert _names(client, exp, "", ["metrics.acc DESC"]) == ["run-2", "run-1", "run-0", "run-3"]
    assert _names(client, exp, "", ["metrics.acc ASC"]) == ["run-0", "run-1", "run-2", "run-3"]
    assert _names(client, exp, "", ["params.model ASC", "run_name DESC"]) == [
        "run-1",
        "run-3",
        "run-2",
        "run-0",
    ]
    assert _names(client, exp, "") == ["run-3", "run-2", "run-1", "run-0"]


def test_search_pages_and_view_types(populated: tuple[TrackingClient, str, dict[str, str]]) -> None:
    client, exp, ids = populated
    first = client.search_runs([exp], max_results=3)
    second = client.search_runs([exp], max_results=3, page_token=first.token)
    assert len(first) == 3 and len(second) == 1 and second.token is None
    client.delete_run(ids["run-1"])
    assert "run-1" not in _names(client, exp, "")
    deleted = client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_name for r in deleted] == ["run-1"]
    assert len(client.search_runs([exp], run_view_type="ALL")) == 4


@pytest.mark.parametrize(
    ("filter_string", "fragment"),
    [
        ("metrics.acc > 0.5 OR params.a = 'b'", "OR"),
        ("metrics.acc > 'high'", "acc"),
        ("params.model = rf", "position"),
        ("colour = 'red'", "colour"),
        ("metrics.acc >", "position"),
        ("params.a = 'x'; DROP TABLE runs", "position"),
    ],
)
def test_malformed_filters_name_position_and_token(
    populated: tuple[TrackingClient, str, dict[str, str]], filter_string: str, fragment: str
) -> None:
    client, exp, _ = populated
    with pytest.raises(InvalidArgument, match=fragment):
        client.search_runs([exp], filter_string)
    assert len(client.search_runs([exp])) == 4


def test_filter_values_are_bound_not_spliced(populated: tuple[TrackingClient, str, dict[str, str]]) -> None:
    client, exp, ids = populated
    client.set_tag(ids["run-3"], "note", "x' OR '1'='1")
    assert _names(client, exp, "tags.note = 'x'' OR ''1''=''1'") == ["run-3"]
    assert _names(client, exp, "tags.note = 'x'") == []


# Heartbeats


def test_run_without_heartbeat_is_marked_failed_on_read(
    tracking_uri: str, settings: object, request: pytest.FixtureRequest
) -> None:
    from dataclasses import replace

    from cairn.settings import Settings

    assert isinstance(settings, Settings)
    client = TrackingClient(tracking_uri, settings=replace(settings, heartbeat_timeout=0.5))
    run = client.create_run("0", start_time=int(time.time() * 1000) - 60_000)
    client._buffer.untrack_run(run.info.run_id)  # the process "died": no more heartbeats
    client.store.record_heartbeat([run.info.run_id], int(time.time() * 1000) - 10_000)
    from cairn.store.sql import SqlStore

    store = client.store
    if not isinstance(store, SqlStore):  # the "rest" back end: the rows live in the server's store
        store = request.getfixturevalue("live_server").services.store
    assert isinstance(store, SqlStore)
    stale = SqlStore(
        store.engine.url.render_as_string(hide_password=False), "file:///unused", heartbeat_timeout=0.5
    )
    failed = stale.get_run(run.info.run_id)
    assert failed.info.status is RunStatus.FAILED
    assert failed.data.tags["cairn.status_reason"].startswith("no heartbeat")
    stale.close()


def test_live_run_keeps_running(client: TrackingClient) -> None:
    run_id = _run(client)
    assert client.sweep_stale_runs() == []
    assert client.get_run(run_id).info.status is RunStatus.RUNNING


def test_out_of_range_steps_and_timestamps_are_refused(client: TrackingClient) -> None:
    run_id = _run(client)
    with pytest.raises(InvalidArgument, match="step"):
        client.log_metric(run_id, "m", 1.0, step=2**63)
    with pytest.raises(InvalidArgument, match="timestamp"):
        client.log_metric(run_id, "m", 1.0, step=1, timestamp=2**64)
    client.log_metric(run_id, "m", 2.0, step=3)
    assert [(p.step, p.value) for p in client.get_metric_history(run_id, "m")] == [(3, 2.0)]


@pytest.mark.parametrize("points", [10, 5_000])
def test_latest_point_rules_for_small_and_large_flushes(client: TrackingClient, points: int) -> None:
    run_id = _run(client)
    steps = [s % (points // 2) for s in range(points)]  # every step twice: ties broken by timestamp
    client.log_metric_columns(run_id, "tied", [float(s) for s in range(points)], steps, list(range(points)))
    client.log_metric_columns(run_id, "rising", [float(s) for s in range(points)], list(range(points)))
    client.log_metric_columns(run_id, "same", [1.0] * (points - 1) + [7.0], [3] * points, [5] * points)
    metrics = client.get_run(run_id).data.latest_metrics
    assert (metrics["tied"].step, metrics["tied"].value) == (points // 2 - 1, float(points - 1))
    assert (metrics["rising"].step, metrics["rising"].value) == (points - 1, float(points - 1))
    assert metrics["same"].value == 7.0
