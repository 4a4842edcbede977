from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import cairn
from cairn.entities import Metric, Run
from cairn.errors import InvalidArgument, NotFound
from cairn.store.artifacts.roots import local_root
from cairn.store.protocols import PurgeStore
from cairn.store.sql import SqlStore
from cairn.store.sql import tables as t
from cairn.tracking.gc import (
    delete_run_artifacts,
    execute_purge,
    parse_duration,
    plan_purge,
    purge_store,
)
from cairn.tracking.uri import forget_stores

DAY_MS = 86_400_000


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[cairn.TrackingClient]:
    monkeypatch.setenv("CAIRN_CAPTURE_CODE", "false")
    monkeypatch.setenv("CAIRN_CAPTURE_ENVIRONMENT", "false")
    yield cairn.TrackingClient(str(tmp_path / "store"))
    forget_stores()


@pytest.fixture
def store(client: cairn.TrackingClient) -> SqlStore:
    assert isinstance(client.store, SqlStore)
    return client.store


def _run(client: cairn.TrackingClient, experiment_id: str = "0") -> Run:
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_batch(run_id, metrics=[Metric("acc", 0.5, 1, 0), Metric("acc", 0.6, 2, 1)])
    client.log_param(run_id, "lr", "0.1")
    client.log_text(run_id, "x", "dir/file.txt")
    client.set_terminated(run_id)
    return client.get_run(run_id)


def _rows(store: SqlStore, run_id: str) -> dict[str, int]:
    tables = (t.runs, t.params, t.tags, t.latest_metrics, t.metric_chunks, t.artifact_files)
    with store.engine.connect() as conn:
        return {
            table.name: conn.execute(
                select(func.count()).select_from(table).where(table.c.run_uuid == run_id)
            ).scalar_one()
            for table in tables
        }


def _root(run: Run) -> Path:
    root = local_root(run.info.artifact_uri)
    assert root is not None
    return root


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("0s", 0),
        ("45s", 45_000),
        ("90m", 5_400_000),
        ("12h", 43_200_000),
        ("30d", 30 * DAY_MS),
        ("2w", 14 * DAY_MS),
        ("1d12h", DAY_MS + 43_200_000),
        (" 7D ", 7 * DAY_MS),
    ],
)
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "30", "d", "1.5h", "-1d", "3x", "1d 2h", "abc"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument, match="is not a duration"):
        parse_duration(text)


def test_sql_store_is_a_purge_store(store: SqlStore) -> None:
    assert isinstance(store, PurgeStore)
    assert purge_store(store) is store


def test_find_deleted_runs(client: cairn.TrackingClient, store: SqlStore) -> None:
    active, deleted = _run(client), _run(client)
    client.delete_run(deleted.info.run_id)
    expected = [(deleted.info.run_id, deleted.info.artifact_uri)]
    assert store.find_deleted_runs() == expected
    assert store.find_deleted_runs(0) == expected
    assert store.find_deleted_runs(10 * DAY_MS) == []
    assert active.info.run_id not in dict(store.find_deleted_runs())
    with pytest.raises(InvalidArgument, match="older_than_ms"):
        store.find_deleted_runs(-1)


def test_purge_runs_removes_every_row(client: cairn.TrackingClient, store: SqlStore) -> None:
    run, other = _run(client), _run(client)
    run_id = run.info.run_id
    assert all(_rows(store, run_id).values())
    client.delete_run(run_id)
    store.purge_runs([run_id])
    assert set(_rows(store, run_id).values()) == {0}
    with pytest.raises(NotFound):
        store.get_run(run_id)
    with pytest.raises(NotFound):
        store.get_metric_history(run_id, "acc")
    assert all(_rows(store, other.info.run_id).values())
    store.purge_runs([])


def test_purge_runs_refuses_active_and_unknown_runs_atomically(
    client: cairn.TrackingClient, store: SqlStore
) -> None:
    active, deleted = _run(client), _run(client)
    client.delete_run(deleted.info.run_id)
    with pytest.raises(InvalidArgument, match=f"run {active.info.run_id} is active"):
        store.purge_runs([deleted.info.run_id, active.info.run_id])
    with pytest.raises(NotFound, match="does not exist"):
        store.purge_runs([deleted.info.run_id, "b" * 32])
    with pytest.raises(InvalidArgument, match="not a single string"):
        store.purge_runs(deleted.info.run_id)
    assert store.get_run(deleted.info.run_id).info.lifecycle_stage.value == "deleted"  # nothing was purged


