"""Registered models in the SQL store: create, rename (carrying versions, tags, aliases), tags, delete."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cairn.entities.registry import RegistryChange
from cairn.errors import AlreadyExists, InvalidArgument, NotFound
from cairn.store.registry_protocols import RegistryStore
from cairn.store.sql import SqlStore
from cairn.store.sql.registry_tables import model_version_tags, model_versions, registered_model_aliases


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


def _run(store: SqlStore) -> str:
    return store.create_run("0", "alice", 1, "train").info.run_id


def _changes(store: SqlStore, name: str | None = None) -> list[tuple[object, ...]]:
    return [
        (c.action, c.model_name, c.version, c.field_name, c.old_value, c.new_value)
        for c in store.get_registry_changes(name)
    ]


def test_the_sql_store_is_a_registry_store(store: SqlStore) -> None:
    registry: RegistryStore = store
    assert registry.find_versions_for_run(_run(store)) == []


def test_create_and_get_a_model_with_tags(store: SqlStore) -> None:
    created = store.create_registered_model("fraud", "alice", "detects fraud", {"team": "risk"})
    assert created.name == "fraud" and created.user_id == "alice"
    assert created.description == "detects fraud" and created.tags == {"team": "risk"}
    assert created.creation_time == created.last_updated_time > 0
    assert created.aliases == {} and created.latest_versions == ()
    assert store.get_registered_model("fraud") == created
    with pytest.raises(AlreadyExists, match="registered model 'fraud' already exists"):
        store.create_registered_model("fraud", "bob")
    assert _changes(store) == [
        ("create_model", "fraud", None, "name", None, "fraud"),
        ("update_description", "fraud", None, "description", None, "detects fraud"),
        ("set_tag", "fraud", None, "tag:team", None, "risk"),
    ]


def test_unknown_models_raise_not_found_naming_them(store: SqlStore) -> None:
    for call in (
        lambda: store.get_registered_model("ghost"),
        lambda: store.rename_registered_model("ghost", "other", "a"),
        lambda: store.update_registered_model("ghost", "d", "a"),
        lambda: store.delete_registered_model("ghost", "a"),
        lambda: store.set_registered_model_tag("ghost", "k", "v", "a"),
        lambda: store.delete_registered_model_tag("ghost", "k", "a"),
        lambda: store.get_latest_versions("ghost"),
    ):
        with pytest.raises(NotFound, match="registered model 'ghost' does not exist"):
            call()


BAD_NAMES = [
    ("", "name must not be empty"),
    ("   ", "name must not be empty"),
    ("a/b", "name 'a/b' must not contain '/'"),
    ("a:b", "name 'a:b' must not contain '/'"),
    ("a@b", "name 'a@b' must not contain '/'"),
    ("tab\there", "control characters"),
    ("..", "not a usable model name"),
    ("x" * 257, "the limit is 256"),
    (None, "name must be a string"),
]


def test_bad_model_names_are_refused(store: SqlStore) -> None:
    for name, message in BAD_NAMES:
        with pytest.raises(InvalidArgument, match=message):
            store.create_registered_model(name, "alice")  # type: ignore[arg-type]
    assert store.search_registered_models() == []


def test_the_longest_allowed_name_fits_on_every_back_end(store: SqlStore) -> None:
    name = "n" * 256
    assert store.create_registered_model(name, "alice").name == name


def test_bad_tags_descriptions_and_actors_are_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidArgument, match="registered model tag key"):
        store.create_registered_model("m", "alice", tags={"../x": "v"})
    with pytest.raises(InvalidArgument, match="description is 100001 characters"):
        store.create_registered_model("m", "alice", "d" * 100_001)
    with pytest.raises(InvalidArgument, match="actor must be a string"):
        store.create_registered_model("m", None)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.get_registered_model("m")


def test_rename_carries_versions_tags_and_aliases(store: SqlStore) -> None:
    run_id = _run(store)
    store.create_registered_model("old", "alice", tags={"team": "risk"})
    store.create_model_version("old", f"runs:/{run_id}/model", "alice", tags={"stage": "dev"})
    store.create_model_version("old", f"runs:/{run_id}/model", "alice")
    store.set_registered_model_alias("old", "champion", 1, "alice")
    renamed = store.rename_registered_model("old", "new", "bob")
    assert renamed.name == "new" and renamed.tags == {"team": "risk"} and renamed.aliases == {"champion": 1}
    assert [v.version for v in store.search_model_versions("name = 'new'")] == [2, 1]
    assert store.get_model_version("new", 1).tags == {"stage": "dev"}
    assert store.get_model_version_by_alias("new", "champion").version == 1
    with pytest.raises(NotFound, match="registered model 'old' does not exist"):
        store.get_registered_model("old")
    with store.engine.connect() as conn:
        for table in (model_versions, model_version_tags, registered_model_aliases):
            assert conn.execute(select(func.count()).where(table.c.name == "old")).scalar_one() == 0
    third = store.create_model_version("new", f"runs:/{run_id}/model", "alice")
    assert third.version == 3  # the counter moved with the model


def test_rename_is_audited_and_found_under_both_names(store: SqlStore) -> None:
    store.create_registered_model("old", "alice")
    store.rename_registered_model("old", "new", "bob")
    store.update_registered_model("new", "after", "bob")
    rename = ("rename_model", "old", None, "name", "old", "new")
    assert _changes(store, "old") == [("create_model", "old", None, "name", None, "old"), rename]
    assert _changes(store, "new") == [rename, ("update_description", "new", None, "description", "", "after")]


def test_rename_onto_a_taken_name_or_a_bad_name_is_refused(store: SqlStore) -> None:
    store.create_registered_model("a", "alice")
    store.create_registered_model("b", "alice")
    with pytest.raises(AlreadyExists, match="registered model 'b' already exists"):
        store.rename_registered_model("a", "b", "alice")
    with pytest.raises(InvalidArgument, match="new_name .x/y. must not contain"):
        store.rename_registered_model("a", "x/y", "alice")
    assert store.rename_registered_model("a", "a", "alice").name == "a"
    assert [c.action for c in store.get_registry_changes("a")] == ["create_model"]


def test_description_updates_record_old_and_new_values(store: SqlStore) -> None:
    store.create_registered_model("m", "alice", "first")
    before = store.get_registered_model("m").last_updated_time
    updated = store.update_registered_model("m", "second", "bob")
    assert updated.description == "second" and updated.last_updated_time >= before
    store.update_registered_model("m", "second", "bob")  # unchanged: nothing recorded
    assert _changes(store)[-1] == ("update_description", "m", None, "description", "first", "second")
    assert len(_changes(store)) == 3


def test_tags_are_set_replaced_and_deleted_with_audit(store: SqlStore) -> None:
    store.create_registered_model("m", "alice")
    store.set_registered_model_tag("m", "team", "risk", "alice")
    store.set_registered_model_tag("m", "team", "fraud", "bob")
    assert store.get_registered_model("m").tags == {"team": "fraud"}
    store.delete_registered_model_tag("m", "team", "carol")
    assert store.get_registered_model("m").tags == {}
    with pytest.raises(NotFound, match="registered model 'm' has no tag 'team'"):
        store.delete_registered_model_tag("m", "team", "carol")
    actors = [c.actor for c in store.get_registry_changes("m")]
    assert actors == ["alice", "alice", "bob", "carol"]
    assert _changes(store)[1:] == [
        ("set_tag", "m", None, "tag:team", None, "risk"),
        ("set_tag", "m", None, "tag:team", "risk", "fraud"),
        ("delete_tag", "m", None, "tag:team", "fraud", None),
    ]


def test_delete_removes_everything_but_the_audit_trail(store: SqlStore) -> None:
    run_id = _run(store)
    store.create_registered_model("m", "alice", tags={"a": "1"})
    store.create_model_version("m", f"runs:/{run_id}/model", "alice", tags={"b": "2"})
    store.set_registered_model_alias("m", "champion", 1, "alice")
    store.delete_registered_model("m", "bob")
    with pytest.raises(NotFound):
        store.get_registered_model("m")
    assert store.find_versions_for_run(run_id) == []
    with store.engine.connect() as conn:
        for table in (model_versions, model_version_tags, registered_model_aliases):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0
    assert _changes(store, "m")[-1] == ("delete_model", "m", None, "name", "m", None)
    recreated = store.create_registered_model("m", "carol")
    assert store.create_model_version("m", f"runs:/{run_id}/model", "carol").version == 1
    assert recreated.tags == {}


def test_audit_rows_are_typed_and_paged_oldest_first(store: SqlStore) -> None:
    store.create_registered_model("m", "alice")
    for index in range(5):
        store.set_registered_model_tag("m", f"k{index}", str(index), "alice")
    first = store.get_registry_changes("m", max_results=4)
    assert len(first) == 4 and first.token is not None
    rest = store.get_registry_changes("m", max_results=4, page_token=first.token)
    assert len(rest) == 2 and rest.token is None
    rows = [*first, *rest]
    assert all(isinstance(r, RegistryChange) and r.actor == "alice" for r in rows)
    assert [r.change_id for r in rows] == sorted(r.change_id for r in rows)
    assert [r.time for r in rows] == sorted(r.time for r in rows)
    assert store.get_registry_changes("other") == []
    with pytest.raises(InvalidArgument, match="max_results"):
        store.get_registry_changes(max_results=0)
    with pytest.raises(InvalidArgument, match="page_token"):
        store.get_registry_changes(page_token="not-a-token")


def test_a_failed_change_leaves_no_audit_row(store: SqlStore) -> None:
    store.create_registered_model("m", "alice")
    with pytest.raises(NotFound):
        store.set_registered_model_alias("m", "champion", 1, "alice")
    with pytest.raises(NotFound):
        store.create_model_version("m", "runs:/" + "f" * 32 + "/model", "alice")
    assert [c.action for c in store.get_registry_changes()] == ["create_model"]
    assert store.get_registered_model("m").latest_versions == ()
