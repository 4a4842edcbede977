"""Dataset inputs of runs: logging (idempotent, validated), loading with runs, and `datasets.*` filters."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Table, func, select

from cairn.entities import Dataset, DatasetInput, InputTag, RunInputs
from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql.store import SqlStore
from cairn.store.sql.tables import datasets, input_tags, run_inputs
from cairn.tracking.client import TrackingClient

CONTEXT = "mlflow.data.context"


def _dataset(name: str = "iris", digest: str = "d1", **fields: str) -> Dataset:
    values = {"source_type": "local", "source": '{"uri": "/data/iris.csv"}', **fields}
    return Dataset(name, digest, **values)


def _input(dataset: Dataset, **tags: str) -> DatasetInput:
    return DatasetInput(dataset, tuple(InputTag(k, v) for k, v in tags.items()))


def _context(context: str) -> InputTag:
    return InputTag(CONTEXT, context)


@pytest.fixture
def sql_store(client: TrackingClient, request: pytest.FixtureRequest) -> SqlStore:
    """The SQL store behind the client: its own, or the live server's for the REST back end."""
    store = client.store
    if not isinstance(store, SqlStore):
        store = request.getfixturevalue("live_server").services.store
    assert isinstance(store, SqlStore)
    return store


def _count(store: SqlStore, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _run(client: TrackingClient, experiment_id: str = "0") -> str:
    return client.create_run(experiment_id).info.run_id


def test_logged_inputs_come_back_with_the_run(client: TrackingClient) -> None:
    run_id = _run(client)
    full = _dataset("wine", "abc123", schema='{"cols": ["a"]}', profile='{"rows": 10}')
    client.log_inputs(
        run_id,
        [
            DatasetInput(full, (_context("training"), InputTag("split", "all"))),
            _input(_dataset("iris", "d1")),
        ],
    )
    inputs = client.get_run(run_id).inputs
    assert [i.dataset for i in inputs.dataset_inputs] == [_dataset("iris", "d1"), full]
    iris, wine = inputs.dataset_inputs
    assert iris.tags == () and iris.context is None
    assert wine.tags == (_context("training"), InputTag("split", "all"))
    assert wine.context == "training"
    assert client.create_run("0").inputs == RunInputs()


def test_logging_again_reuses_the_dataset_and_merges_tags(
    client: TrackingClient, sql_store: SqlStore
) -> None:
    run_id = _run(client)
    client.log_inputs(run_id, [_input(_dataset(), **{CONTEXT: "training", "a": "1"})])
    client.log_inputs(run_id, [_input(_dataset(), **{CONTEXT: "training"})])
    client.log_inputs(run_id, [_input(_dataset(), a="2", b="3")])
    (only,) = client.get_run(run_id).inputs.dataset_inputs
    assert {t.key: t.value for t in only.tags} == {"a": "2", "b": "3", CONTEXT: "training"}
    other = _run(client)
    client.log_inputs(other, [_input(_dataset(), **{CONTEXT: "eval"})])
    assert _count(sql_store, datasets) == 1
    assert _count(sql_store, run_inputs) == 2
    assert client.get_run(other).inputs.dataset_inputs[0].tags == (_context("eval"),)


def test_datasets_are_per_experiment_and_per_digest(client: TrackingClient, sql_store: SqlStore) -> None:
    first, second = _run(client), _run(client, client.create_experiment("other"))
    client.log_inputs(first, [_input(_dataset("iris", "v1")), _input(_dataset("iris", "v2"))])
    client.log_inputs(second, [_input(_dataset("iris", "v1"))])
    assert _count(sql_store, datasets) == 3
    assert [i.dataset.digest for i in client.get_run(first).inputs.dataset_inputs] == ["v1", "v2"]


def test_repeats_in_one_call_are_merged(client: TrackingClient, sql_store: SqlStore) -> None:
    run_id = _run(client)
    client.log_inputs(
        run_id,
        [_input(_dataset(), a="1", b="1"), _input(_dataset(source="elsewhere"), b="2")],
    )
    (only,) = client.get_run(run_id).inputs.dataset_inputs
    assert only.dataset.source == _dataset().source
    assert only.tags == (InputTag("a", "1"), InputTag("b", "2"))
    client.log_inputs(run_id, [])
    assert _count(sql_store, run_inputs) == 1


_REFUSED = [
    (_input(_dataset(name="n" * 501)), "dataset.name"),
    (_input(_dataset(digest="d" * 37)), "dataset.digest"),
    (_input(_dataset(source_type="t" * 37)), "dataset.source_type"),
    (_input(_dataset(source="s" * 65_536)), "dataset.source"),
    (_input(_dataset(schema="s" * 1_048_576)), "dataset.schema"),
    (_input(_dataset(profile="p" * 16_777_216)), "dataset.profile"),
    (_input(_dataset(name="")), "dataset.name"),
    (_input(_dataset(source="")), "dataset.source"),
    (_input(_dataset(), **{"k" * 256: "v"}), "tags[0].key"),
    (_input(_dataset(), k="v" * 501), "tags[0].value"),
    (_input(_dataset(), **{"": "v"}), "tags[0].key"),
    (_input(_dataset(name="bad\x00name")), "dataset.name"),
]


def test_fields_over_mlflow_limits_are_refused_and_nothing_is_stored(
    client: TrackingClient, sql_store: SqlStore
) -> None:
    run_id = _run(client)
    for dataset_input, field in _REFUSED:
        with pytest.raises(InvalidArgument, match=re.escape(f"datasets[1].{field}")):
            client.log_inputs(run_id, [_input(_dataset("fine", "ok")), dataset_input])
    assert _count(sql_store, datasets) == 0
    assert client.get_run(run_id).inputs == RunInputs()


def test_limits_are_inclusive(client: TrackingClient) -> None:
    run_id = _run(client)
    edge = _dataset("n" * 500, "d" * 36, source_type="t" * 36, source="s" * 65_535, schema="c" * 1_048_575)
    client.log_inputs(run_id, [_input(edge, **{"k" * 255: "v" * 500})])
    (stored,) = client.get_run(run_id).inputs.dataset_inputs
    assert stored.dataset == edge
    assert stored.tags == (InputTag("k" * 255, "v" * 500),)


def test_at_most_1000_inputs_per_call(client: TrackingClient) -> None:
    run_id = _run(client)
    with pytest.raises(InvalidArgument, match="1000"):
        client.log_inputs(run_id, [_input(_dataset(digest=str(i))) for i in range(1001)])


def test_deleted_and_unknown_runs(client: TrackingClient, sql_store: SqlStore) -> None:
    run_id = _run(client)
    client.delete_run(run_id)
    with pytest.raises(InvalidArgument, match=run_id):
        client.log_inputs(run_id, [_input(_dataset())])
    with pytest.raises(NotFound, match="0" * 32):
        client.log_inputs("0" * 32, [_input(_dataset())])
    with pytest.raises(InvalidArgument, match="run_id"):
        client.log_inputs("../x", [_input(_dataset())])
    assert _count(sql_store, datasets) == 0


def test_get_run_inputs_for_several_runs(client: TrackingClient, sql_store: SqlStore) -> None:
    store = sql_store
    with_inputs, without = _run(client), _run(client)
    client.log_inputs(with_inputs, [_input(_dataset(), **{CONTEXT: "training"})])
    found = store.get_run_inputs([without, with_inputs, without])
    assert list(found) == [without, with_inputs]
    assert found[without] == RunInputs()
    assert found[with_inputs].dataset_inputs[0].context == "training"
    assert store.get_run_inputs([]) == {}
    with pytest.raises(NotFound, match="f" * 32):
        store.get_run_inputs([with_inputs, "f" * 32])


def _search(client: TrackingClient, filter_string: str, *experiment_ids: str) -> set[str]:
    runs = client.search_runs(list(experiment_ids or ["0"]), filter_string)
    return {run.info.run_id for run in runs}


def test_search_by_dataset_name_digest_and_context(client: TrackingClient) -> None:
    train, evaluate, both, bare = (_run(client) for _ in range(4))
    client.log_inputs(train, [DatasetInput(_dataset("iris", "v1"), (_context("training"),))])
    client.log_inputs(evaluate, [DatasetInput(_dataset("wine", "v2"), (_context("evaluation"),))])
    client.log_inputs(
        both,
        [
            DatasetInput(_dataset("iris", "v2"), (_context("training"),)),
            DatasetInput(_dataset("wine", "v2"), (_context("evaluation"),)),
        ],
    )
    assert _search(client, "datasets.name = 'iris'") == {train, both}
    assert _search(client, "dataset.name LIKE 'w%'") == {evaluate, both}
    assert _search(client, "datasets.name LIKE 'I%'") == set()
    assert _search(client, "datasets.name ILIKE 'I%'") == {train, both}
    assert _search(client, "datasets.digest = 'v2'") == {evaluate, both}
    assert _search(client, "datasets.digest IN ('v1', 'nope')") == {train}
    assert _search(client, "datasets.context = 'training'") == {train, both}
    assert _search(client, "datasets.context IN ('evaluation')") == {evaluate, both}
    assert _search(client, "datasets.name != 'iris'") == {evaluate, both}
    assert _search(client, "datasets.name NOT IN ('iris', 'wine')") == set()
    assert _search(client, "datasets.name = 'iris' AND datasets.context = 'evaluation'") == {both}
    assert _search(client, "datasets.name = 'iris' AND attributes.run_id = '" + train + "'") == {train}
    assert bare in _search(client, "")


def test_context_filter_ignores_other_input_tags(client: TrackingClient) -> None:
    run_id = _run(client)
    client.log_inputs(run_id, [_input(_dataset(), note="training")])
    assert _search(client, "datasets.context = 'training'") == set()
    assert _search(client, "datasets.name = 'iris'") == {run_id}


def test_dataset_filters_respect_the_experiment_list(client: TrackingClient) -> None:
    other = client.create_experiment("other")
    here, there = _run(client), _run(client, other)
    for run_id in (here, there):
        client.log_inputs(run_id, [_input(_dataset())])
    assert _search(client, "datasets.name = 'iris'", other) == {there}
    assert _search(client, "datasets.name = 'iris'", "0", other) == {here, there}


def test_purging_runs_and_experiments_removes_their_inputs(
    client: TrackingClient, sql_store: SqlStore
) -> None:
    store = sql_store
    experiment_id = client.create_experiment("gone")
    run_id = _run(client, experiment_id)
    client.log_inputs(run_id, [_input(_dataset(), **{CONTEXT: "training"})])
    client.delete_run(run_id)
    store.purge_runs([run_id])
    assert (_count(sql_store, run_inputs), _count(sql_store, input_tags)) == (0, 0)
    client.delete_experiment(experiment_id)
    store.purge_experiments([experiment_id])
    assert _count(sql_store, datasets) == 0
