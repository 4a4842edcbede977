"""Dataset versions on every back end (SQLite, PostgreSQL, REST): numbers, dedupe, aliases, erasure, blobs."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from cairn.entities import (
    Dataset,
    DatasetInput,
    DatasetStorage,
    DatasetVersionDraft,
    DatasetVersionStatus,
    InputTag,
)
from cairn.errors import Conflict, InvalidArgument, NotFound
from cairn.store.dataset_protocols import DataStore
from cairn.tracking.client import TrackingClient


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def draft(name: str = "iris", content: str = "a", **fields: Any) -> DatasetVersionDraft:
    values: dict[str, Any] = {
        "name": name,
        "digest": sha(content),
        "row_count": 150,
        "schema": {"columns": [{"name": "sepal", "type": "double"}]},
        "profile": {"row_count": 150, "columns": {"sepal": {"mean": 5.8, "quantiles": [4.3, 5.8, 7.9]}}},
        "source": "/data/iris.parquet",
        "source_type": "parquet",
        "storage": DatasetStorage.COPY,
        "manifest_digest": sha("manifest " + content),
        "file_count": 1,
        "size_bytes": 4096,
    }
    values.update(fields)
    return DatasetVersionDraft(**values)


@pytest.fixture
def store(client: TrackingClient) -> DataStore:
    return cast(DataStore, client.store)


def test_versions_are_numbered_per_name_and_identical_content_is_not_stored_twice(store: DataStore) -> None:
    first, created = store.create_dataset_version(
        draft(description="first cut", tags={"team": "ml"}, pii={"columns": []}), "alice"
    )
    assert created and (first.name, first.version, first.created_by) == ("iris", 1, "alice")
    assert first.schema == {"columns": [{"name": "sepal", "type": "double"}]}
    assert first.profile == draft().profile and first.pii == {"columns": []}
    assert (first.description, first.tags, first.storage) == (
        "first cut",
        {"team": "ml"},
        DatasetStorage.COPY,
    )
    assert (first.status, first.aliases, first.validations, first.erasure) == (
        DatasetVersionStatus.READY,
        (),
        (),
        None,
    )
    assert (first.row_count, first.file_count, first.size_bytes) == (150, 1, 4096)
    again, created_again = store.create_dataset_version(draft(), "bob")
    assert (again, created_again) == (first, False)
    by_reference, created = store.create_dataset_version(draft(storage=DatasetStorage.REFERENCE), "bob")
    assert created and by_reference.version == 2 and by_reference.storage is DatasetStorage.REFERENCE
    changed, _ = store.create_dataset_version(draft(content="b", derived_from=1), "bob")
    assert (changed.version, changed.derived_from) == (3, 1)
    other, _ = store.create_dataset_version(draft(name="wine"), "bob")
    assert other.version == 1
    assert store.get_dataset_version("iris", 1) == first
    assert store.latest_dataset_version("iris") == changed
    assert store.find_dataset_version("iris", sha("a"), DatasetStorage.REFERENCE) == by_reference
    assert store.find_dataset_version("iris", sha("zzz"), DatasetStorage.COPY) is None
    assert store.find_dataset_version("nobody", sha("a"), DatasetStorage.COPY) is None


def test_missing_datasets_and_versions_are_not_found_by_name(store: DataStore) -> None:
    with pytest.raises(NotFound, match="ghost"):
        store.get_dataset_version("ghost", 1)
    with pytest.raises(NotFound, match="ghost"):
        store.latest_dataset_version("ghost")
    with pytest.raises(NotFound, match="ghost"):
        store.search_dataset_versions("ghost")
    store.create_dataset_version(draft(), "alice")
    with pytest.raises(NotFound, match="'iris' has no version 7"):
        store.get_dataset_version("iris", 7)
    with pytest.raises(NotFound, match="version 9"):
        store.create_dataset_version(draft(content="b", derived_from=9), "alice")
    with pytest.raises(NotFound, match="version 4"):
        store.update_dataset_version("iris", 4, description="x")
    with pytest.raises(NotFound, match="'fresh' has no version 2"):
        store.create_dataset_version(draft(name="fresh", derived_from=2), "alice")
    assert [summary.name for summary in store.search_datasets()] == ["iris"]
    assert store.latest_dataset_version("iris").version == 1


def test_concurrent_creates_get_distinct_numbers_and_one_version_per_content(store: DataStore) -> None:
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def log(content: str) -> Callable[[], None]:
        def run() -> None:
            try:
                version, created = store.create_dataset_version(draft(content=content), "worker")
                results.append((version.version, created))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)

        return run

    contents = [f"part {i}" for i in range(6)] + ["same"] * 4
    threads = [threading.Thread(target=log(content)) for content in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted({number for number, _ in results}) == list(range(1, 8))
    assert sum(created for _, created in results) == 7
    versions = store.search_dataset_versions("iris", max_results=100)
    assert [v.version for v in versions] == list(range(7, 0, -1))
    assert len({v.digest for v in versions}) == 7


def test_aliases_move_resolve_and_refuse_reserved_names_and_erased_versions(store: DataStore) -> None:
    for content in ("a", "b", "c"):
        store.create_dataset_version(draft(content=content), "alice")
    store.set_dataset_alias("iris", "golden", 1)
    store.set_dataset_alias("iris", "latest-clean", 1)
    assert store.get_dataset_version_by_alias("iris", "golden").aliases == ("golden", "latest-clean")
    store.set_dataset_alias("iris", "golden", 2)
    assert store.get_dataset_version_by_alias("iris", "golden").version == 2
    assert store.get_dataset_version("iris", 1).aliases == ("latest-clean",)
    assert store.search_datasets()[0].aliases == {"golden": 2, "latest-clean": 1}
    store.delete_dataset_alias("iris", "latest-clean")
    with pytest.raises(NotFound, match="latest-clean"):
        store.delete_dataset_alias("iris", "latest-clean")
    with pytest.raises(NotFound, match="silver"):
        store.get_dataset_version_by_alias("iris", "silver")
    for reserved in ("latest", "LATEST", "v3"):
        with pytest.raises(InvalidArgument, match="reserved"):
            store.set_dataset_alias("iris", reserved, 1)
    with pytest.raises(InvalidArgument, match="alias"):
        store.set_dataset_alias("iris", "has/slash", 1)
    with pytest.raises(NotFound, match="version 9"):
        store.set_dataset_alias("iris", "golden", 9)
    store.mark_dataset_version_erased("iris", 2, {"where": "user_id = 1"})
    with pytest.raises(NotFound, match="golden"):
        store.get_dataset_version_by_alias("iris", "golden")
    with pytest.raises(Conflict, match="ERASED"):
        store.set_dataset_alias("iris", "golden", 2)
    assert store.search_datasets()[0].aliases == {}


def test_versions_and_datasets_page_in_order(store: DataStore) -> None:
    for content in "abcde":
        store.create_dataset_version(draft(content=content), "alice")
    for name in ("wine", "wind", "Wine-eu"):
        store.create_dataset_version(draft(name=name), "alice")
    first = store.search_dataset_versions("iris", max_results=2)
    second = store.search_dataset_versions("iris", max_results=2, page_token=first.token)
    third = store.search_dataset_versions("iris", max_results=2, page_token=second.token)
    assert [v.version for v in [*first, *second, *third]] == [5, 4, 3, 2, 1]
    assert third.token is None
    names: list[str] = []
    token = None
    while True:
        page = store.search_datasets(max_results=3, page_token=token)
        names += [summary.name for summary in page]
        token = page.token
        if token is None:
            break
    assert names == ["Wine-eu", "iris", "wind", "wine"]
    assert [s.name for s in store.search_datasets(name_like="win%")] == ["wind", "wine"]
    iris = store.search_datasets(name_like="iris")[0]
    assert iris.latest_version == 5 and iris.last_updated_time >= iris.creation_time
    with pytest.raises(InvalidArgument, match="max_results"):
        store.search_datasets(max_results=0)
    with pytest.raises(InvalidArgument, match="page_token"):
        store.search_dataset_versions("iris", page_token="not-a-token")


def test_validations_append_and_updates_replace_fields(store: DataStore) -> None:
    store.create_dataset_version(draft(description="old", tags={"a": "1"}), "alice")
    store.add_dataset_validation("iris", 1, {"passed": False, "rules": [{"name": "not_null", "failed": 3}]})
    store.add_dataset_validation("iris", 1, {"passed": True, "rules": []})
    assert store.get_dataset_version("iris", 1).validations == (
        {"passed": False, "rules": [{"name": "not_null", "failed": 3}]},
        {"passed": True, "rules": []},
    )
    updated = store.update_dataset_version("iris", 1, description="new", tags={"b": "2"})
    assert (updated.description, updated.tags, updated.pii) == ("new", {"b": "2"}, None)
    updated = store.update_dataset_version("iris", 1, pii={"email": {"share": 0.5}})
    assert (updated.description, updated.pii) == ("new", {"email": {"share": 0.5}})
    with pytest.raises(NotFound, match="version 2"):
        store.add_dataset_validation("iris", 2, {"passed": True})
    with pytest.raises(InvalidArgument, match="report"):
        store.add_dataset_validation("iris", 1, {"score": float("nan")})
    assert len(store.get_dataset_version("iris", 1).validations) == 2


def test_erased_versions_leave_latest_and_dedupe_and_can_be_marked_again(store: DataStore) -> None:
    store.create_dataset_version(draft(content="a"), "alice")
    store.create_dataset_version(draft(content="b"), "alice")
    erased = store.mark_dataset_version_erased("iris", 2, {"where": "user_id = 123", "purged": False})
    assert erased.status is DatasetVersionStatus.ERASED and erased.erasure == {
        "where": "user_id = 123",
        "purged": False,
    }
    assert store.latest_dataset_version("iris").version == 1
    assert store.find_dataset_version("iris", sha("b"), DatasetStorage.COPY) is None
    again, created = store.create_dataset_version(draft(content="b"), "alice")
    assert created and again.version == 3
    marked = store.mark_dataset_version_erased("iris", 2, {"where": "user_id = 123", "purged": True})
    assert marked.erasure == {"where": "user_id = 123", "purged": True}
    for number in (1, 3):
        store.mark_dataset_version_erased("iris", number, {"where": "all"})
    with pytest.raises(NotFound, match="iris"):
        store.latest_dataset_version("iris")
    assert store.search_datasets()[0].latest_version == 0


def test_blob_bookkeeping_works_in_batches_larger_than_an_in_list(store: DataStore) -> None:
    digests = [sha(f"blob {i}") for i in range(2000)]
    assert store.missing_dataset_blobs(digests) == set(digests)
    store.record_dataset_blobs([(d, i) for i, d in enumerate(digests[:1500])] + [(digests[0], 0)])
    store.record_dataset_blobs([(d, 1) for d in digests[1000:1500]])
    assert store.missing_dataset_blobs(digests) == set(digests[1500:])
    store.forget_dataset_blobs(digests[:1000] + [sha("never recorded")])
    assert store.missing_dataset_blobs(digests + digests[:5]) == set(digests[:1000] + digests[1500:])
    assert store.missing_dataset_blobs([]) == set()
    with pytest.raises(InvalidArgument, match="64 lower-case hex"):
        store.missing_dataset_blobs([digests[0], digests[1].upper()])
    with pytest.raises(InvalidArgument, match="size"):
        store.record_dataset_blobs([(digests[1600], -1)])
    assert digests[1600] in store.missing_dataset_blobs([digests[1600]])
    assert store.dataset_artifact_root().endswith("/datasets")


def test_runs_using_a_dataset_come_from_logged_inputs(client: TrackingClient, store: DataStore) -> None:
    version, _ = store.create_dataset_version(draft(), "alice")
    short = version.digest[:36]
    experiment_id = client.create_experiment("lineage")
    users = [client.create_run(experiment_id).info.run_id for _ in range(2)]
    other = client.create_run(experiment_id).info.run_id
    for run_id in users:
        dataset = Dataset(name="iris", digest=short, source_type="parquet", source="{}")
        client.log_inputs(run_id, [DatasetInput(dataset, (InputTag("mlflow.data.context", "training"),))])
    client.log_inputs(
        other, [DatasetInput(Dataset(name="iris", digest=sha("b")[:36], source_type="x", source="{}"))]
    )
    assert store.runs_using_dataset("iris", short) == sorted(users)
    assert store.runs_using_dataset("wine", short) == []
    with pytest.raises(InvalidArgument, match="digest_prefix"):
        store.runs_using_dataset("iris", "not hex")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "a/b"}, "dataset name 'a/b'"),
        ({"name": ""}, "dataset name must not be empty"),
        ({"name": "tab\there"}, "control characters"),
        ({"name": "x" * 257}, "limit is 256"),
        ({"digest": sha("a").upper()}, "digest"),
        ({"manifest_digest": "abc"}, "manifest_digest"),
        ({"row_count": -1}, "row_count"),
        ({"schema": ["not", "an", "object"]}, "schema"),
        ({"schema": {"blob": "x" * (1024 * 1024)}}, "schema is"),
        ({"profile": {"mean": float("inf")}}, "profile"),
        ({"storage": "zip"}, "storage"),
        ({"source": ""}, "source must not be empty"),
        ({"tags": {"": "v"}}, "tag key"),
    ],
)
def test_bad_drafts_are_refused_by_field_and_write_nothing(
    store: DataStore, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        store.create_dataset_version(draft(**fields), "alice")
    assert list(store.search_datasets()) == []
