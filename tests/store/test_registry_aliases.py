"""Aliases in the SQL store: set, move, delete and resolve, reserved names, and the audit of each move."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.errors import InvalidArgument, NotFound
from cairn.store.sql import SqlStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp_path / 'registry.db'}"
    opened = SqlStore(url, (tmp_path / "artifacts").as_uri())
    run_id = opened.create_run("0", "alice", 1, "train").info.run_id
    opened.create_registered_model("m", "alice")
    for _ in range(3):
        opened.create_model_version("m", f"runs:/{run_id}/model", "alice")
    yield opened
    opened.close()


def _alias_changes(store: SqlStore) -> list[tuple[object, ...]]:
    return [
        (c.action, c.actor, c.version, c.field_name, c.old_value, c.new_value)
        for c in store.get_registry_changes("m")
        if c.field_name.startswith("alias:")
    ]


def test_set_move_and_delete_an_alias_with_old_and_new_versions_audited(store: SqlStore) -> None:
    store.set_registered_model_alias("m", "champion", 1, "alice")
    assert store.get_model_version_by_alias("m", "champion").version == 1
    store.set_registered_model_alias("m", "champion", 3, "bob")
    resolved = store.get_model_version_by_alias("m", "champion")
    assert resolved.version == 3 and resolved.aliases == ("champion",)
    assert store.get_model_version("m", 1).aliases == ()
    store.set_registered_model_alias("m", "champion", 3, "bob")  # already there: nothing recorded
    store.delete_registered_model_alias("m", "champion", "carol")
    with pytest.raises(NotFound, match="registered model 'm' has no alias 'champion'"):
        store.get_model_version_by_alias("m", "champion")
    assert _alias_changes(store) == [
        ("set_alias", "alice", 1, "alias:champion", None, "1"),
        ("set_alias", "bob", 3, "alias:champion", "1", "3"),
        ("delete_alias", "carol", 3, "alias:champion", "3", None),
    ]


def test_aliases_show_on_the_model_and_on_their_versions(store: SqlStore) -> None:
    store.set_registered_model_alias("m", "challenger", 2, "alice")
    store.set_registered_model_alias("m", "champion", 2, "alice")
    store.set_registered_model_alias("m", "baseline", 1, "alice")
    model = store.get_registered_model("m")
    assert model.aliases == {"baseline": 1, "challenger": 2, "champion": 2}
    assert list(model.aliases) == ["baseline", "challenger", "champion"]
    assert store.get_model_version("m", 2).aliases == ("challenger", "champion")
    versions = {v.version: v.aliases for v in store.search_model_versions("name = 'm'")}
    assert versions == {3: (), 2: ("challenger", "champion"), 1: ("baseline",)}


def test_setting_an_alias_touches_the_model(store: SqlStore) -> None:
    before = store.get_registered_model("m").last_updated_time
    store.set_registered_model_alias("m", "champion", 1, "alice")
    assert store.get_registered_model("m").last_updated_time >= before


def test_aliases_are_case_sensitive_names(store: SqlStore) -> None:
    store.set_registered_model_alias("m", "Champion", 1, "alice")
    store.set_registered_model_alias("m", "champion", 2, "alice")
    assert store.get_registered_model("m").aliases == {"Champion": 1, "champion": 2}


def test_reserved_aliases_are_refused(store: SqlStore) -> None:
    for alias in ("latest", "LATEST", "Latest", "v1", "V12", "v007"):
        with pytest.raises(InvalidArgument, match=f"alias '{alias}' is reserved"):
            store.set_registered_model_alias("m", alias, 1, "alice")
        with pytest.raises(InvalidArgument, match="reserved"):
            store.get_model_version_by_alias("m", alias)
        with pytest.raises(InvalidArgument, match="reserved"):
            store.delete_registered_model_alias("m", alias, "alice")
    assert store.get_registered_model("m").aliases == {}


def test_malformed_aliases_are_refused(store: SqlStore) -> None:
    for alias, message in [
        ("", "alias must not be empty"),
        ("with space", "may only hold letters"),
        ("dots.are.out", "may only hold letters"),
        ("slash/x", "may only hold letters"),
        ("caf\u00e9", "may only hold letters"),
        ("a" * 256, "the limit is 255"),
        (7, "alias must be a string"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            store.set_registered_model_alias("m", alias, 1, "alice")  # type: ignore[arg-type]
    for ok in ("v1beta", "version-2", "latest_good", "a" * 255, "_-"):
        store.set_registered_model_alias("m", ok, 1, "alice")
    assert len(store.get_registered_model("m").aliases) == 5


def test_not_found_messages_name_model_version_and_alias(store: SqlStore) -> None:
    with pytest.raises(NotFound, match="registered model 'm' has no version 9"):
        store.set_registered_model_alias("m", "champion", 9, "alice")
    with pytest.raises(NotFound, match="registered model 'ghost' does not exist"):
        store.set_registered_model_alias("ghost", "champion", 1, "alice")
    with pytest.raises(NotFound, match="registered model 'ghost' does not exist"):
        store.get_model_version_by_alias("ghost", "champion")
    with pytest.raises(NotFound, match="registered model 'm' has no alias 'champion'"):
        store.delete_registered_model_alias("m", "champion", "alice")
    assert _alias_changes(store) == []


def test_an_alias_follows_a_renamed_model(store: SqlStore) -> None:
    store.set_registered_model_alias("m", "champion", 2, "alice")
    store.rename_registered_model("m", "renamed", "alice")
    assert store.get_model_version_by_alias("renamed", "champion").version == 2
    store.set_registered_model_alias("renamed", "champion", 3, "bob")
    moves = [(c.model_name, c.old_value, c.new_value) for c in store.get_registry_changes("renamed")]
    assert moves[-1] == ("renamed", "2", "3")
