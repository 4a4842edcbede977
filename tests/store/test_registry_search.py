"""Searching registered models and model versions: filter grammar, ordering and paging, on each back end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from cairn.errors import InvalidArgument
from cairn.store.search import SearchSyntaxError
from cairn.store.sql import SqlStore
from cairn.store.sql.engine import write_transaction
from cairn.store.sql.registry_tables import model_versions, registered_models

MODELS = {
    # name: (creation_time, last_updated_time, tags)
    "alpha": (300, 600, {"team": "risk", "tier": "gold"}),
    "Beta": (100, 900, {"team": "Risk"}),
    "gamma_1": (200, 700, {"team": "growth"}),
    "delta%": (400, 800, {}),
}


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
def runs(store: SqlStore) -> list[str]:
    """Two runs; models alpha (3 versions) and Beta (1 version) with tagged versions and set times."""
    run_ids = [store.create_run("0", "alice", i, f"r{i}").info.run_id for i in range(2)]
    for name, (_, _, tags) in MODELS.items():
        store.create_registered_model(name, "alice", tags=tags)
    for index in range(3):
        store.create_model_version(
            "alpha", f"runs:/{run_ids[index % 2]}/model{index}", "alice", tags={"quality": f"q{index}"}
        )
    store.create_model_version("Beta", f"runs:/{run_ids[1]}/other", "alice", tags={"quality": "Q9"})
    with write_transaction(store.engine) as conn:
        for name, (created, updated, _) in MODELS.items():
            conn.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(creation_time=created, last_updated_time=updated)
            )
        for version, created in ((1, 30), (2, 10), (3, 20)):
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == "alpha", model_versions.c.version == version)
                .values(creation_time=created, last_updated_time=100 - created)
            )
        conn.execute(update(model_versions).where(model_versions.c.name == "Beta").values(creation_time=40))
    return run_ids


def _names(store: SqlStore, filter_string: str | None = None, order_by: list[str] | None = None) -> list[str]:
    return [m.name for m in store.search_registered_models(filter_string, order_by=order_by)]


def _versions(
    store: SqlStore, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[tuple[str, int]]:
    return [(v.name, v.version) for v in store.search_model_versions(filter_string, order_by=order_by)]


def test_registered_model_filters(store: SqlStore, runs: list[str]) -> None:
    assert sorted(_names(store)) == sorted(MODELS)
    assert _names(store, "name = 'alpha'") == ["alpha"]
    assert _names(store, "name != 'alpha'", ["name"]) == sorted(set(MODELS) - {"alpha"})
    assert _names(store, "name LIKE 'b%'") == []  # LIKE is case-sensitive on every back end
    assert _names(store, "name ILIKE 'b%'") == ["Beta"]
    assert _names(store, "name LIKE 'gamma_1'") == ["gamma_1"]
    assert _names(store, "name LIKE 'delta%'") == ["delta%"]
    assert sorted(_names(store, "name IN ('alpha', 'Beta', 'nobody')")) == ["Beta", "alpha"]
    assert sorted(_names(store, "name NOT IN ('alpha', 'Beta')")) == ["delta%", "gamma_1"]
    assert _names(store, "tags.team = 'risk'") == ["alpha"]
    assert sorted(_names(store, "tags.team ILIKE 'RISK'")) == ["Beta", "alpha"]
    assert sorted(_names(store, "tags.team != 'risk'")) == ["Beta", "gamma_1"]  # untagged models never match
    assert _names(store, "tag.team LIKE 'gr%' AND name = 'gamma_1'") == ["gamma_1"]
    assert _names(store, "tags.`tier` = 'gold' AND tags.team = 'risk'") == ["alpha"]
    assert _names(store, "name = 'alpha'' OR ''1''=''1'") == []  # quotes stay inside the value


def test_registered_model_order_and_paging(store: SqlStore, runs: list[str]) -> None:
    # name ASC by default: compare with the database's own collation, not Python's
    assert _names(store, "name IN ('alpha', 'gamma_1')") == ["alpha", "gamma_1"]
    assert _names(store, order_by=["creation_timestamp DESC"]) == ["delta%", "alpha", "gamma_1", "Beta"]
    assert _names(store, order_by=["timestamp"]) == ["Beta", "gamma_1", "alpha", "delta%"]
    assert _names(store, order_by=["last_updated_timestamp DESC"]) == ["Beta", "delta%", "gamma_1", "alpha"]
    pages: list[str] = []
    token: str | None = None
    while True:
        page = store.search_registered_models(max_results=3, order_by=["timestamp ASC"], page_token=token)
        pages += [m.name for m in page]
        token = page.token
        if token is None:
            break
    assert pages == ["Beta", "gamma_1", "alpha", "delta%"]
    alpha = store.search_registered_models("name = 'alpha'")[0]
    assert alpha.tags == MODELS["alpha"][2] and [v.version for v in alpha.latest_versions] == [3]


BAD_MODEL_FILTERS = [
    ("name IS NULL", "comparator IS NULL is not allowed on attribute 'name'"),
    ("tags.team IS NOT NULL", "comparator IS NOT NULL is not allowed on tag 'team'"),
    ("tags.team IN ('a')", "comparator IN is not allowed on tag 'team'"),
    ("owner = 'x'", "unknown attribute 'owner' for registered models"),
    ("metrics.acc > 1", "metrics cannot be used when searching registered models"),
    ("params.a = 'x'", "params cannot be used when searching registered models"),
    ("creation_timestamp > 5", "attribute 'creation_timestamp' cannot be used in a filter"),
    ("name = 'a' OR name = 'b'", "near 'OR'"),
    ("name = 'a'; DROP TABLE registered_models", "near ';'"),
    ("name = alpha", "needs a quoted string, got alpha"),
    ("name = 'a' AND", "near end of input"),
]


def test_bad_registered_model_filters_name_the_problem(store: SqlStore) -> None:
    for filter_string, message in BAD_MODEL_FILTERS:
        with pytest.raises(InvalidArgument, match=message):
            store.search_registered_models(filter_string)


def test_bad_registered_model_orderings_and_pages(store: SqlStore) -> None:
    with pytest.raises(InvalidArgument, match="unknown attribute 'owner'"):
        store.search_registered_models(order_by=["owner DESC"])
    with pytest.raises(InvalidArgument, match="tags"):
        store.search_registered_models(order_by=["tags.team"])
    with pytest.raises(SearchSyntaxError, match="expected ASC, DESC"):
        store.search_registered_models(order_by=["name sideways"])
    with pytest.raises(InvalidArgument, match="max_results 1001 exceeds the limit of 1000"):
        store.search_registered_models(max_results=1001)
    with pytest.raises(InvalidArgument, match="page_token"):
        store.search_registered_models(page_token="%%%")


def test_model_version_filters(store: SqlStore, runs: list[str]) -> None:
    first, second = runs
    assert sorted(_versions(store)) == [("Beta", 1), ("alpha", 1), ("alpha", 2), ("alpha", 3)]
    assert _versions(store, "name = 'alpha'") == [("alpha", 3), ("alpha", 2), ("alpha", 1)]
    assert _versions(store, f"run_id = '{first}'") == [("alpha", 3), ("alpha", 1)]
    assert sorted(_versions(store, f"run_id IN ('{second}', 'nope')")) == [("Beta", 1), ("alpha", 2)]
    assert _versions(store, f"run_id NOT IN ('{second}')") == [("alpha", 3), ("alpha", 1)]
    assert _versions(store, "source_path LIKE '%/model_'") == [("alpha", 3), ("alpha", 2), ("alpha", 1)]
    assert _versions(store, "source_path ILIKE '%OTHER'") == [("Beta", 1)]
    assert _versions(store, "version_number >= 2 AND name = 'alpha'") == [("alpha", 3), ("alpha", 2)]
    assert _versions(store, "version_number != 1 AND version_number < 3") == [("alpha", 2)]
    assert _versions(store, "tags.quality = 'q1'") == [("alpha", 2)]
    assert _versions(store, "tags.quality ILIKE 'Q%' AND name ILIKE 'beta'") == [("Beta", 1)]
    assert _versions(store, "creation_timestamp > 15 AND name = 'alpha'") == [("alpha", 3), ("alpha", 1)]


def test_model_version_order_and_paging(store: SqlStore, runs: list[str]) -> None:
    alpha = "name = 'alpha'"
    assert _versions(store, alpha, ["version_number ASC"]) == [("alpha", 1), ("alpha", 2), ("alpha", 3)]
    assert _versions(store, alpha, ["creation_timestamp"]) == [("alpha", 2), ("alpha", 3), ("alpha", 1)]
    assert _versions(store, alpha, ["last_updated_timestamp"]) == [("alpha", 1), ("alpha", 3), ("alpha", 2)]
    assert _versions(store, None, ["creation_timestamp DESC"])[0] == ("Beta", 1)
    first = store.search_model_versions(alpha, max_results=2)
    assert [v.version for v in first] == [3, 2] and first.token is not None
    rest = store.search_model_versions(alpha, max_results=2, page_token=first.token)
    assert [v.version for v in rest] == [1] and rest.token is None
    assert rest[0].tags == {"quality": "q0"}


BAD_VERSION_FILTERS = [
    ("run_id LIKE 'a%'", "comparator LIKE is not allowed on attribute 'run_id'"),
    ("version_number = '3'", "attribute 'version_number' needs an integer"),
    ("version_number > 1.5", "needs an integer, got 1.5"),
    ("source_path IN ('x')", "comparator IN is not allowed on attribute 'source_path'"),
    ("stage = 'Production'", "unknown attribute 'stage' for model versions"),
    ("tags.q IS NULL", "comparator IS NULL is not allowed on tag 'q'"),
    ("datasets.name = 'x'", "datasets cannot be used when searching model versions"),
]


def test_bad_model_version_filters_name_the_problem(store: SqlStore) -> None:
    for filter_string, message in BAD_VERSION_FILTERS:
        with pytest.raises(InvalidArgument, match=message):
            store.search_model_versions(filter_string)


def test_bad_model_version_orderings(store: SqlStore) -> None:
    with pytest.raises(InvalidArgument, match="attribute 'run_id' cannot be used in order_by"):
        store.search_model_versions(order_by=["run_id"])
    with pytest.raises(InvalidArgument, match="expected a list of strings"):
        store.search_model_versions(order_by="name")
    with pytest.raises(InvalidArgument, match="max_results 200001 exceeds"):
        store.search_model_versions(max_results=200_001)
