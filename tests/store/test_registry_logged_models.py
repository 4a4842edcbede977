"""Logged models in the SQL store: lifecycle, tags and params, search, run outputs and registrations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from cairn.entities.registry import LoggedModelStatus
from cairn.errors import Conflict, InvalidArgument, NotFound
from cairn.store.sql import SqlStore
from cairn.store.sql.engine import write_transaction
from cairn.store.sql.registry_tables import logged_models


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    opened = SqlStore(url, (tmp_path / "artifacts").as_uri())
    yield opened
    opened.close()


@pytest.fixture
def run_id(store: SqlStore) -> str:
    return store.create_run("0", "alice", 1, "train").info.run_id


def test_a_logged_model_is_created_pending_under_its_experiment(store: SqlStore, run_id: str) -> None:
    model = store.create_logged_model(
        "0", "classifier", source_run_id=run_id, model_type="sklearn", params={"C": "1.0"}, tags={"k": "v"}
    )
    assert re.fullmatch(r"m-[0-9a-f]{32}", model.model_id)
    location = store.get_experiment("0").artifact_location
    assert model.artifact_uri == f"{location}/models/{model.model_id}/artifacts"
    assert model.status is LoggedModelStatus.PENDING and model.experiment_id == "0"
    assert (model.name, model.model_type, model.source_run_id) == ("classifier", "sklearn", run_id)
    assert model.params == {"C": "1.0"} and model.tags == {"k": "v"} and model.registrations == ()
    assert store.get_logged_model(model.model_id) == model
    custom = store.create_experiment("custom", "s3://bucket/exp/")
    in_custom = store.create_logged_model(custom, "m")
    assert in_custom.artifact_uri == f"s3://bucket/exp/models/{in_custom.model_id}/artifacts"
    assert in_custom.source_run_id is None


def test_creation_checks_the_experiment_run_and_fields(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="experiment 99 does not exist"):
        store.create_logged_model("99", "m")
    with pytest.raises(NotFound, match="run " + "e" * 32 + " does not exist"):
        store.create_logged_model("0", "m", source_run_id="e" * 32)
    with pytest.raises(InvalidArgument, match="logged model name must not be empty"):
        store.create_logged_model("0", " ")
    with pytest.raises(InvalidArgument, match="logged model param key"):
        store.create_logged_model("0", "m", params={"../x": "1"})
    with pytest.raises(InvalidArgument, match="experiment_id 'abc'"):
        store.create_logged_model("abc", "m")
    deleted = store.create_experiment("gone")
    store.delete_experiment(deleted)
    with pytest.raises(InvalidArgument, match=f"experiment {deleted} is deleted"):
        store.create_logged_model(deleted, "m")
    assert store.search_logged_models(["0", deleted]) == []


def test_ids_are_checked_and_unknown_ones_named(store: SqlStore) -> None:
    missing = "m-" + "0" * 32
    for call in (
        lambda: store.get_logged_model(missing),
        lambda: store.finalize_logged_model(missing, LoggedModelStatus.READY),
        lambda: store.delete_logged_model(missing),
        lambda: store.set_logged_model_tags(missing, {"k": "v"}),
        lambda: store.log_logged_model_params(missing, {}),
    ):
        with pytest.raises(NotFound, match=f"logged model '{missing}' does not exist"):
            call()
    for bad in ("m-123", "M-" + "0" * 32, "m-" + "G" * 32, "../m", ""):
        with pytest.raises(InvalidArgument, match="is not a logged model id"):
            store.get_logged_model(bad)


def test_finalize_sets_the_upload_status(store: SqlStore) -> None:
    first = store.create_logged_model("0", "a")
    second = store.create_logged_model("0", "b")
    assert (
        store.finalize_logged_model(first.model_id, LoggedModelStatus.READY).status is LoggedModelStatus.READY
    )
    failed = store.finalize_logged_model(second.model_id, "FAILED")  # type: ignore[arg-type]
    assert failed.status is LoggedModelStatus.UPLOAD_FAILED
    with pytest.raises(InvalidArgument, match="cannot finalize"):
        store.finalize_logged_model(first.model_id, LoggedModelStatus.PENDING)
    with pytest.raises(InvalidArgument, match="status must be one of"):
        store.finalize_logged_model(first.model_id, "DONE")  # type: ignore[arg-type]


def test_tags_and_params(store: SqlStore) -> None:
    model_id = store.create_logged_model("0", "m", params={"a": "1"}).model_id
    tagged = store.set_logged_model_tags(model_id, {"x": "1", "y": "2"})
    assert tagged.tags == {"x": "1", "y": "2"}
    assert store.set_logged_model_tags(model_id, {"x": "3"}).tags == {"x": "3", "y": "2"}
    store.delete_logged_model_tag(model_id, "y")
    with pytest.raises(NotFound, match=f"logged model '{model_id}' has no tag 'y'"):
        store.delete_logged_model_tag(model_id, "y")
    store.log_logged_model_params(model_id, {"a": "1", "b": "2"})
    with pytest.raises(Conflict, match="param 'a' is already '1'; it cannot change to '9'"):
        store.log_logged_model_params(model_id, {"a": "9", "c": "3"})
    model = store.get_logged_model(model_id)
    assert model.params == {"a": "1", "b": "2"} and model.tags == {"x": "3"}
    with pytest.raises(InvalidArgument, match="is 6001 characters"):
        store.log_logged_model_params(model_id, {"long": "v" * 6001})


def test_deleted_logged_models_disappear(store: SqlStore) -> None:
    model_id = store.create_logged_model("0", "m").model_id
    kept = store.create_logged_model("0", "kept").model_id
    store.delete_logged_model(model_id)
    with pytest.raises(NotFound, match=f"logged model '{model_id}' does not exist"):
        store.get_logged_model(model_id)
    with pytest.raises(NotFound):
        store.delete_logged_model(model_id)
    with pytest.raises(NotFound):
        store.set_logged_model_tags(model_id, {"k": "v"})
    assert [m.model_id for m in store.search_logged_models(["0"])] == [kept]


def _search(store: SqlStore, filter_string: str | None = None, **kwargs: object) -> list[str]:
    return [m.name for m in store.search_logged_models(["0"], filter_string, **kwargs)]  # type: ignore[arg-type]


@pytest.fixture
def catalogue(store: SqlStore, run_id: str) -> dict[str, str]:
    """Three logged models in experiment 0 with set creation times, and one in another experiment."""
    specs = {
        "rf": (30, "sklearn", {"depth": "5"}, {"team": "risk"}, run_id),
        "xgb": (10, "xgboost", {"depth": "7"}, {"team": "Risk"}, None),
        "net": (20, "pytorch", {}, {}, run_id),
    }
    ids: dict[str, str] = {}
    for name, (_, kind, params, tags, source) in specs.items():
        model = store.create_logged_model("0", name, source, kind, params, tags)
        ids[name] = model.model_id
    store.finalize_logged_model(ids["rf"], LoggedModelStatus.READY)
    store.create_logged_model(store.create_experiment("other"), "elsewhere")
    with write_transaction(store.engine) as conn:
        for name, spec in specs.items():
            conn.execute(
                update(logged_models)
                .where(logged_models.c.model_id == ids[name])
                .values(creation_time=spec[0], last_updated_time=100 - spec[0])
            )
    return ids


def test_logged_model_search_filters(store: SqlStore, run_id: str, catalogue: dict[str, str]) -> None:
    assert _search(store) == ["rf", "net", "xgb"]  # newest first
    assert _search(store, "name = 'rf'") == ["rf"]
    assert _search(store, "name IN ('rf', 'net')") == ["rf", "net"]
    assert _search(store, "model_type LIKE 'py%'") == ["net"]
    assert _search(store, "status = 'READY'") == ["rf"]
    assert _search(store, "status = 'LOGGED_MODEL_PENDING'") == ["net", "xgb"]
    assert _search(store, "status IN ('ready', 'LOGGED_MODEL_UPLOAD_FAILED')") == ["rf"]
    assert _search(store, f"source_run_id = '{run_id}'") == ["rf", "net"]
    assert _search(store, f"model_id = '{catalogue['xgb']}'") == ["xgb"]
    assert _search(store, "params.depth = '7'") == ["xgb"]
    assert _search(store, "params.depth != '7'") == ["rf"]
    assert _search(store, "tags.team ILIKE 'risk'") == ["rf", "xgb"]
    assert _search(store, "creation_time >= 20") == ["rf", "net"]
    assert _search(store, "creation_timestamp < 20 AND last_updated_timestamp > 80") == ["xgb"]
    other = store.find_experiment_by_name("other")
    assert other is not None
    assert len(store.search_logged_models(["0", other.experiment_id])) == 4
    assert [m.name for m in store.search_logged_models([other.experiment_id])] == ["elsewhere"]


def test_logged_model_search_order_and_paging(store: SqlStore, catalogue: dict[str, str]) -> None:
    assert _search(store, order_by=[("creation_timestamp", True)]) == ["xgb", "net", "rf"]
    assert _search(store, order_by=[("name", True)]) == ["net", "rf", "xgb"]
    assert _search(store, order_by=[("last_updated_time", False)]) == ["xgb", "net", "rf"]
    assert _search(store, order_by=[("model_type", False), ("name", True)]) == ["xgb", "rf", "net"]
    first = store.search_logged_models(["0"], max_results=2)
    second = store.search_logged_models(["0"], max_results=2, page_token=first.token)
    assert [m.name for m in first] + [m.name for m in second] == ["rf", "net", "xgb"] and second.token is None


def test_bad_logged_model_searches_name_the_problem(store: SqlStore) -> None:
    for kwargs, message in [
        ({"filter_string": "metrics.acc > 1"}, "metrics cannot be used when searching logged models"),
        ({"filter_string": "flavor = 'x'"}, "unknown attribute 'flavor' for logged models"),
        ({"filter_string": "params.a IS NULL"}, "comparator IS NULL is not allowed on param 'a'"),
        ({"order_by": [("tags.team", True)]}, "cannot order logged models by 'tags.team'"),
        ({"order_by": [("name", "yes")]}, "ascending must be True or False"),
        ({"order_by": ["name"]}, "must be \\(field, ascending\\) pairs"),
        ({"max_results": 1001}, "max_results 1001 exceeds the limit of 1000"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            store.search_logged_models(["0"], **kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="at least one experiment"):
        store.search_logged_models([])
    with pytest.raises(InvalidArgument, match="not the string"):
        store.search_logged_models("0")


def test_run_outputs_are_recorded_once_and_listed(store: SqlStore, run_id: str) -> None:
    first = store.create_logged_model("0", "a", source_run_id=run_id).model_id
    second = store.create_logged_model("0", "b", source_run_id=run_id).model_id
    store.log_run_outputs(run_id, [(second, 5), (first, 0)])
    store.log_run_outputs(run_id, [(first, 0)])
    assert store.get_run_outputs(run_id) == [(first, 0), (second, 5)]
    other = store.create_run("0", "alice", 2, "other").info.run_id
    assert store.get_run_outputs(other) == []
    missing = "m-" + "1" * 32
    with pytest.raises(NotFound, match=f"logged model '{missing}' does not exist"):
        store.log_run_outputs(other, [(missing, 0)])
    with pytest.raises(NotFound, match="run " + "d" * 32 + " does not exist"):
        store.log_run_outputs("d" * 32, [(first, 0)])
    with pytest.raises(NotFound, match="run " + "d" * 32 + " does not exist"):
        store.get_run_outputs("d" * 32)
    with pytest.raises(InvalidArgument, match="each output must be a \\(model_id, step\\) pair"):
        store.log_run_outputs(run_id, ["m"])  # type: ignore[list-item]
    store.delete_run(other)
    with pytest.raises(InvalidArgument, match=f"run {other} is deleted"):
        store.log_run_outputs(other, [(first, 0)])


def test_registrations_and_lineage_survive_a_purged_run(store: SqlStore, run_id: str) -> None:
    logged = store.create_logged_model("0", "model", source_run_id=run_id)
    store.log_run_outputs(run_id, [(logged.model_id, 0)])
    store.create_registered_model("fraud", "alice")
    store.create_model_version("fraud", f"models:/{logged.model_id}", "alice")
    store.create_model_version("fraud", f"runs:/{run_id}/model", "alice")
    assert store.get_logged_model(logged.model_id).registrations == (("fraud", 1),)
    store.delete_run(run_id)
    store.purge_runs([run_id])
    assert [v.version for v in store.find_versions_for_run(run_id)] == [1, 2]
    assert store.get_model_version("fraud", 2).run_id == run_id
    assert store.get_logged_model(logged.model_id).source_run_id == run_id
    with pytest.raises(NotFound):
        store.get_run_outputs(run_id)
