"""Model versions in the SQL store: numbering, updates, stages, tags, lineage, deletion and concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cairn.entities.registry import ModelStage, ModelVersionStatus
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
    yield opened
    opened.close()


@pytest.fixture
def run_id(store: SqlStore) -> str:
    return store.create_run("0", "alice", 1, "train").info.run_id


def _version(store: SqlStore, run_id: str, name: str = "m", **fields: object) -> int:
    return store.create_model_version(name, f"runs:/{run_id}/model", "alice", **fields).version  # type: ignore[arg-type]


def test_a_new_version_records_its_fields_and_lineage(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    created = store.create_model_version(
        "m", f"runs:/{run_id}/model", "bob", description="first", tags={"k": "v"}, run_link="http://ci/1"
    )
    assert (created.name, created.version, created.user_id) == ("m", 1, "bob")
    assert created.source == f"runs:/{run_id}/model" and created.run_id == run_id and created.model_id is None
    assert created.description == "first" and created.tags == {"k": "v"} and created.run_link == "http://ci/1"
    assert created.status is ModelVersionStatus.READY and created.stage is ModelStage.NONE
    assert store.get_model_version("m", 1) == created
    assert store.get_model_version("m", "1") == created  # type: ignore[arg-type]
    model = store.get_registered_model("m")
    assert model.last_updated_time >= created.creation_time and model.latest_versions == (created,)
    assert [(c.action, c.version, c.field_name, c.new_value) for c in store.get_registry_changes("m")][
        1:
    ] == [
        ("create_version", 1, "source", f"runs:/{run_id}/model"),
        ("set_tag", 1, "tag:k", "v"),
    ]


def test_version_numbers_are_never_reused_after_deletion(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    assert [_version(store, run_id) for _ in range(3)] == [1, 2, 3]
    store.delete_model_version("m", 3, "alice")
    store.delete_model_version("m", 2, "alice")
    assert _version(store, run_id) == 4
    assert [v.version for v in store.search_model_versions("name = 'm'")] == [4, 1]
    with pytest.raises(NotFound, match="registered model 'm' has no version 3"):
        store.get_model_version("m", 3)
    with pytest.raises(NotFound, match="registered model 'm' has no version 3"):
        store.delete_model_version("m", 3, "alice")


def test_versions_of_unknown_models_or_numbers_raise_not_found(store: SqlStore, run_id: str) -> None:
    with pytest.raises(NotFound, match="registered model 'ghost' does not exist"):
        store.create_model_version("ghost", f"runs:/{run_id}/model", "alice")
    store.create_registered_model("m", "alice")
    for call in (
        lambda: store.get_model_version("m", 9),
        lambda: store.update_model_version("m", 9, "a", description="x"),
        lambda: store.transition_model_version_stage("m", 9, ModelStage.STAGING, False, "a"),
        lambda: store.set_model_version_tag("m", 9, "k", "v", "a"),
        lambda: store.delete_model_version_tag("m", 9, "k", "a"),
    ):
        with pytest.raises(NotFound, match="registered model 'm' has no version 9"):
            call()


def test_version_numbers_must_be_positive_integers(store: SqlStore) -> None:
    for version in (0, -1, "abc", "1.5", "", "\u0661", True, 2**31, None):
        with pytest.raises(InvalidArgument, match="version must be a positive integer"):
            store.get_model_version("m", version)  # type: ignore[arg-type]


def test_sources_are_checked_against_the_store(store: SqlStore, run_id: str, tmp_path: Path) -> None:
    store.create_registered_model("m", "alice")
    inside = f"{(tmp_path / 'artifacts').as_uri()}/0/{run_id}/artifacts/model"
    assert store.create_model_version("m", inside, "alice").source == inside
    for source in ("file:///etc/passwd", "/etc/passwd", f"{inside}/../../../../x", "s3://elsewhere/model"):
        with pytest.raises(InvalidArgument, match="source"):
            store.create_model_version("m", source, "alice")
    with pytest.raises(NotFound, match="run " + "f" * 32 + " does not exist"):
        store.create_model_version("m", "runs:/" + "f" * 32 + "/model", "alice")
    with pytest.raises(InvalidArgument, match="does not match source"):
        store.create_model_version("m", f"runs:/{run_id}/model", "alice", run_id="a" * 32)
    assert [v.version for v in store.search_model_versions()] == [1]


def test_a_version_made_from_a_logged_model_takes_its_run(store: SqlStore, run_id: str) -> None:
    logged = store.create_logged_model("0", "model", source_run_id=run_id)
    store.create_registered_model("m", "alice")
    version = store.create_model_version("m", f"models:/{logged.model_id}", "alice")
    assert version.model_id == logged.model_id and version.run_id == run_id
    assert store.get_logged_model(logged.model_id).registrations == (("m", 1),)
    missing = "m-" + "0" * 32
    with pytest.raises(NotFound, match=f"logged model '{missing}' does not exist"):
        store.create_model_version("m", f"models:/{missing}", "alice")
    with pytest.raises(InvalidArgument, match="model_id 'm-bad' is not a logged model id"):
        store.create_model_version("m", f"runs:/{run_id}/model", "alice", model_id="m-bad")


def test_a_version_copied_from_another_keeps_its_lineage(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    store.create_registered_model("copy", "alice")
    _version(store, run_id)
    copied = store.create_model_version("copy", "models:/m/1", "alice")
    assert copied.run_id == run_id and copied.source == "models:/m/1"
    with pytest.raises(NotFound, match="registered model 'm' has no version 7"):
        store.create_model_version("copy", "models:/m/7", "alice")


def test_versions_made_from_a_run_are_found_both_ways(store: SqlStore, run_id: str) -> None:
    other_run = store.create_run("0", "alice", 2, "other").info.run_id
    logged = store.create_logged_model("0", "model", source_run_id=run_id)
    for name in ("b", "a"):
        store.create_registered_model(name, "alice")
    _version(store, run_id, "b")
    _version(store, other_run, "b")
    store.create_model_version("a", f"models:/{logged.model_id}", "alice")
    found = store.find_versions_for_run(run_id)
    assert [(v.name, v.version) for v in found] == [("a", 1), ("b", 1)]
    assert [(v.name, v.version) for v in store.find_versions_for_run(other_run)] == [("b", 2)]
    assert store.find_versions_for_run("0" * 32) == []
    with pytest.raises(InvalidArgument, match="run_id"):
        store.find_versions_for_run("../x")


def test_updates_change_only_the_given_fields_and_are_audited(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    _version(store, run_id, description="old")
    updated = store.update_model_version(
        "m", 1, "bob", status=ModelVersionStatus.FAILED_REGISTRATION, status_message="copy failed"
    )
    assert updated.description == "old" and updated.status is ModelVersionStatus.FAILED_REGISTRATION
    assert updated.status_message == "copy failed"
    store.update_model_version("m", 1, "bob", description="new")
    store.update_model_version("m", 1, "bob", description="new")  # unchanged: not recorded
    changes = [(c.action, c.field_name, c.old_value, c.new_value) for c in store.get_registry_changes("m")]
    assert changes[2:] == [
        ("update_version", "status", "READY", "FAILED_REGISTRATION"),
        ("update_version", "status_message", "", "copy failed"),
        ("update_version", "description", "old", "new"),
    ]
    with pytest.raises(InvalidArgument, match="status must be one of"):
        store.update_model_version("m", 1, "bob", status="BROKEN")  # type: ignore[arg-type]


def test_stage_transitions_archive_the_others_when_asked(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    for _ in range(3):
        _version(store, run_id)
    store.transition_model_version_stage("m", 1, ModelStage.PRODUCTION, False, "alice")
    store.transition_model_version_stage("m", 2, "production", False, "alice")  # type: ignore[arg-type]
    moved = store.transition_model_version_stage("m", 3, ModelStage.PRODUCTION, True, "bob")
    assert moved.stage is ModelStage.PRODUCTION
    stages = {v.version: v.stage for v in store.search_model_versions("name = 'm'")}
    assert stages == {1: ModelStage.ARCHIVED, 2: ModelStage.ARCHIVED, 3: ModelStage.PRODUCTION}
    bob = [(c.version, c.old_value, c.new_value) for c in store.get_registry_changes("m") if c.actor == "bob"]
    assert sorted(bob) == [
        (1, "Production", "Archived"),
        (2, "Production", "Archived"),
        (3, "None", "Production"),
    ]
    with pytest.raises(InvalidArgument, match="stage must be one of"):
        store.transition_model_version_stage("m", 1, "Live", False, "bob")  # type: ignore[arg-type]


def test_latest_versions_per_stage(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    for _ in range(4):
        _version(store, run_id)
    store.transition_model_version_stage("m", 1, ModelStage.STAGING, False, "alice")
    store.transition_model_version_stage("m", 2, ModelStage.STAGING, False, "alice")
    store.transition_model_version_stage("m", 3, ModelStage.PRODUCTION, False, "alice")
    every = store.get_latest_versions("m")
    assert [(v.stage, v.version) for v in every] == [
        (ModelStage.NONE, 4),
        (ModelStage.STAGING, 2),
        (ModelStage.PRODUCTION, 3),
    ]
    asked = store.get_latest_versions("m", [ModelStage.PRODUCTION, ModelStage.ARCHIVED, ModelStage.STAGING])
    assert [v.version for v in asked] == [3, 2]
    assert [v.version for v in store.get_latest_versions("m", ["staging"])] == [2]  # type: ignore[list-item]
    assert store.get_registered_model("m").latest_versions == tuple(every)
    with pytest.raises(InvalidArgument, match="stages must be a list"):
        store.get_latest_versions("m", "Staging")  # type: ignore[arg-type]


def test_version_tags_are_set_and_deleted_with_audit(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    _version(store, run_id)
    store.set_model_version_tag("m", 1, "quality", "good", "alice")
    store.set_model_version_tag("m", 1, "quality", "great", "alice")
    assert store.get_model_version("m", 1).tags == {"quality": "great"}
    store.delete_model_version_tag("m", 1, "quality", "alice")
    with pytest.raises(NotFound, match="version 1 of registered model 'm' has no tag 'quality'"):
        store.delete_model_version_tag("m", 1, "quality", "alice")
    with pytest.raises(InvalidArgument, match="model version tag key"):
        store.set_model_version_tag("m", 1, "", "v", "alice")
    changes = [(c.action, c.version, c.old_value, c.new_value) for c in store.get_registry_changes("m")][2:]
    assert changes == [
        ("set_tag", 1, None, "good"),
        ("set_tag", 1, "good", "great"),
        ("delete_tag", 1, "great", None),
    ]


def test_deleting_a_version_removes_its_aliases_with_audit(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    _version(store, run_id)
    _version(store, run_id)
    store.set_registered_model_alias("m", "champion", 2, "alice")
    store.set_registered_model_alias("m", "best", 2, "alice")
    store.set_registered_model_alias("m", "old", 1, "alice")
    store.delete_model_version("m", 2, "bob")
    assert store.get_registered_model("m").aliases == {"old": 1}
    bob = [
        (c.action, c.field_name, c.old_value, c.new_value)
        for c in store.get_registry_changes("m")
        if c.actor == "bob"
    ]
    assert bob == [
        ("delete_alias", "alias:best", "2", None),
        ("delete_alias", "alias:champion", "2", None),
        ("delete_version", "source", f"runs:/{run_id}/model", None),
    ]


def test_concurrent_writers_get_distinct_version_numbers(store: SqlStore, run_id: str) -> None:
    store.create_registered_model("m", "alice")
    per_thread, threads = 15, 4
    start = threading.Barrier(threads)
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                number = _version(store, run_id)
                with lock:
                    numbers.append(number)
        except BaseException as error:  # reported below; a thread must not swallow it
            errors.append(error)

    workers = [threading.Thread(target=create) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, per_thread * threads + 1))
    stored = [v.version for v in store.search_model_versions("name = 'm'")]
    assert sorted(stored) == sorted(numbers)
    created = [c for c in store.get_registry_changes("m") if c.action == "create_version"]
    assert sorted(c.version or 0 for c in created) == sorted(numbers)