def test_purge_experiments(client: cairn.TrackingClient, store: SqlStore) -> None:
    active = client.create_experiment("active")
    busy = client.create_experiment("busy", tags={"k": "v"})
    run = _run(client, busy)
    client.delete_experiment(busy)
    with pytest.raises(InvalidArgument, match=f"experiment {active} is active"):
        store.purge_experiments([active])
    with pytest.raises(InvalidArgument, match=f"experiment {busy} still has 1 run"):
        store.purge_experiments([busy])
    with pytest.raises(NotFound, match="experiment 77 does not exist"):
        store.purge_experiments(["77"])
    store.purge_runs([run.info.run_id])
    store.purge_experiments([busy])
    with pytest.raises(NotFound):
        store.get_experiment(busy)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.experiment_tags)).scalar_one() == 0
    assert store.get_experiment(active).name == "active"


def test_plan_changes_nothing_and_lists_emptied_experiments(client: cairn.TrackingClient) -> None:
    emptied = client.create_experiment("emptied")
    kept = client.create_experiment("kept")
    runs = [_run(client, emptied), _run(client, kept), _run(client, kept)]
    client.delete_experiment(emptied)
    client.delete_experiment(kept)
    client.restore_run(runs[2].info.run_id)  # `kept` still has a live run, so it stays
    plan = plan_purge(client.store)
    assert {run_id for run_id, _ in plan.runs} == {runs[0].info.run_id, runs[1].info.run_id}
    assert plan.experiment_ids == (emptied,)
    assert all(client.get_run(r.info.run_id) for r in runs)
    assert plan_purge(client.store, older_than_ms=10 * DAY_MS).is_empty


def test_plan_for_named_runs(client: cairn.TrackingClient) -> None:
    experiment_id = client.create_experiment("two-runs")
    first, second = _run(client, experiment_id), _run(client, experiment_id)
    client.delete_experiment(experiment_id)
    only_first = plan_purge(client.store, run_ids=[first.info.run_id])
    assert only_first.runs == ((first.info.run_id, first.info.artifact_uri),)
    assert only_first.experiment_ids == ()  # the second run still lives in it
    both = plan_purge(client.store, run_ids=[first.info.run_id, second.info.run_id])
    assert both.experiment_ids == (experiment_id,)
    with pytest.raises(InvalidArgument, match="deleted less than 864000 s ago"):
        plan_purge(client.store, older_than_ms=10 * DAY_MS, run_ids=[first.info.run_id])


def test_execute_deletes_artifacts_then_rows(client: cairn.TrackingClient, store: SqlStore) -> None:
    runs = [_run(client) for _ in range(3)]
    for run in runs:
        client.delete_run(run.info.run_id)
    seen: list[tuple[str, str]] = []
    report = execute_purge(
        store, plan_purge(store), on_purged=lambda kind, i: seen.append((kind, i)), batch_size=2
    )
    assert set(report.run_ids) == {r.info.run_id for r in runs}
    assert seen == [("run", run_id) for run_id in report.run_ids]
    assert report.skipped_run_ids == ()
    for run in runs:
        assert not _root(run).parent.exists()
        assert set(_rows(store, run.info.run_id).values()) == {0}


def test_a_crash_after_the_artifacts_is_finished_by_the_next_gc(
    client: cairn.TrackingClient, store: SqlStore
) -> None:
    run = _run(client)
    client.delete_run(run.info.run_id)
    delete_run_artifacts(run.info.run_id, run.info.artifact_uri)  # the first half of a purge, then a "crash"
    assert not _root(run).exists()
    assert store.get_run(run.info.run_id).info.lifecycle_stage.value == "deleted"
    report = execute_purge(store, plan_purge(store))
    assert report.run_ids == (run.info.run_id,)
    assert set(_rows(store, run.info.run_id).values()) == {0}


def test_runs_restored_after_planning_are_skipped(client: cairn.TrackingClient, store: SqlStore) -> None:
    experiment_id = client.create_experiment("wavering")
    restored, purged = _run(client, experiment_id), _run(client, experiment_id)
    client.delete_experiment(experiment_id)
    plan = plan_purge(store)
    assert plan.experiment_ids == (experiment_id,)
    client.restore_run(restored.info.run_id)
    report = execute_purge(store, plan)
    assert report.run_ids == (purged.info.run_id,)
    assert report.skipped_run_ids == (restored.info.run_id,)
    assert report.experiment_ids == ()
    assert report.skipped_experiment_ids == (experiment_id,)
    assert (_root(restored) / "dir" / "file.txt").read_text() == "x"
    assert store.get_experiment(experiment_id).lifecycle_stage.value == "deleted"


def test_custom_artifact_location_keeps_its_parent(client: cairn.TrackingClient, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "unrelated.txt").write_text("keep me")
    experiment_id = client.create_experiment("custom", artifact_location=outside.as_uri())
    run = _run(client, experiment_id)
    client.delete_run(run.info.run_id)
    execute_purge(client.store, plan_purge(client.store))
    assert not (outside / run.info.run_id).exists()
    assert (outside / "unrelated.txt").read_text() == "keep me"
