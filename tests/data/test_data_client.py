"""DataClient end to end on every back end: log, dedupe, load, aliases, runs, references, privacy, diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import cairn
import cairn.data
from cairn.data import DataClient
from cairn.data.dataset_logging import VERSION_INPUT_TAG, LogOptions
from cairn.data.privacy import PiiRefused, PrivacyPolicy
from cairn.entities.dataset_version import DatasetStorage
from cairn.errors import Conflict, InvalidArgument, NotFound


def _frame(rows: int = 200, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "user_id": np.arange(rows, dtype=np.int64),
            "amount": rng.normal(50 + shift, 5, rows),
            "country": rng.choice(["DE", "FR", "NL"], rows),
        }
    )


@pytest.fixture
def data(client: cairn.TrackingClient) -> DataClient:
    return DataClient(tracking=client)


def _run(client: cairn.TrackingClient) -> str:
    return client.create_run(client.create_experiment("data")).info.run_id


def test_log_links_run_and_dedupes_unchanged_content(data: DataClient, client: cairn.TrackingClient) -> None:
    run_id = _run(client)
    first = data.log_dataset(_frame(), "churn", run_id=run_id, options=LogOptions(context="training"))
    assert (first.version, first.row_count, first.source_type) == (1, 200, "pandas")
    assert [c["name"] for c in first.schema["columns"]] == ["user_id", "amount", "country"]
    assert first.profile is not None and first.profile["row_count"] == 200
    again = data.log_dataset(_frame(), "churn", run_id=run_id)
    assert again.version == 1 and again.digest == first.digest
    changed = data.log_dataset(_frame(shift=1.0), "churn")
    assert changed.version == 2 and changed.digest != first.digest
    [used] = client.get_run(run_id).inputs.dataset_inputs
    assert used.dataset.name == "churn" and first.digest.startswith(used.dataset.digest)
    assert used.context == "training"
    assert {t.key: t.value for t in used.tags}[VERSION_INPUT_TAG] == "1"
    assert data.store.runs_using_dataset("churn", used.dataset.digest) == [run_id]


def test_load_returns_the_exact_data_in_each_format(data: DataClient) -> None:
    frame = _frame()
    data.log_dataset(frame, "churn")
    pd.testing.assert_frame_equal(data.load("churn"), frame)
    table = data.load("churn", 1, format="pyarrow")
    assert isinstance(table, pa.Table) and table.num_rows == 200
    polars_frame = data.load("churn", format="polars")
    assert isinstance(polars_frame, pl.DataFrame) and polars_frame["user_id"].to_list() == list(range(200))
    assert data.load("churn", format="pyarrow").column_names == ["user_id", "amount", "country"]
    with pytest.raises(InvalidArgument, match="format"):
        data.load("churn", format="excel")


def test_aliases_and_not_found(data: DataClient) -> None:
    data.log_dataset(_frame(), "churn")
    data.log_dataset(_frame(shift=2.0), "churn")
    data.set_alias("churn", "golden", 1)
    assert data.get("churn", alias="golden").version == 1
    assert data.get("churn").version == 2
    pd.testing.assert_frame_equal(data.load("churn", alias="golden"), _frame())
    data.set_alias("churn", "golden", 2)
    assert data.get("churn", alias="golden").version == 2
    data.delete_alias("churn", "golden")
    with pytest.raises(NotFound, match="golden"):
        data.get("churn", alias="golden")
    with pytest.raises(NotFound, match="nope"):
        data.get("nope")
    with pytest.raises(NotFound):
        data.get("churn", 9)
    with pytest.raises(InvalidArgument, match="either"):
        data.get("churn", 1, "golden")


def _write_folder(folder: Path, files: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (folder / f"part-{i}.csv").write_text(f"id,value\n{i},{i * 0.5}\n{i + 10},{i * 1.5}\n")


def test_folder_versions_ignore_names_and_store_only_changed_files(data: DataClient, tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    _write_folder(folder)
    first = data.log_dataset(str(folder), "raw")
    assert (first.file_count, first.row_count) == (4, 8)
    renamed = tmp_path / "renamed"
    shutil.copytree(folder, renamed)
    (renamed / "part-0.csv").rename(renamed / "zzz.csv")
    assert data.log_dataset(str(renamed), "raw").version == 1
    (folder / "part-3.csv").write_text("id,value\n99,9.5\n")
    before = data.content.put_files
    uploaded: list[int] = []

    def counting(files: list[tuple[str, str, int]]) -> int:
        uploaded.append(before(files))
        return uploaded[-1]

    data.content.put_files = counting  # type: ignore[method-assign]
    second = data.log_dataset(str(folder), "raw")
    assert second.version == 2 and second.row_count == 7
    assert uploaded == [(folder / "part-3.csv").stat().st_size]
    assert sorted(data.load("raw", 2)["id"].tolist()) == [0, 1, 2, 10, 11, 12, 99]


def test_reference_storage_reads_the_source_and_refuses_a_changed_file(
    data: DataClient, tmp_path: Path
) -> None:
    folder = tmp_path / "ref"
    _write_folder(folder, 2)
    version = data.log_dataset(str(folder), "ref", options=LogOptions(storage=DatasetStorage.REFERENCE))
    assert version.storage is DatasetStorage.REFERENCE
    assert len(data.load("ref")) == 4
    (folder / "part-1.csv").write_text("id,value\n5,5.0\n")
    with pytest.raises(Conflict, match="part-1.csv"):
        data.load("ref", 1)
    with pytest.raises(InvalidArgument, match="reference"):
        data.log_dataset(_frame(), "ref", options=LogOptions(storage=DatasetStorage.REFERENCE))


def test_privacy_policy_refuses_transforms_and_tags(
    data: DataClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame({"email": [f"user{i}@example.com" for i in range(50)], "spend": np.arange(50.0)})
    with pytest.raises(PiiRefused, match="email"):
        data.log_dataset(frame, "people", options=LogOptions(policy=PrivacyPolicy(on_pii="refuse")))
    with pytest.raises(NotFound):
        data.get("people")
    monkeypatch.setenv("CAIRN_PII_KEY", "k" * 32)
    policy = PrivacyPolicy.from_dict({"on_pii": "transform", "actions": {"email": "keyed_hash"}})
    version = data.log_dataset(frame, "people", options=LogOptions(policy=policy, pii_columns=("spend",)))
    stored = data.load("people")
    assert not stored["email"].str.contains("@").any()
    assert stored["email"].nunique() == 50
    assert "spend" not in stored.columns  # tagged by hand, so the default action (drop) applied
    assert version.pii is not None and any(f["kind"] == "email" for f in version.pii["findings"])
    with pytest.warns(UserWarning, match="spend"):
        tagged = data.log_dataset(frame[["spend"]], "spend", options=LogOptions(pii_columns=("spend",)))
    assert {c["name"]: c.get("tags", []) for c in tagged.schema["columns"]} == {"spend": ["pii"]}


def test_diff_and_bad_input_leaves_nothing(data: DataClient, tmp_path: Path) -> None:
    data.log_dataset(_frame(), "churn")
    data.log_dataset(_frame(shift=20.0).assign(extra=1), "churn")
    diff = data.diff("churn", 1, 2)
    assert diff.added == ("extra",)
    assert diff.most_shifted(1)[0].name == "amount"
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(InvalidArgument, match="data.xlsx"):
        data.log_dataset(str(odd), "odd")
    with pytest.raises(NotFound):
        data.log_dataset(str(tmp_path / "missing.csv"), "odd")
    assert [s.name for s in data.list_datasets()] == ["churn"]


def test_project_policy_from_the_environment(
    data: DataClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("on_pii: refuse\n")
    monkeypatch.setenv("CAIRN_PRIVACY_POLICY", str(policy))
    frame = pd.DataFrame({"contact": [f"user{i}@example.com" for i in range(20)]})
    with pytest.raises(PiiRefused, match="contact"):
        data.log_dataset(frame, "contacts")
    allowed = PrivacyPolicy.from_dict({"on_pii": "transform", "actions": {"contact": "drop"}})
    version = data.log_dataset(frame.assign(n=1), "contacts", options=LogOptions(policy=allowed))
    assert [c["name"] for c in version.schema["columns"]] == ["n"]


def test_validate_stores_the_report_on_the_version_and_the_run(
    data: DataClient, client: cairn.TrackingClient
) -> None:
    run_id = _run(client)
    data.log_dataset(_frame(), "churn@eu")
    rules = "rules:\n  - not_null: {column: amount}\n  - in_range: {column: user_id, min: 0, max: 100}\n"
    report = data.validate("churn@eu", rules, run_id=run_id)
    assert not report.passed and [r.passed for r in report.results] == [True, False]
    assert report.results[1].failing_rows == 99
    [stored] = data.get("churn@eu").validations
    assert stored["passed"] is False
    run = client.get_run(run_id)
    assert run.data.metrics["data_validation.churn_eu.passed"] == 0.0
    assert "data_validation" in {a.path for a in client.list_artifacts(run_id)}


def test_module_api_links_the_active_run(tmp_path: Path) -> None:
    cairn.set_tracking_uri(str(tmp_path / "fluent-store"))
    with cairn.start_run() as run:
        first = cairn.data.log_dataset(_frame(), "churn", "training")
        again = cairn.data.log_dataset(_frame(), "churn", "validation")  # still the function after first use
    assert again.version == first.version == 1
    [used] = cairn.get_run(run.info.run_id).inputs.dataset_inputs
    assert used.dataset.name == "churn" and used.context == "validation"
    cairn.data.set_alias("churn", "golden", 1)
    pd.testing.assert_frame_equal(cairn.data.load("churn", alias="golden"), _frame())
    assert cairn.data.get("churn").version == 1
